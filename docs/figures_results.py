"""The trained results the tutorial shows, made from real run directories.

    python train.py --dataset=mnist --eval_every=10 --workdir=runs/main       # 50 epochs
    python train.py --dataset=mnist --epochs=10 --batch_size=256 --ema_decay=0 \
        --upsample=transpose --dropout_rate=0.3 --workdir=runs/b256
    python train.py --dataset=mnist --epochs=10 --workdir=runs/e10
    python docs/figures_results.py --main_run=runs/main --collapse_run=runs/b256 \
        --collapse_reference=runs/e10

Each flag names a run directory (what train.py leaves) and turns on the figures
made from it; a flag left empty skips them. Written to docs/figures/ (small
PNGs) with a .md table each, copied into the pages' `<!-- figures.py: NAME -->`
blocks like docs/figures.py does:

  gallery.png, gallery.md          Q15  frames after 1, 5, 10, 25, 50 epochs, Fréchet curve
  collapse.png, collapse.md        Q15  a run that lost classes beside --main_run: grids
                                        and the classifier's histogram of 1,000 samples
  latent_walk.png                  Q16  one slerp walk between two noise vectors
  arithmetic.png, arithmetic.md    Q16  mean noise vectors of thin and thick digits, added
  fashion.png, fashion.md          Q7   --fashion_runs (two runs): samples and spectra

Generation and classification use the exported generator (generator/) and the
package's shipped MNIST classifier; nothing is trained here.
"""

import csv
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import flags  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from dcgan_tf import classifiers, cli, export, sampling, spectrum, visualize  # noqa: E402
from figures_common import fill_pages, markdown_table, save_figure  # noqa: E402

DOCS_DIR = os.path.dirname(os.path.abspath(__file__))
flags.DEFINE_string("main_run", "", "A 50-epoch run of the default command (with --eval_every).")
flags.DEFINE_string("collapse_run", "", "A run that covers few classes, to set beside it.")
flags.DEFINE_string("collapse_label", "", "How the collapse run was made, for the figure.")
flags.DEFINE_string("collapse_reference", "", "The run to set beside it (same epochs, the "
                    "defaults); empty = --main_run.")
flags.DEFINE_string("collapse_reference_label", "the defaults", "Its label.")
flags.DEFINE_list("fashion_runs", [], "Two Fashion-MNIST runs: the stripes case, then the fix.")
flags.DEFINE_list("fashion_labels", [], "Their labels, for the figure.")
flags.DEFINE_string("out_dir", os.path.join(DOCS_DIR, "figures"), "Where figures go.")
flags.DEFINE_string("docs_dir", os.path.join(DOCS_DIR, "tutorial"), "Pages to fill.")
flags.DEFINE_integer("seed", 0, "Seeds the noise.")
FLAGS = flags.FLAGS

GALLERY_EPOCHS = (1, 5, 10, 25, 50)
SAMPLES = 1000


def _frame(run, epoch):
    return visualize.read_png(os.path.join(run, "samples", f"epoch_{epoch:04d}.png"))


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def gallery(run):
    """The fixed-noise frames at GALLERY_EPOCHS and the Fréchet distance along the run."""
    epochs_shown = [epoch for epoch in GALLERY_EPOCHS
                    if os.path.exists(os.path.join(run, "samples", f"epoch_{epoch:04d}.png"))]
    figure, axes = plt.subplots(1, len(epochs_shown) + 2, figsize=(17, 2.9), gridspec_kw={
        "width_ratios": [1] * len(epochs_shown) + [1.6, 1.6]})
    for ax, epoch in zip(axes, epochs_shown):
        ax.imshow(_frame(run, epoch), cmap="gray")
        ax.set_title(f"epoch {epoch}")
        ax.axis("off")
    quality = _rows(os.path.join(run, "metrics.csv"))
    epochs = [int(row["epoch"]) for row in quality]
    axes[-1].plot(epochs, [float(row["frechet"]) for row in quality], "o-")
    axes[-1].set(xlabel="epoch", ylabel="Fréchet distance (2,000 samples)", yscale="log",
                 title="lower is better")
    losses = _rows(os.path.join(run, "losses.csv"))
    steps_per_epoch = int(losses[-1]["step"]) // int(losses[-1]["epoch"])
    for name, label in (("generator_loss", "G loss"), ("discriminator_loss", "D loss")):
        values = np.array([float(row[name]) for row in losses])
        per_epoch = values[:len(values) // steps_per_epoch * steps_per_epoch].reshape(
            -1, steps_per_epoch).mean(axis=1)
        axes[-2].plot(np.arange(1, len(per_epoch) + 1), per_epoch, label=label)
    axes[-2].set(xlabel="epoch", ylabel="mean loss over the epoch", title="the losses")
    axes[-2].legend(fontsize=8)
    save_figure(figure, FLAGS.out_dir, "gallery.png")
    table = markdown_table(
        ["epoch", "steps", "Fréchet distance", "recall", "classes at 2% or more"],
        [[row["epoch"], row["step"], f"{float(row['frechet']):.1f}",
          f"{float(row['recall']):.2f}", row["classes_covered"]] for row in quality])
    return (f"{steps_per_epoch} steps per epoch; measured by the run itself (`--eval_every`, "
            f"2,000 samples each time):\n\n{table}")


def _class_histogram(run, feature_net):
    loaded = export.load_generator(os.path.join(run, "generator"))
    images = sampling.sample(loaded, SAMPLES, FLAGS.seed)
    _, logits = classifiers.extract(feature_net, images)
    counts = np.bincount(np.argmax(logits, axis=1), minlength=10)
    return images, counts / counts.sum()


def collapse(runs):
    """Samples and class histograms of (label, run) pairs, side by side."""
    feature_net = classifiers.load_feature_net("mnist")
    measured = [(name, *_class_histogram(run, feature_net)) for name, run in runs]
    top = max(fractions.max() for _, _, fractions in measured) * 1.1
    figure, axes = plt.subplots(2, len(runs), figsize=(4 * len(runs), 7.2),
                                gridspec_kw={"height_ratios": [2, 1]})
    rows = []
    for column, (name, images, fractions) in enumerate(measured):
        axes[0, column].imshow(visualize.image_grid(images[:36]), cmap="gray")
        axes[0, column].set_title(name)
        axes[0, column].axis("off")
        axes[1, column].bar(range(10), fractions)
        axes[1, column].axhline(0.1, color="0.5", linestyle="--", linewidth=1)
        axes[1, column].set(xticks=range(10), ylim=(0, top),
                            xlabel="digit the classifier sees", ylabel="share of 1,000 samples")
        rows.append([name] + [f"{f:.0%}" for f in fractions])
    save_figure(figure, FLAGS.out_dir, "collapse.png")
    return markdown_table(["run"] + [str(d) for d in range(10)], rows)


def latent_walk(run):
    """Eight frames of a great-circle walk between two noise vectors."""
    loaded = export.load_generator(os.path.join(run, "generator"))
    start, end = sampling.sample_noise(loaded.noise_dim, 2, FLAGS.seed + 1)
    noise = sampling.slerp(start, end, np.linspace(0, 1, 8)[:, None])
    images = sampling.generate_images(loaded, noise)
    save_figure_images(images, "latent_walk.png", columns=8)


def save_figure_images(images, name, columns):
    """`images` (float [N, H, W, C] in [-1, 1]) in rows of `columns`, as a small PNG."""
    pixels = visualize.to_uint8(images)[..., 0]
    pixels = np.pad(pixels, ((0, 0), (1, 1), (1, 1)))
    rows = pixels.reshape(-1, columns, *pixels.shape[1:])
    tiled = np.concatenate([np.concatenate(list(row), axis=1) for row in rows], axis=0)
    figure, axes = plt.subplots(1, 1, figsize=(columns * 1.0, len(rows) * 1.0))
    axes.imshow(tiled, cmap="gray", interpolation="nearest")
    axes.axis("off")
    save_figure(figure, FLAGS.out_dir, name)


def arithmetic(run):
    """Mean noise of thin and thick digits, combined as in the DCGAN paper's figure 7.

    Thickness is the share of inked pixels (above mid-grey); the classifier
    labels each sample. z(thick A) - z(thin A) + z(thin B) should give a thick B.
    """
    loaded = export.load_generator(os.path.join(run, "generator"))
    feature_net = classifiers.load_feature_net("mnist")
    noise = sampling.sample_noise(loaded.noise_dim, 4000, FLAGS.seed + 2)
    images = sampling.generate_images(loaded, noise)
    _, logits = classifiers.extract(feature_net, images)
    labels = np.argmax(logits, axis=1)
    ink = (images > 0).mean(axis=(1, 2, 3))

    def mean_noise(digit, thick):
        chosen = np.flatnonzero(labels == digit)
        order = chosen[np.argsort(ink[chosen])]
        return noise[order[-8:] if thick else order[:8]].mean(axis=0)

    rows, pictures = [], []
    for source, target in ((1, 7), (0, 6), (1, 4)):
        if min(np.sum(labels == source), np.sum(labels == target)) < 16:
            rows.append([f"thick {source} - thin {source} + thin {target}", "", "",
                         "too few samples of these digits"])
            continue
        result = (mean_noise(source, thick=True) - mean_noise(source, thick=False)
                  + mean_noise(target, thick=False))
        thick_source, thin_source = mean_noise(source, True), mean_noise(source, False)
        thin_target = mean_noise(target, thick=False)
        # Averages of Gaussian vectors are short; scale back to a typical norm.
        vectors = [v / np.linalg.norm(v) * np.sqrt(loaded.noise_dim)
                   for v in (thick_source, thin_source, thin_target, result)]
        made = sampling.generate_images(loaded, np.stack(vectors))
        _, made_logits = classifiers.extract(feature_net, made)
        made_ink = (made > 0).mean(axis=(1, 2, 3))
        pictures.append(made)
        rows.append([f"thick {source} - thin {source} + thin {target}",
                     f"{made_ink[2]:.1%}", f"{made_ink[3]:.1%}",
                     str(int(np.argmax(made_logits[3])))])
    if pictures:
        save_figure_images(np.concatenate(pictures), "arithmetic.png", columns=4)
    return markdown_table(["vectors", "ink of thin target", "ink of the result",
                           "classifier's digit for the result"], rows)


def fashion(runs, labels):
    """1,000 samples of each run: a grid, the mean power spectrum, the stripe measure."""
    figure, axes = plt.subplots(2, len(runs), figsize=(4.2 * len(runs), 8), squeeze=False)
    spectra, rows = [], []
    for column, (run, label) in enumerate(zip(runs, labels)):
        loaded = export.load_generator(os.path.join(run, "generator"))
        images = sampling.sample(loaded, SAMPLES, FLAGS.seed)
        gray = images.mean(axis=-1)
        power = spectrum.mean_power_spectrum(gray - gray.mean(axis=(1, 2), keepdims=True))
        spectra.append(np.log10(np.fft.fftshift(power) + 1e-12))
        axes[0, column].imshow(visualize.image_grid(images[:36]), cmap="gray")
        axes[0, column].set_title(label)
        axes[0, column].axis("off")
        rows.append([label, f"{spectrum.checkerboard_ratio(images):.1f}"])
    low, high = min(s.min() for s in spectra), max(s.max() for s in spectra)
    for column, log_power in enumerate(spectra):
        shown = axes[1, column].imshow(log_power, cmap="magma", vmin=low, vmax=high)
        axes[1, column].set_title("mean power spectrum (log10)")
        axes[1, column].axis("off")
    figure.colorbar(shown, ax=axes[1, :].tolist(), shrink=0.8)
    save_figure(figure, FLAGS.out_dir, "fashion.png", tight=False)
    return markdown_table(["run", "checkerboard ratio (1,000 samples)"], rows)


def main():
    blocks = {}
    if FLAGS.main_run:
        blocks["gallery"] = gallery(FLAGS.main_run)
        latent_walk(FLAGS.main_run)
        blocks["arithmetic"] = arithmetic(FLAGS.main_run)
        if FLAGS.collapse_run:
            blocks["collapse"] = collapse([
                (FLAGS.collapse_label or FLAGS.collapse_run, FLAGS.collapse_run),
                (FLAGS.collapse_reference_label, FLAGS.collapse_reference or FLAGS.main_run)])
    if FLAGS.fashion_runs:
        blocks["fashion"] = fashion(FLAGS.fashion_runs, FLAGS.fashion_labels
                                    or FLAGS.fashion_runs)
    for name, text in blocks.items():
        with open(os.path.join(FLAGS.out_dir, f"{name}.md"), "w") as f:
            f.write(text)
    if FLAGS.docs_dir:
        fill_pages(FLAGS.docs_dir, blocks)
    print("\n\n".join(f"{name}:\n{text}" for name, text in blocks.items()))


if __name__ == "__main__":
    cli.run(main, flags.FLAGS)
