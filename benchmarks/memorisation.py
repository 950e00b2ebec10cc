"""Does the discriminator learn 1,000 training digits by heart within the budget?

    python benchmarks/memorisation.py            # trains once, then measures
    python benchmarks/memorisation.py --report   # fills docs/results.md's block

Augmentation (DiffAugment, `--augment`) exists to stop a discriminator that has
memorised a small training set. This trains the `mnist1000: default` row of
benchmarks/small_data.py again (1,000 digits of the bundled sample repeated to
10,000, 10 epochs, 3,120 steps, float32 as that row ran) and scores, with the
exported discriminator, the 1,000 digits it trained on and 1,000 digits of the
sample it never saw: a discriminator that memorised its set scores the first far
higher. The result is stored in benchmarks/results/small_data/memorisation.json.
"""

import json
import os
import subprocess
import sys
import time

import numpy as np
from absl import flags

from dcgan_tf import cli
from dcgan_tf.devices import cpu_name
from dcgan_tf.doc_blocks import fill_block
from quality import REPO  # Beside this file.
from runner import write_json
from small_data import MNIST_REPEATED_TO, RESULTS, mnist_subset

RESULT = os.path.join(RESULTS, "memorisation.json")
COUNT = 1000
SEED = 0

def measure(runs_dir):
    data_path = mnist_subset(COUNT, runs_dir)
    workdir = os.path.join(runs_dir, "memorisation", f"seed{SEED}")
    command = ["train.py", "--nodownload", f"--workdir={workdir}", f"--seed={SEED}",
               "--dataset=mnist", f"--data_dir={data_path}", "--epochs=10", "--precision=float32"]
    subprocess.run([sys.executable, *command], cwd=REPO, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import tensorflow as tf

    from dcgan_tf import data, readers

    images = readers.read_idx_images(
        os.path.join(data.BUNDLED_MNIST_DIR, "t10k-images-idx3-ubyte.gz"))
    chosen = np.sort(np.random.default_rng(0).choice(len(images), COUNT, replace=False))
    unseen = np.setdiff1d(np.arange(len(images)), chosen)[:COUNT]
    discriminator = tf.saved_model.load(os.path.join(workdir, "discriminator"))

    def scores(indices):
        logits = discriminator.serve(data.normalize(images[indices]))
        return tf.sigmoid(tf.reshape(logits, [-1])).numpy()

    seen, fresh = scores(chosen), scores(unseen)
    result = dict(command="python " + " ".join(command).replace(workdir, "WORKDIR").replace(
        REPO + os.sep, ""), count=COUNT, repeated_to=MNIST_REPEATED_TO,
        seen_mean=float(seen.mean()), unseen_mean=float(fresh.mean()),
        # How often a seen digit outscores an unseen one (0.5: no memorising).
        seen_above_unseen=float((seen[:, None] > fresh[None, :]).mean()),
        cpu=cpu_name(), date=time.strftime("%Y-%m-%d"))
    write_json(RESULT, result)
    return result


def text(result):
    return (f"`{result['command']}` ({result['count']:,} digits repeated to "
            f"{result['repeated_to']:,}, 10 epochs), then its exported discriminator on the "
            f"{result['count']:,} digits it trained on and {result['count']:,} digits of the "
            f"sample it never saw: mean D(x) {result['seen_mean']:.3f} against "
            f"{result['unseen_mean']:.3f}; a trained-on digit outscores an unseen one in "
            f"{result['seen_above_unseen']:.1%} of pairs (50% = no memorising). Measured on "
            f"{result['date']}, {result['cpu']}.\n")


def define_flags():
    """The command line (absl, as every tool of the package; see dcgan_tf.cli)."""
    flags.DEFINE_string("runs_dir", os.path.join(REPO, "benchmarks", "runs", "small_data"),
                        "Where the run directory goes (not committed).")
    flags.DEFINE_bool("report", False, "Fill docs/results.md's block from the stored result.")


def main():
    if not flags.FLAGS.report:
        measure(flags.FLAGS.runs_dir)
    with open(RESULT, encoding="utf-8") as f:
        shown = text(json.load(f))
    fill_block(os.path.join(REPO, "docs", "results.md"), "memorisation", shown,
               "memorisation.py")
    print(shown)


if __name__ == "__main__":
    define_flags()
    cli.run(main, flags.FLAGS)
