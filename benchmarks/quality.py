"""Sample quality per configuration at a fixed epoch budget: the evidence for the defaults.

    python benchmarks/quality.py --epochs=4 --num=2000

Trains each configuration below with `dcgan_tf.training.train` on the bundled
10,000-image MNIST sample (batch 256: 39 steps per epoch), in a fresh workdir
under a temporary folder, then measures its exported generator with
`dcgan_tf.evaluation` (`--num` images from seeded noise against the 2,000
held-out real images) and prints a markdown table: each metric's mean over seeds
with the per-seed values in brackets, the real-vs-real floor at the same counts,
and the training time. After every run it prints the table so far, so a cut-off
benchmark still reports what it finished.
"""

import dataclasses
import logging
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags  # noqa: E402
import numpy as np  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from dcgan_tf import config as config_lib  # noqa: E402
from dcgan_tf import cli, evaluation, export, sampling, training  # noqa: E402

flags.DEFINE_integer("epochs", 4, "Epochs per run (39 steps each on the MNIST sample).")
flags.DEFINE_integer("num", 2000, "Generated images per evaluation; the floor uses as many "
                     "real training images.")
flags.DEFINE_list("only", [], "Run only these configurations (names from the table).")
flags.DEFINE_string("workdir", "", "Where the runs go; default a fresh temporary folder.")
FLAGS = flags.FLAGS


@dataclasses.dataclass(frozen=True)
class Setup:
    name: str
    preset: str
    seeds: tuple
    overrides: dict = dataclasses.field(default_factory=dict)


# In order of importance: the must-have comparison first, so a cut-off run has it.
SETUPS = (
    Setup("tutorial", "tutorial", (0, 1)),
    Setup("dcgan", "dcgan", (0, 1)),
    # The speed levers must not cost quality: the step without XLA, as before it
    # became the default.
    Setup("dcgan --nojit_compile", "dcgan", (0, 1), dict(jit_compile=False)),
    Setup("dcgan + ema 0.999", "dcgan", (0,), dict(ema_decay=0.999)),
    Setup("dcgan + smoothing 0.1", "dcgan", (0,), dict(label_smoothing=0.1)),
    Setup("dcgan + hinge", "dcgan", (0,), dict(loss="hinge")),
    Setup("dcgan + least_squares", "dcgan", (0,), dict(loss="least_squares")),
)

COLUMNS = (  # (heading, value from an evaluation.Report, format)
    ("Fréchet ↓", lambda r: r.frechet.value, "{:.2f}"),
    ("KID ↓", lambda r: r.kernel.value, "{:.4f}"),
    ("precision ↑", lambda r: r.precision_recall.precision, "{:.3f}"),
    ("recall ↑", lambda r: r.precision_recall.recall, "{:.3f}"),
    ("class KL ↓", lambda r: r.coverage.kl_divergence, "{:.3f}"),
    ("classes ≥2% ↑", lambda r: r.coverage.classes_covered, "{:.1f}"),
)


def run_setup(setup, seed, root, reference):
    """Trains one configuration and seed; returns (Report, training seconds)."""
    workdir = os.path.join(root, f"{setup.name.replace(' ', '').replace('+', '_')}_s{seed}")
    config = config_lib.preset(setup.preset, workdir=workdir, epochs=FLAGS.epochs, seed=seed,
                               download=False, **setup.overrides)
    start = time.time()
    training.train(config)
    seconds = time.time() - start
    loaded = export.load_generator(os.path.join(workdir, "generator"))
    images = sampling.sample(loaded, FLAGS.num, seed=0)
    return evaluation.evaluate_images(images, reference), seconds


def cell(values, fmt):
    if len(values) == 1:
        return fmt.format(values[0])
    inner = ", ".join(fmt.format(v) for v in values)
    return f"{fmt.format(float(np.mean(values)))} ({inner})"


def table(results, reference):
    heading = ["configuration", "seeds", *(c[0] for c in COLUMNS), "train s/run"]
    lines = ["| " + " | ".join(heading) + " |", "|" + " --- |" * len(heading)]
    for name, runs in results.items():
        seeds = ", ".join(str(seed) for seed, _, _ in runs)
        cells = [cell([get(report) for _, report, _ in runs], fmt) for _, get, fmt in COLUMNS]
        seconds = float(np.mean([s for _, _, s in runs]))
        lines.append(f"| {name} | {seeds} | " + " | ".join(cells) + f" | {seconds:.0f} |")
    floor = [fmt.format(get(reference.floor)) for _, get, fmt in COLUMNS]
    lines.append("| real vs real (floor) | | " + " | ".join(floor) + " | |")
    return "\n".join(lines)


def main(argv):
    del argv
    cli.show_only_our_info_logs()
    logging.getLogger("dcgan_tf").setLevel(logging.WARNING)
    began = time.time()
    root = FLAGS.workdir or tempfile.mkdtemp(prefix="dcgan_quality_")
    setups = [s for s in SETUPS if not FLAGS.only or s.name in FLAGS.only]
    reference = evaluation.load_reference("mnist", FLAGS.num, seed=0)
    print(f"Runs in {root}; {FLAGS.epochs} epochs each on the bundled MNIST sample (10,000 "
          f"images, batch 256); {FLAGS.num} generated images vs "
          f"{len(reference.features)} real test images per evaluation.", flush=True)
    results = {}
    for setup in setups:
        for seed in setup.seeds:
            report, seconds = run_setup(setup, seed, root, reference)
            results.setdefault(setup.name, []).append((seed, report, seconds))
            print(f"\n[{time.time() - began:.0f} s] {setup.name}, seed {seed} done "
                  f"({seconds:.0f} s training):\n{table(results, reference)}", flush=True)
    print(f"\nFinal table ({FLAGS.epochs} epochs, {FLAGS.num} samples; per-seed values in "
          f"brackets):\n\n{table(results, reference)}\n\nWall time: "
          f"{time.time() - began:.0f} s", flush=True)


if __name__ == "__main__":
    app.run(main)
