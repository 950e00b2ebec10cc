"""Regenerates the tutorial's figures and numbers: `python docs/figures.py`.

Takes 7 to 11 minutes on 2 shared CPU cores (most of it the short training runs of
docs/figures_trained.py), from any working directory; `--quick` under a minute.

Every figure and every number quoted in docs/tutorial/ comes from this script,
which imports dcgan_tf (no copied model code). Without training:

  shapes_28.md, shapes_64.md    Q1  layer-by-layer shapes of G and D
  normalize.png, normalize.md   Q2  pixel values before/after (x - 127.5) / 127.5
  shuffle.png, shuffle.md       Q3  class order of the first batches per shuffle buffer
  step_time.md                  Q3  time per train step by batch size
  symmetry.png, symmetry.md     Q4  filters after training from constant vs random init
  init.png, init.md             Q4  the presets' initial kernel values
  checkerboard.png, checkerboard.md  Q7  samples and spectra of untrained generators
  (figures_answers.py)          Q9, Q12  the GAN losses' gradients; Keras' defaults

and, from short training runs on the bundled MNIST sample (see figures_trained.py),
the figures of Q5, Q6, Q7 (trained) and Q8.

It writes them to --out_dir, plus numbers.json with every measured value, and
copies each .md block into the pages of --docs_dir between the markers
`<!-- figures.py: NAME -->` and `<!-- /figures.py: NAME -->`. --quick uses fewer
samples and steps (for the tests); its numbers are not the ones to commit.
"""

import dataclasses
import json
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
# Run from a checkout without `pip install -e .`: the package is one folder up.

from absl import flags  # noqa: E402
import keras  # noqa: E402
import matplotlib  # noqa: E402
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from dcgan_tf import cli, config as config_lib, data, models, readers, visualize  # noqa: E402
from dcgan_tf.errors import InputError  # noqa: E402
import figures_answers  # noqa: E402  (next to this script)
import figures_checks  # noqa: E402
import figures_trained  # noqa: E402
from dcgan_tf.spectrum import mean_power_spectrum, nyquist_to_median  # noqa: E402
from figures_common import fill_pages, log_spectrum_image, save_figure  # noqa: E402

DOCS_DIR = os.path.dirname(os.path.abspath(__file__))
flags.DEFINE_string("out_dir", os.path.join(DOCS_DIR, "figures"),
                    "Folder for the PNGs, the .md blocks and numbers.json.")
flags.DEFINE_string("docs_dir", os.path.join(DOCS_DIR, "tutorial"),
                    "Pages whose marked blocks are refreshed from the .md blocks; empty = "
                    "leave the pages alone.")
flags.DEFINE_bool("quick", False, "Few samples and steps: checks that the script runs.")
flags.DEFINE_integer("seed", 0, "Seeds every random draw.")
flags.DEFINE_list("only", [], "Run only these sections (those that need no training, by "
                  "name, e.g. gan_losses); their numbers replace theirs in numbers.json.")

FLAGS = flags.FLAGS
LABELS_PATH = os.path.join(data.BUNDLED_MNIST_DIR, "t10k-labels-idx1-ubyte.gz")


def figure_configs(quick=False, seed=0):
    """Every Config a section builds its networks from, by section and name.

    numbers.json records them (settings.configs) beside the figures, and
    tests/test_docs.py compares that record with what this function gives now: a
    changed default that would change a committed figure names the stale pages.
    """
    return {
        "shapes": {str(size): config_lib.tutorial_preset(image_size=size, channels=channels)
                   for size, channels in ((28, 1), (64, 3))},
        "initialization": {
            "tutorial": config_lib.tutorial_preset(image_size=28, channels=1),
            # The same layers as the tutorial's, so the table pairs them.
            "dcgan": config_lib.dcgan_preset(image_size=28, channels=1, upsample="transpose",
                                             precision="float32")},
        "checkerboard": {name: config_lib.Config(image_size=64, channels=1, precision="float32",
                                                 **options)
                         for name, options in CHECKERBOARD_CASES.items()},
        "init_scales": {"tutorial": figures_answers.init_scales_config()},
        "step_time": {"dcgan": figures_trained.step_time_config(quick)},
        # Every section of figures_trained.SECTIONS examines this run.
        "balanced_run": {"balanced": figures_trained.balanced_config(quick, seed)},
    }


def config_record(configs):
    """figure_configs' Configs as JSON-ready dicts, without the paths (which differ
    from machine to machine and decide nothing a figure shows)."""
    return {section: {name: {key: value for key, value in dataclasses.asdict(cfg).items()
                             if key not in ("workdir", "data_dir")}
                      for name, cfg in named.items()}
            for section, named in configs.items()}


def main():
    os.makedirs(FLAGS.out_dir, exist_ok=True)
    start = time.time()
    numbers, blocks = {}, {}

    outputs = {}  # Section -> the blocks and files it wrote, for the staleness test.

    def run_section(section, *run):
        keras.utils.set_random_seed(FLAGS.seed)  # Each section repeats on its own.
        began = time.time()
        section_numbers, section_blocks = section(FLAGS.out_dir, FLAGS.quick, FLAGS.seed, *run)
        numbers[section.__name__] = section_numbers
        blocks.update(section_blocks)
        outputs[section.__name__] = sorted(
            [f"{name}.md" for name in section_blocks]
            + [name for name in os.listdir(FLAGS.out_dir) if not name.endswith((".md", ".json"))
               and os.path.getmtime(os.path.join(FLAGS.out_dir, name)) >= began])
        print(f"{section.__name__}: done at {time.time() - start:.1f} s", flush=True)

    untrained = (shapes, normalization, shuffling, figures_trained.step_time, symmetry,
                 initialization, checkerboard, *figures_answers.SECTIONS,
                 *figures_checks.SECTIONS)
    if FLAGS.only:
        by_name = {section.__name__: section for section in untrained}
        unknown = sorted(set(FLAGS.only) - set(by_name))
        if unknown:
            raise InputError(f"--only: unknown sections {unknown}; choose from "
                             f"{sorted(by_name)}")
        numbers_path = os.path.join(FLAGS.out_dir, "numbers.json")
        if os.path.exists(numbers_path):
            with open(numbers_path) as f:
                numbers.update(json.load(f))
        untrained = [by_name[name] for name in FLAGS.only]
    for section in untrained:
        run_section(section)
    configs = config_record(figure_configs(FLAGS.quick, FLAGS.seed))
    if FLAGS.only:  # The record changes only for the sections that ran.
        settings = numbers.setdefault("settings", {})
        for name in FLAGS.only:
            if name in configs:
                settings.setdefault("configs", {})[name] = configs[name]
        settings.setdefault("outputs", {}).update(outputs)
        _write(numbers, blocks)
        return
    with tempfile.TemporaryDirectory() as workdir:  # Only what the pages show is copied out.
        run_start = time.time()
        run = figures_trained.balanced_run(workdir, FLAGS.quick, FLAGS.seed)
        numbers["balanced_run"] = {"images": len(run.digits), "batch_size": run.config.batch_size,
                                   "steps": max(run.snapshots),
                                   "seconds": time.time() - run_start}
        print(f"balanced_run: done at {time.time() - start:.1f} s", flush=True)
        blocks["balanced_run"] = _describe_balanced_run(run)
        for section in figures_trained.SECTIONS:
            run_section(section, run)
    numbers["settings"] = {"quick": FLAGS.quick, "seed": FLAGS.seed,
                           "tensorflow": tf.__version__, "keras": keras.__version__,
                           "seconds": time.time() - start, "configs": configs,
                           # Figures of balanced_run's sections follow its config.
                           "outputs": {**outputs, "balanced_run": sorted(
                               {name for section in figures_trained.SECTIONS
                                for name in outputs[section.__name__]})}}
    _write(numbers, blocks)
    print(f"Wrote {FLAGS.out_dir} in {time.time() - start:.1f} s.")


def _describe_balanced_run(run):
    """The pages' description of the balanced run, from its Config and budget."""
    cfg, budget = run.config, run.budget
    steps = ", ".join(str(step) for step in budget.snapshot_steps)
    return (f"The measurements below come from the *balanced run* of `docs/figures.py`: "
            f"`training.train` with the `dcgan` preset, the tutorial's transposed convolutions "
            f"(`upsample=\"{cfg.upsample}\"`), Dropout {cfg.dropout_rate:g} and LeakyReLU slope "
            f"{cfg.leaky_relu_slope:g} in D, Adam({cfg.learning_rate:g}, beta_1 {cfg.beta_1:g}), "
            f"batch {cfg.batch_size}, in {cfg.precision} and without the generator average, on "
            f"the first {budget.num_images:,} digits of the bundled MNIST sample "
            f"({budget.num_images // cfg.batch_size} steps per epoch), stopped after {steps} "
            f"steps and resumed.\n")


def _write(numbers, blocks):
    """The .md blocks, numbers.json, and the blocks copied into the pages."""
    for name, text in blocks.items():
        with open(os.path.join(FLAGS.out_dir, f"{name}.md"), "w") as f:
            f.write(text)
    with open(os.path.join(FLAGS.out_dir, "numbers.json"), "w") as f:
        json.dump(numbers, f, indent=2, sort_keys=True)
        f.write("\n")
    if FLAGS.docs_dir:  # The tutorial's pages, and the pages of docs/ above them.
        fill_pages(FLAGS.docs_dir, blocks)
        fill_pages(os.path.dirname(os.path.abspath(FLAGS.docs_dir)), blocks)
    print(json.dumps(numbers, indent=1, sort_keys=True))


# Q1 ------------------------------------------------------------------------------------

def shapes(out_dir, quick, seed):
    """Layer tables of G and D, built by models.build_* for 28x28x1 and 64x64x3."""
    numbers, blocks = {}, {}
    for size, cfg in figure_configs(quick, seed)["shapes"].items():
        size = int(size)
        tables = []
        for model in (models.build_generator(cfg), models.build_discriminator(cfg)):
            rows = ["| layer | output shape | parameters |", "| --- | --- | --- |"]
            for layer in model.layers:
                shape = "x".join(str(d) for d in layer.output.shape[1:])
                rows.append(f"| {layer.__class__.__name__} | {shape} | "
                            f"{layer.count_params():,} |")
            tables.append(f"{model.name} ({model.count_params():,} parameters):\n\n"
                          + "\n".join(rows))
            numbers[f"{model.name}_{size}_parameters"] = model.count_params()
        blocks[f"shapes_{size}"] = "\n\n".join(tables) + "\n"
    return numbers, blocks


# Q2 ------------------------------------------------------------------------------------

def normalization(out_dir, quick, seed):
    """(x - 127.5) / 127.5 on every uint8 value, PyTorch's equivalent, and the way back."""
    values = np.arange(256, dtype=np.uint8)
    ours = data.normalize(values).numpy()
    # torchvision: ToTensor divides by 255, then Normalize(mean=0.5, std=0.5) does (t - 0.5) / 0.5.
    torch_style = (values.astype(np.float32) / 255 - 0.5) / 0.5
    round_trip = visualize.to_uint8(ours)
    tanh_outputs = np.array([-1.0, -0.999, -0.5, 0.0, 0.5, 0.999, 1.0], np.float32)
    numbers = {
        "min": float(ours.min()), "max": float(ours.max()),
        "max_difference_from_torchvision": float(np.abs(ours - torch_style).max()),
        "round_trip_exact": int(np.sum(round_trip == values)),
        "tanh_to_uint8": dict(zip(map(str, tanh_outputs.tolist()),
                                  visualize.to_uint8(tanh_outputs).tolist())),
    }
    rows = ["| uint8 pixel x | (x - 127.5) / 127.5 | (x/255 - 0.5) / 0.5 | to_uint8 of it |",
            "| --- | --- | --- | --- |"]
    for x in (0, 1, 127, 128, 254, 255):
        rows.append(f"| {x} | {ours[x]:.6f} | {torch_style[x]:.6f} | {round_trip[x]} |")
    tanh_rows = ["| generator output (tanh) | to_uint8 |", "| --- | --- |"]
    tanh_rows += [f"| {t:g} | {u} |"
                  for t, u in zip(tanh_outputs, visualize.to_uint8(tanh_outputs))]
    summary = (f"All 256 values map into [{numbers['min']:g}, {numbers['max']:g}]; the largest "
               f"difference from the formula of torchvision's ToTensor + Normalize(0.5, 0.5), "
               f"(x / 255 - 0.5) / 0.5 computed here in NumPy (torchvision itself was not run), is "
               f"{numbers['max_difference_from_torchvision']:.2g} (float32 rounding); "
               f"`visualize.to_uint8` brings back {numbers['round_trip_exact']} of 256 values "
               "exactly.")
    blocks = {"normalize": "\n".join(rows) + "\n\n" + "\n".join(tanh_rows) + "\n\n"
              + summary + "\n"}

    images = data.read_local_copy(data.BUNDLED_MNIST_DIR).images[:200 if quick else 2000]
    figure, axes = plt.subplots(1, 2, figsize=(7, 2.4))
    axes[0].hist(images.ravel(), bins=64, range=(0, 256), color="tab:blue")
    axes[0].set_title("MNIST pixels as stored (uint8)")
    axes[1].hist(data.normalize(images).numpy().ravel(), bins=64, range=(-1, 1),
                 color="tab:orange")
    axes[1].set_title("after (x - 127.5) / 127.5")
    axes[0].set_xlabel("pixel value, 0 (black) to 255 (white)")
    axes[1].set_xlabel("pixel value, -1 (black) to 1 (white)")
    for axis in axes:
        axis.set_yscale("log")
        axis.set_ylabel("pixels (log scale)")
    save_figure(figure, out_dir, "normalize.png")
    return numbers, blocks


# Q3 ------------------------------------------------------------------------------------

def shuffling(out_dir, quick, seed):
    """Class order of the first batches of data.make_dataset on label-sorted MNIST.

    The pipeline never looks at pixel values, so each example here is its label
    stored as a 1x1 'image': what comes out shows where every example went.
    """
    labels = np.sort(readers.read_idx_labels(LABELS_PATH))
    examples = labels.reshape(-1, 1, 1, 1)
    batch_size, num_batches = 256, 4
    buffers = (1, 100, 1000, 0)
    numbers, sequences = {}, {}
    rows = ["| buffer_size | classes in batch 1 | batch 2 | batch 3 | batch 4 | "
            "commonest class in batch 1 |", "| --- | --- | --- | --- | --- | --- |"]
    for buffer_size in buffers:
        dataset = data.make_dataset(examples, batch_size, buffer_size, seed, epoch=0)
        batches = [visualize.to_uint8(batch).reshape(-1) for batch in dataset.take(num_batches)]
        sequences[buffer_size] = np.concatenate(batches)
        classes = [len(np.unique(batch)) for batch in batches]
        counts = np.bincount(batches[0], minlength=10)
        name = buffer_size or f"0 (= {len(labels)}, full)"
        numbers[str(buffer_size)] = {"classes_per_batch": classes,
                                     "batch_1_class_counts": counts.tolist()}
        rows.append(f"| {name} | " + " | ".join(map(str, classes))
                    + f" | {counts.argmax()} ({counts.max()} of {batch_size}) |")
    blocks = {"shuffle": "\n".join(rows) + "\n"}

    figure, axes = plt.subplots(len(buffers), 1, figsize=(7, 0.5 + 0.6 * len(buffers)),
                                sharex=True)
    for axis, (buffer_size, sequence) in zip(axes, sequences.items()):
        axis.imshow(sequence[np.newaxis], aspect="auto", cmap="tab10", vmin=-0.5, vmax=9.5,
                    interpolation="nearest")
        axis.set_yticks([])
        axis.set_ylabel(f"{buffer_size or 'full'}", rotation=0, ha="right", va="center")
        for edge in range(batch_size, batch_size * num_batches, batch_size):
            axis.axvline(edge - 0.5, color="black", linewidth=1)
    colours = figure.colorbar(axes[0].images[0], ax=axes, ticks=range(10), fraction=0.03)
    colours.set_label("digit class", fontsize=8)
    axes[-1].set_xlabel(f"position in the epoch (first {num_batches} batches of {batch_size})")
    axes[0].set_title("buffer_size", loc="left", fontsize=9)
    save_figure(figure, out_dir, "shuffle.png", tight=False)
    return numbers, blocks


# Q4 ------------------------------------------------------------------------------------

def symmetry(out_dir, quick, seed):
    """Trains a one-conv digit classifier from constant and from random kernels."""
    digits = data.read_local_copy(data.BUNDLED_MNIST_DIR).images[:2048]
    labels = readers.read_idx_labels(LABELS_PATH)[:2048]
    inputs = data.normalize(digits).numpy()
    epochs = 1 if quick else 3
    inits = {"constant 0.02": keras.initializers.Constant(0.02),
             "N(0, 0.02)": keras.initializers.RandomNormal(0.0, 0.02, seed=seed)}
    numbers, filters = {}, {}
    for name, init in inits.items():
        model = keras.Sequential([
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(8, 5, strides=2, activation="relu", kernel_initializer=init),
            keras.layers.Flatten(),
            keras.layers.Dense(10, kernel_initializer=init)])
        start_norm = float(np.linalg.norm(
            model.layers[0].kernel.numpy().reshape(-1, 8), axis=0).mean())
        model.compile(keras.optimizers.Adam(1e-3),
                      keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      metrics=["accuracy"])
        history = model.fit(inputs, labels, batch_size=64, epochs=epochs, verbose=0,
                            shuffle=True)
        kernel = model.layers[0].kernel.numpy()  # [5, 5, 1, 8]
        flat = kernel.reshape(-1, kernel.shape[-1]).T  # one row per filter
        distances = np.linalg.norm(flat[:, None] - flat[None], axis=-1)
        pairs = distances[np.triu_indices(len(flat), 1)]
        numbers[name] = {"steps": epochs * (len(inputs) // 64 + bool(len(inputs) % 64)),
                         "max_pairwise_distance": float(pairs.max()),
                         "mean_filter_norm_at_start": start_norm,
                         "mean_filter_norm": float(np.linalg.norm(flat, axis=1).mean()),
                         "train_accuracy": float(history.history["accuracy"][-1])}
        filters[name] = kernel[:, :, 0, :]
    rows = ["| kernel init | training steps | largest distance between two filters | "
            "mean filter norm: at the start, trained | training accuracy |",
            "| --- | --- | --- | --- | --- |"]
    for name, n in numbers.items():
        rows.append(f"| {name} | {n['steps']} | {n['max_pairwise_distance']:.3g} | "
                    f"{n['mean_filter_norm_at_start']:.3g}, {n['mean_filter_norm']:.3g} | "
                    f"{n['train_accuracy']:.3f} |")
    blocks = {"symmetry": "\n".join(rows) + "\n"}

    figure, axes = plt.subplots(2, 8, figsize=(7, 2.2))
    for row, (name, kernels) in enumerate(filters.items()):
        for k in range(8):
            axes[row, k].imshow(kernels[..., k], cmap="gray")
            axes[row, k].set_xticks([])
            axes[row, k].set_yticks([])
        axes[row, 0].set_ylabel(name, fontsize=8)
    figure.suptitle("the 8 learned 5x5 filters of the first convolution", fontsize=9)
    save_figure(figure, out_dir, "symmetry.png")
    return numbers, blocks


def initialization(out_dir, quick, seed):
    """The kernels models.build_generator makes under each preset, at 28x28."""
    presets = figure_configs(quick, seed)["initialization"]
    numbers, kernels = {}, {}
    for name, cfg in presets.items():
        generator = models.build_generator(cfg)
        layers = [layer for layer in generator.layers if hasattr(layer, "kernel")]
        kernels[name] = [layer.kernel.numpy().ravel() for layer in layers]
        numbers[name] = [{"layer": layer.__class__.__name__,
                          "kernel_shape": list(layer.kernel.shape),
                          "std": float(np.std(layer.kernel.numpy())),
                          "max_abs": float(np.abs(layer.kernel.numpy()).max())}
                         for layer in layers]
    rows = ["| generator layer | kernel shape | tutorial std (max abs) | dcgan std (max abs) |",
            "| --- | --- | --- | --- |"]
    for tutorial, dcgan in zip(numbers["tutorial"], numbers["dcgan"]):
        rows.append(f"| {tutorial['layer']} | {'x'.join(map(str, tutorial['kernel_shape']))}"
                    f" | {tutorial['std']:.4f} ({tutorial['max_abs']:.4f}) | "
                    f"{dcgan['std']:.4f} ({dcgan['max_abs']:.4f}) |")
    blocks = {"init": "\n".join(rows) + "\n"}

    figure, axes = plt.subplots(1, len(numbers["dcgan"]), figsize=(12, 2.8), sharey=False)
    for index, axis in enumerate(axes):
        for name in presets:
            axis.hist(kernels[name][index], bins=64, range=(-0.1, 0.1), histtype="step",
                      density=True, label=f"{name} preset")
        layer = numbers["dcgan"][index]
        axis.set_title(f"{layer['layer']} {'x'.join(map(str, layer['kernel_shape']))}",
                       fontsize=9)
        axis.set_xlabel("initial kernel value")
        axis.set_yticks([])
    axes[0].set_ylabel("density")
    axes[0].legend(fontsize=8)
    save_figure(figure, out_dir, "init.png")
    return numbers, blocks


# Q7 ------------------------------------------------------------------------------------

CHECKERBOARD_CASES = {"transpose, kernel 4": dict(upsample="transpose", kernel_size=4),
                      "transpose, kernel 5": dict(upsample="transpose", kernel_size=5),
                      "resize, kernel 5": dict(upsample="resize", kernel_size=5)}


def checkerboard(out_dir, quick, seed):
    """Samples and mean power spectra of untrained 64x64 generators, and tap counts."""
    size, num_samples = 64, (16 if quick else 256)
    noise = np.random.default_rng(seed).standard_normal((num_samples, 100)).astype("f4")
    numbers, samples, spectra = {}, {}, {}
    for name, cfg in figure_configs(quick, seed)["checkerboard"].items():
        keras.utils.set_random_seed(seed)
        # training=True: BatchNorm normalises with batch statistics, as while training.
        images = models.build_generator(cfg)(noise, training=True).numpy()[..., 0]
        spectrum = mean_power_spectrum(images)
        numbers[name] = {"nyquist_to_median_power": nyquist_to_median(spectrum)}
        samples[name] = images[:4]
        spectra[name] = log_spectrum_image(spectrum)
    taps = _tap_counts()
    numbers["taps"] = {name: sorted(set(counts[4:-4, 4:-4].ravel().tolist()))
                       for name, counts in taps.items()}
    rows = ["| generator (64x64, untrained) | kernel taps per output pixel, one layer | "
            f"power at the Nyquist frequencies / median power ({num_samples} samples) |",
            "| --- | --- | --- |"]
    for name in CHECKERBOARD_CASES:
        rows.append(f"| {name} | {', '.join(map(str, numbers['taps'][name]))} | "
                    f"{numbers[name]['nyquist_to_median_power']:.1f} |")
    blocks = {"checkerboard": "\n".join(rows) + "\n"}

    figure, axes = plt.subplots(3, 3, figsize=(8, 7.4))
    # One colour scale per row, so that the three cases can be compared.
    power_range = (min(s.min() for s in spectra.values()), max(s.max() for s in spectra.values()))
    tap_range = (min(t.min() for t in taps.values()), max(t.max() for t in taps.values()))
    for column, name in enumerate(CHECKERBOARD_CASES):
        grid = visualize.image_grid(samples[name][..., np.newaxis], padding=1)
        axes[0, column].imshow(grid[..., 0], cmap="gray", vmin=0, vmax=255)
        axes[0, column].set_title(name, fontsize=9)
        power = axes[1, column].imshow(spectra[name], cmap="magma", vmin=power_range[0],
                                       vmax=power_range[1])
        corner = taps[name][:8, :8]  # A corner of the map, large enough to read the counts.
        tap_image = axes[2, column].imshow(corner, cmap="viridis", interpolation="nearest",
                                           vmin=tap_range[0], vmax=tap_range[1])
        for (y, x), count in np.ndenumerate(corner):
            axes[2, column].text(x, y, str(int(count)), ha="center", va="center", fontsize=6,
                                 color="white" if count < tap_range[1] * 0.6 else "black")
        for row in range(3):
            axes[row, column].set_xticks([])
            axes[row, column].set_yticks([])
    axes[0, 0].set_ylabel("4 samples", fontsize=9)
    axes[1, 0].set_ylabel("mean log10 power spectrum\n(centre = 0 frequency)", fontsize=9)
    axes[2, 0].set_ylabel("taps per pixel, one layer\non a constant input (8x8 corner)",
                          fontsize=9)
    figure.colorbar(power, ax=axes[1, :].tolist(), shrink=0.9, label="log10 power")
    figure.colorbar(tap_image, ax=axes[2, :].tolist(), shrink=0.9, label="taps")
    save_figure(figure, out_dir, "checkerboard.png", tight=False)
    return numbers, blocks


def _tap_counts():
    """How many kernel taps reach each output pixel of one stride-2 upsampling layer.

    A kernel of ones on an input of ones counts them: the uneven overlap of
    Odena et al. (Distill, 2016), without any learned weights.
    """
    ones = np.ones((1, 8, 8, 1), np.float32)
    counts = {}
    for name, options in CHECKERBOARD_CASES.items():
        kernel = options["kernel_size"]
        if options["upsample"] == "transpose":
            layer = keras.layers.Conv2DTranspose(1, kernel, strides=2, padding="same",
                                                 use_bias=False, kernel_initializer="ones")
            counts[name] = layer(ones).numpy()[0, ..., 0]
        else:
            upsampled = keras.layers.UpSampling2D(2)(ones)
            layer = keras.layers.Conv2D(1, kernel, padding="same", use_bias=False,
                                        kernel_initializer="ones")
            counts[name] = layer(upsampled).numpy()[0, ..., 0]
    return {name: np.rint(c).astype(int) for name, c in counts.items()}


if __name__ == "__main__":
    cli.run(main, flags.FLAGS)
