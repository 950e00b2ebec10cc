"""The tutorial's figures that need training; docs/figures.py runs them.

  step_time.md                             Q3  time per step and images/s by batch size
  bn_modes.png, batchnorm.md               Q5  G's samples, BatchNorm in training vs inference mode
  dead_units.md, dropout.md                Q5  units that never fire (ReLU vs LeakyReLU); D(x)
                                               on seen and unseen digits, Dropout off and on
  d_wins.png, d_wins.md                    Q6  scores, losses, samples when D learns too fast
  checkerboard_trained.png, .md            Q7  trained samples and spectra, transpose vs resize
  progress.gif, losses.png, reading_run.md Q8  a real run's progress GIF and loss plot

One short run of `dcgan_tf.training.train` (the `dcgan` preset with
`upsample="transpose"`, batch 64, on the
first 2,560 digits of the bundled MNIST sample, so that an epoch is 40 steps and
the GIF gets a frame every 40 steps) serves Q5 to Q8: the *balanced run*. It is
stopped at each of `snapshot_steps` and resumed by calling train() again, so its
networks can be examined on the way. Each *variant* changes one thing (ReLU,
resize-convolution, a faster discriminator), trains `variant_steps` steps from
the same initial weights, noise and batches with the library's building blocks,
and is compared with the balanced run at that same step.
"""

import dataclasses
import functools
import math
import os
import shutil
import time

import imageio.v3 as iio
import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from PIL import Image

from dcgan_tf import config as config_lib, data, loop, recorder, run_dir, training, visualize
from dcgan_tf.state import TrainState
from dcgan_tf.train_step import METRICS
from dcgan_tf.spectrum import mean_power_spectrum, nyquist_to_median
from figures_common import log_spectrum_image, markdown_table, save_figure

MNIST_IMAGES = os.path.join(data.BUNDLED_MNIST_DIR, "t10k-images-idx3-ubyte.gz")
BATCH_SIZE = 64
FULL_MNIST = 60_000  # The MNIST training split, what train.py trains on by default.
DISCRIMINATOR_SPEEDUP = 10  # Q6: D's learning rate over G's in the unbalanced runs.
LABEL_SMOOTHING = 0.1  # Q6: what --label_smoothing=0.1 does.


@dataclasses.dataclass(frozen=True)
class Budget:
    """How much to train and measure.

    Attributes:
        num_images: training images, the first of the bundled sample.
        snapshot_steps: where the balanced run stops to be examined; the last ends it.
        variant_steps: steps of every variant; one of snapshot_steps.
        num_samples: generated (and real) images per measurement.
        batch_sizes: of the step-time table.
        timed_steps: timed steps per batch size, after two untimed ones.
        jit_compile: Config.jit_compile: None = train.py's default (XLA on a single
            device); False skips XLA's compile time, for the quick smoke test.
    """
    num_images: int
    snapshot_steps: tuple
    variant_steps: int
    num_samples: int
    batch_sizes: tuple
    timed_steps: int
    jit_compile: object


FULL = Budget(2560, (40, 160, 320), 160, 256, (32, 64, 128, 256), 5, None)
QUICK = Budget(256, (4, 8), 4, 32, (32, 64), 1, False)


@dataclasses.dataclass
class Run:
    """The balanced run, after it finished.

    Attributes:
        config: its resolved Config.
        budget: the Budget it was made with.
        snapshots: {step: tf.train.Checkpoint restored at that step}.
        history: its losses.csv (history.read_history's dict of lists).
        digits: uint8 [num_images, 28, 28, 1], what it trained on.
        unseen: uint8 [num_images, 28, 28, 1], digits of the sample it never saw.
    """
    config: object
    budget: Budget
    snapshots: dict
    history: dict
    digits: np.ndarray
    unseen: np.ndarray


def balanced_config(quick, seed, data_path="", workdir=""):
    """The balanced run's resolved Config (the figures record it in numbers.json)."""
    budget = QUICK if quick else FULL
    return data.resolve(config_lib.dcgan_preset(
        dataset="mnist", data_dir=data_path, workdir=workdir,
        batch_size=BATCH_SIZE, epochs=budget.snapshot_steps[-1] * BATCH_SIZE // budget.num_images,
        seed=seed, jit_compile=budget.jit_compile, precision="float32",
        # The tutorial's Conv2DTranspose, whose checkerboard these pages show
        # (Q7 trains the resize-convolution default beside it).
        upsample="transpose",
        ema_decay=0.0))  # These pages show the generator itself, not its average.


def step_time_config(quick):
    """The Config of the step-time table's networks (numbers.json records it)."""
    budget = QUICK if quick else FULL
    return data.resolve(config_lib.dcgan_preset(dataset="mnist", jit_compile=budget.jit_compile,
                                                precision="float32",
                                                upsample="transpose",  # The tutorial's.
                                                ema_decay=0.0))  # The step alone.


def balanced_run(workdir, quick, seed):
    """Trains the balanced run under `workdir` with training.train, in stages."""
    budget = QUICK if quick else FULL
    images = data.read_local_copy(MNIST_IMAGES).images
    digits, unseen = images[:budget.num_images], images[budget.num_images:][:budget.num_images]
    data_path = os.path.join(workdir, "mnist_subset.npz")
    np.savez(data_path, x_train=digits[..., 0])  # A Keras-style copy: --data_dir reads it.
    last_step = budget.snapshot_steps[-1]
    cfg = balanced_config(quick, seed, data_path, os.path.join(workdir, "balanced"))
    snapshots = {}
    for step in budget.snapshot_steps:
        training.train(dataclasses.replace(cfg, max_steps=step))  # Resumes where it stopped.
        state = TrainState.create(cfg)
        checkpoint = tf.train.latest_checkpoint(run_dir.of(cfg).checkpoints)
        state.restore(checkpoint).assert_existing_objects_matched()
        snapshots[step] = state
    losses = recorder.losses_log(cfg).load(last_step)
    history = {name: losses.column(name) for name in recorder.LOSS_FIELDS}
    return Run(cfg, budget, snapshots, history, digits, unseen)


def variant_run(run, steps, **changes):
    """Trains with dcgan_tf.loop.run from the balanced run's start, with one change.

    The same seed, so the same initial weights, noise and batches as the balanced
    run, and the loop train() runs; nothing is written.

    Args:
        run: the balanced Run.
        steps: steps to train.
        **changes: Config fields to change, e.g. upsample="resize".

    Returns:
        (state, history): the TrainState after `steps` steps, and a dict of
        lists, one value per step, for every metric of losses.csv
        (generator_loss, ..., fake_score).
    """
    cfg = dataclasses.replace(run.config, **changes)
    keras.utils.set_random_seed(cfg.seed)  # What train() does first.
    state = TrainState.create(cfg)
    history = loop.run(state, cfg, data.load_images(cfg).images, until_step=steps,
                       show_progress=False)
    return state, {name: history[name].tolist() for name in METRICS}


# Q3 ------------------------------------------------------------------------------------

def step_time(out_dir, quick, seed):
    """Seconds per train step of the 28x28 `dcgan` networks at several batch sizes.

    The batch sizes take turns, one step each per round, so a moment when other
    programs use the cores slows all of them alike; each row is a median.
    """
    budget = QUICK if quick else FULL
    cfg = step_time_config(quick)
    images = data.normalize(data.read_local_copy(MNIST_IMAGES).images[:max(budget.batch_sizes)])
    steps = {}
    for batch_size in budget.batch_sizes:
        keras.utils.set_random_seed(seed)
        state = TrainState.create(dataclasses.replace(cfg, batch_size=batch_size))
        train_steps = loop.build_train_steps(cfg, state)  # What train() runs.
        batches = iter(tf.data.Dataset.from_tensors(images[:batch_size]).repeat())
        steps[batch_size] = functools.partial(train_steps, batches, tf.constant(1, tf.int32))
        for _ in range(2):  # The first call traces and compiles the step.
            float(steps[batch_size]()["generator_loss"][0])
    loads = [os.getloadavg()[0]]
    times = {batch_size: [] for batch_size in budget.batch_sizes}
    for _ in range(budget.timed_steps):
        for batch_size, step_fn in steps.items():
            start = time.perf_counter()
            float(step_fn()["generator_loss"][0])  # Waits for the step to finish.
            times[batch_size].append(time.perf_counter() - start)
    loads.append(os.getloadavg()[0])
    numbers, rows = {}, []
    for batch_size, measured in times.items():
        seconds = float(np.median(measured))
        steps_per_epoch = FULL_MNIST // batch_size
        numbers[str(batch_size)] = {"seconds_per_step": seconds, "all_seconds": measured,
                                    "images_per_second": batch_size / seconds}
        rows.append([batch_size, f"{seconds:.3f}", f"{batch_size / seconds:.0f}",
                     steps_per_epoch, f"{steps_per_epoch * seconds:.0f}"])
    first, last = (numbers[str(b)] for b in (budget.batch_sizes[0], budget.batch_sizes[-1]))
    numbers.update(load_average=loads, cpu_count=os.cpu_count(),
                   timed_steps=budget.timed_steps)
    table = markdown_table(["batch size", "s per step", "images per s",
                            f"steps per epoch of {FULL_MNIST:,} images",
                            "s per such epoch"], rows)
    summary = (f"From batch {budget.batch_sizes[0]} to {budget.batch_sizes[-1]} "
               f"({budget.batch_sizes[-1] // budget.batch_sizes[0]}x the images) a step "
               f"took {last['seconds_per_step'] / first['seconds_per_step']:.1f}x as long, "
               "and images per second changed by "
               f"{last['images_per_second'] / first['images_per_second'] - 1:+.0%}. Each time "
               f"is the median of {budget.timed_steps} steps (after 2 untimed ones) of "
               f"train.py's compiled step (XLA {'on' if loop.uses_xla(cfg) else 'off'}) on "
               f"{os.cpu_count()} CPU cores; the 1-minute load average just before was "
               f"{loads[0]:.2f} (0 = an idle machine, {os.cpu_count()} = every core busy).")
    return numbers, {"step_time": table + "\n" + summary + "\n"}


# Q5 ------------------------------------------------------------------------------------

def batchnorm_modes(out_dir, quick, seed, run):
    """The balanced run's generator with BatchNorm in training and in inference mode."""
    noise = _noise(run, seed)
    progress_noise = run.snapshots[run.budget.snapshot_steps[-1]].progress_noise.numpy()
    momentum = next(layer.momentum for layer in run.snapshots[run.budget.snapshot_steps[-1]]
                    .generator.layers if isinstance(layer, keras.layers.BatchNormalization))
    numbers, rows, grids = {}, [], []
    for step, state in run.snapshots.items():
        generator = state.generator
        gap = np.abs(visualize.to_uint8(_in_training_mode(generator, noise)).astype(float)
                     - visualize.to_uint8(generator(noise, training=False))).mean()
        numbers[f"step_{step}"] = {"mean_abs_pixel_difference": float(gap),
                                   "initial_statistics_weight": momentum**step}
        rows.append([step, f"{momentum**step:.2f}", f"{gap:.1f}"])
        grids.append((step, visualize.image_grid(_in_training_mode(generator, progress_noise)),
                      visualize.image_grid(generator(progress_noise, training=False))))
    block = markdown_table(
        ["step", f"weight the moving averages still give their start values "
         f"({momentum:g}^step)", "mean abs difference training vs inference mode "
         f"(0-255 pixel levels, {len(noise)} samples)"], rows)

    figure, axes = plt.subplots(len(grids), 2, figsize=(4.6, 2.3 * len(grids)), squeeze=False)
    for row, (step, training_grid, inference_grid) in enumerate(grids):
        for column, grid in enumerate((training_grid, inference_grid)):
            axes[row, column].imshow(grid[..., 0], cmap="gray", vmin=0, vmax=255)
            axes[row, column].set_xticks([])
            axes[row, column].set_yticks([])
        axes[row, 0].set_ylabel(f"step {step}", fontsize=9)
    axes[0, 0].set_title("training=True\n(batch statistics)", fontsize=9)
    axes[0, 1].set_title("training=False, exported\n(moving averages)", fontsize=9)
    save_figure(figure, out_dir, "bn_modes.png")
    return numbers, {"batchnorm": block}


def dead_units(out_dir, quick, seed, run):
    """Units never positive on a batch: LeakyReLU (the balanced run) vs a ReLU run."""
    step = run.budget.variant_steps
    relu_state, relu_history = variant_run(run, step, leaky_relu_slope=0.0)
    noise = _noise(run, seed)
    real = data.normalize(run.digits[:run.budget.num_samples]).numpy()
    relu_config = dataclasses.replace(run.config, leaky_relu_slope=0.0)
    cases = {f"LeakyReLU {run.config.leaky_relu_slope:g}": (run.config, run.snapshots[step]),
             "ReLU (leaky_relu_slope=0)": (relu_config, relu_state)}
    numbers, rows = {}, {}
    for name, (cfg, trained) in cases.items():
        keras.utils.set_random_seed(cfg.seed)
        untrained = TrainState.create(cfg)  # The weights both runs started from.
        for network in ("discriminator", "generator"):
            fractions = [_never_positive(state, network, noise, real)
                         for state in (untrained, trained)]
            numbers[f"{network}, {name}"] = fractions
            rows[network, name] = [network, name] + [f"{f:.1%}" for f in fractions]
    block = markdown_table(["network", "activation", "units never positive: untrained",
                            f"after {step} steps"], [rows[key] for key in sorted(rows)])
    scores = {name: _last_epoch_means(history, step, run)
              for name, history in (("LeakyReLU", _slice(run.history, step)),
                                    ("ReLU", relu_history))}
    numbers["last_epoch_means"] = scores
    block += (
        f"\nUnits: every element of the inputs of the activation layers (D: "
        f"{_unit_count(run.snapshots[step].discriminator)}, G: "
        f"{_unit_count(run.snapshots[step].generator)}). D saw {len(real)} training digits "
        f"and {len(noise)} generated images (inference mode); G {len(noise)} noise vectors "
        "(training mode, as in a step). Mean D(x), D(G(z)) over the last epoch: "
        + "; ".join(f"{name} {s['real_score']:.2f}, {s['fake_score']:.2f}"
                    for name, s in scores.items()) + ".\n")
    return numbers, {"dead_units": block}


def dropout_scores(out_dir, quick, seed, run):
    """The balanced run's D(x) on digits it trained on and on unseen ones, Dropout off/on."""
    discriminator = run.snapshots[run.budget.snapshot_steps[-1]].discriminator
    numbers, rows = {}, []
    for name, images in (("trained on", run.digits), ("never saw", run.unseen)):
        images = data.normalize(images[:run.budget.num_samples])
        off = float(tf.reduce_mean(tf.sigmoid(discriminator(images, training=False))))
        on = float(tf.reduce_mean(tf.sigmoid(discriminator(images, training=True))))
        numbers[name] = {"dropout_off": off, "dropout_on": on}
        rows.append([f"{run.budget.num_samples} digits the run {name}", f"{off:.3f}",
                     f"{on:.3f}"])
    block = markdown_table(
        ["real images", "mean D(x), Dropout off (inference)",
         f"Dropout on ({run.config.dropout_rate:g}, as in a training step)"], rows)
    return numbers, {"dropout": block}


def _noise(run, seed):
    """float32 [num_samples, noise_dim], the same for every measurement."""
    return np.random.default_rng(seed).standard_normal(
        (run.budget.num_samples, run.config.noise_dim)).astype(np.float32)


def _in_training_mode(model, inputs):
    """model(inputs, training=True) as an array, without its side effect: a
    training-mode call updates BatchNorm's moving statistics, which would change
    the model for every later measurement."""
    saved = [variable.numpy() for variable in model.non_trainable_variables]
    outputs = tf.nest.map_structure(np.asarray, model(inputs, training=True))
    for variable, value in zip(model.non_trainable_variables, saved):
        variable.assign(value)
    return outputs


def _activation_inputs(model):
    """A model with the same inputs whose outputs are every activation layer's input."""
    activations = [layer for layer in model.layers
                   if isinstance(layer, keras.layers.LeakyReLU)]
    return keras.Model(model.inputs, [layer.input for layer in activations])


def _unit_count(model):
    return f"{sum(int(np.prod(t.shape[1:])) for t in _activation_inputs(model).outputs):,}"


def _never_positive(state, network, noise, real):
    """Fraction of the network's activation units whose input is <= 0 for every input.

    Through a ReLU such a unit outputs 0 and passes no gradient for the whole
    batch (it is 'dead' there); through a LeakyReLU it still passes slope x gradient.
    """
    if network == "generator":
        outputs = _in_training_mode(_activation_inputs(state.generator), noise)
    else:
        fakes = state.generator(noise, training=False)
        outputs = _activation_inputs(state.discriminator)(
            np.concatenate([real, fakes]), training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    never = sum(int(np.all(np.asarray(o) <= 0, axis=0).sum()) for o in outputs)
    return never / sum(np.asarray(o)[0].size for o in outputs)


def _slice(history, steps):
    return {name: history[name][:steps] for name in METRICS}


def _last_epoch_means(history, steps, run):
    """Means over the last epoch (or all steps, if fewer) up to `steps`."""
    window = min(steps, run.budget.num_images // run.config.batch_size)
    return {name: float(np.mean(history[name][steps - window:steps]))
            for name in METRICS}


# Q6 ------------------------------------------------------------------------------------

def discriminator_wins(out_dir, quick, seed, run):
    """The balanced run against D with a 10x learning rate, with and without smoothing."""
    steps = run.budget.variant_steps
    rate = run.config.learning_rate
    fast = rate * DISCRIMINATOR_SPEEDUP
    runs = {"balanced": (rate, 0.0, _slice(run.history, steps), run.snapshots[steps])}
    for smoothing in (0.0, LABEL_SMOOTHING):
        state, history = variant_run(run, steps, discriminator_learning_rate=fast,
                                     label_smoothing=smoothing)
        name = f"D {DISCRIMINATOR_SPEEDUP}x faster" + (
            f", smoothing {smoothing:g}" if smoothing else "")
        runs[name] = (fast, smoothing, history, state)
    numbers, rows = {}, []
    for name, (d_rate, smoothing, history, _) in runs.items():
        means = _last_epoch_means(history, steps, run)
        numbers[name] = {"discriminator_learning_rate": d_rate, "label_smoothing": smoothing,
                         "last_epoch_means": means}
        rows.append([name, f"{d_rate:g}", f"{rate:g}", f"{smoothing:g}",
                     f"{means['real_score']:.2f}", f"{means['fake_score']:.2f}",
                     f"{means['discriminator_loss']:.2f}", f"{means['generator_loss']:.2f}"])
    window = min(steps, run.budget.num_images // run.config.batch_size)
    block = markdown_table(["run", "D learning rate", "G learning rate", "label smoothing",
                            "D(x)", "D(G(z))", "D loss", "G loss"], rows)
    block += (f"\nMeans over steps {steps - window + 1}-{steps} (the last epoch) of "
              f"each run's per-step values.\n")

    _plot_runs(out_dir, {name: (history, state) for name, (_, _, history, state)
                         in runs.items()}, steps, run.snapshots[steps].progress_noise.numpy())
    return numbers, {"d_wins": block}


def _plot_runs(out_dir, runs, steps, progress_noise):
    """d_wins.png: per run (a column) its losses, its scores, and its samples."""
    figure, axes = plt.subplots(3, len(runs), figsize=(3.2 * len(runs), 7.4),
                                height_ratios=(2, 2, 3), sharey="row")
    for column, (name, (history, state)) in enumerate(runs.items()):
        x = np.arange(1, steps + 1)
        axes[0, column].plot(x, history["generator_loss"], linewidth=0.8, label="G loss")
        axes[0, column].plot(x, history["discriminator_loss"], linewidth=0.8, label="D loss")
        axes[1, column].plot(x, history["real_score"], linewidth=0.8, label="D(x), real")
        axes[1, column].plot(x, history["fake_score"], linewidth=0.8, label="D(G(z)), fake")
        axes[1, column].axhline(0.5, color="gray", linewidth=0.5, linestyle="--")
        axes[1, column].set_ylim(0, 1)
        axes[1, column].set_xlabel("step")
        axes[0, column].set_title(name, fontsize=9)
        grid = visualize.image_grid(state.generator(progress_noise, training=False))
        axes[2, column].imshow(grid[..., 0], cmap="gray", vmin=0, vmax=255)
        axes[2, column].set_xticks([])
        axes[2, column].set_yticks([])
        axes[2, column].set_xlabel(f"G after {steps} steps (inference mode)", fontsize=8)
    # The loss axis is clipped at the 99th percentile: one spike would otherwise set the
    # scale of every panel (the clipped values are still in losses.csv and the block).
    every_loss = np.concatenate([np.concatenate([history["generator_loss"],
                                                 history["discriminator_loss"]])
                                 for history, _ in runs.values()])
    top = float(np.nanpercentile(every_loss, 99)) * 1.1
    axes[0, 0].set_ylim(0, top)
    for column in range(len(runs)):
        axes[0, column].set_xlabel("step")
    axes[0, 0].set_ylabel(f"loss (axis cut at {top:.1f})")
    axes[1, 0].set_ylabel("mean D output")
    axes[0, 0].legend(fontsize=7)
    axes[1, 0].legend(fontsize=7)
    save_figure(figure, out_dir, "d_wins.png")


# Q7 ------------------------------------------------------------------------------------

def checkerboard_trained(out_dir, quick, seed, run):
    """Samples and spectra of the 28x28 generator, untrained and trained, per upsample mode."""
    steps = run.budget.variant_steps
    noise = _noise(run, seed)
    resize_state, _ = variant_run(run, steps, upsample="resize")
    trained = {"transpose": run.snapshots[steps].generator, "resize": resize_state.generator}
    numbers, rows, pictures = {}, [], {}
    for mode, generator in trained.items():
        keras.utils.set_random_seed(run.config.seed)  # The weights both runs started from.
        untrained = TrainState.create(dataclasses.replace(run.config, upsample=mode))
        spectra = []
        for model in (untrained.generator, generator):
            # BatchNorm in training mode, as in Q7's untrained table.
            images = _in_training_mode(model, noise)[..., 0]
            spectra.append(mean_power_spectrum(images))
        ratios = [nyquist_to_median(spectrum) for spectrum in spectra]
        numbers[mode] = {"nyquist_to_median_untrained": ratios[0],
                         "nyquist_to_median_trained": ratios[1]}
        rows.append([f"{mode}, kernel {run.config.kernel_size}", f"{ratios[0]:.1f}",
                     f"{ratios[1]:.1f}"])
        pictures[mode] = (images[:9], [log_spectrum_image(s) for s in spectra])
    block = markdown_table(
        ["generator (28x28, `dcgan` preset)", "power at the Nyquist frequencies / median "
         "power: untrained", f"after {steps} steps"], rows)
    block += f"\n{len(noise)} samples each, BatchNorm in training mode.\n"

    figure, axes = plt.subplots(2, 3, figsize=(8, 4.8))
    every = [spectrum for _, spectra in pictures.values() for spectrum in spectra]
    low, high = min(s.min() for s in every), max(s.max() for s in every)  # One shared scale.
    for row, (mode, (samples, spectra)) in enumerate(pictures.items()):
        grid = visualize.image_grid(samples[..., np.newaxis], padding=1)
        axes[row, 0].imshow(grid[..., 0], cmap="gray", vmin=0, vmax=255)
        axes[row, 1].imshow(spectra[0], cmap="magma", vmin=low, vmax=high)
        shown = axes[row, 2].imshow(spectra[1], cmap="magma", vmin=low, vmax=high)
        axes[row, 0].set_ylabel(mode, fontsize=9)
        for column in range(3):
            axes[row, column].set_xticks([])
            axes[row, column].set_yticks([])
    axes[0, 0].set_title(f"9 samples after {steps} steps", fontsize=9)
    axes[0, 1].set_title("mean log power spectrum:\nuntrained", fontsize=9)
    axes[0, 2].set_title(f"\nafter {steps} steps", fontsize=9)
    figure.colorbar(shown, ax=axes[:, 1:].ravel().tolist(), shrink=0.9, label="log10 power")
    save_figure(figure, out_dir, "checkerboard_trained.png", tight=False)
    return numbers, {"checkerboard_trained": block}


# Q8 ------------------------------------------------------------------------------------

def reading_a_run(out_dir, quick, seed, run):
    """The balanced run's own progress.gif and losses.png, and its losses per epoch."""
    frames = iio.imread(run_dir.of(run.config).progress_gif, index=None)
    frames = frames[..., 0] if frames.ndim == 4 else frames  # Gray, whatever the reader says.
    # image_grid enlarges the 4x4 digits 3x; two thirds of that (each pixel 2x2) stays
    # sharp, and 64 gray levels look the same: together a third of the bytes.
    height, width = frames.shape[1:3]
    small = [np.asarray(Image.fromarray(frame).resize((width * 2 // 3, height * 2 // 3),
                                                      Image.NEAREST))[..., np.newaxis] // 4 * 4
             for frame in frames]
    visualize.save_gif(os.path.join(out_dir, "progress.gif"), small)
    shutil.copyfile(run_dir.of(run.config).losses_png,  # Already a 256-colour PNG.
                    os.path.join(out_dir, "losses.png"))

    history = run.history
    epochs = np.asarray(history["epoch"])
    rows, numbers = [], {"frames": len(frames)}
    for epoch in np.unique(epochs):
        chosen = epochs == epoch
        means = {name: float(np.mean(np.asarray(history[name])[chosen]))
                 for name in METRICS}
        numbers[f"epoch_{epoch}"] = means
        steps = np.asarray(history["step"])[chosen]
        rows.append([epoch, f"{steps[0]}-{steps[-1]}", f"{means['discriminator_loss']:.2f}",
                     f"{means['generator_loss']:.2f}", f"{means['real_score']:.2f}",
                     f"{means['fake_score']:.2f}"])
    block = markdown_table(["epoch (GIF frame)", "steps", "D loss", "G loss", "D(x)",
                            "D(G(z))"], rows)
    block += (f"\nMeans per epoch of losses.csv. For reference: a discriminator that "
              f"answers 0.5 for every image has loss 2 ln 2 = {2 * math.log(2):.3f}, and "
              f"the generator's loss is then ln 2 = {math.log(2):.3f}.\n")
    return numbers, {"reading_run": block}


SECTIONS = (batchnorm_modes, dead_units, dropout_scores, discriminator_wins,
            checkerboard_trained, reading_a_run)
