"""metrics.csv: sample quality measured while training (`train.py --eval_every=N`).

At the end of every N-th epoch the generator (its moving average when
--ema_decay is on) draws `eval_samples` images from the same seeded noise each
time, and `evaluation` measures them against the real reference, which is
loaded once per run. One row per measurement goes to metrics.csv (written
atomically, trimmed back to the checkpoint on resume like losses.csv) and the
values go to TensorBoard under quality/.
"""

import csv
import io
import logging
import math
import os

import numpy as np
import tensorflow as tf

from dcgan_tf import classifiers, evaluation, files, run_dir, sampling
from dcgan_tf.errors import InputError

logger = logging.getLogger(__name__)

FIELDS = ("epoch", "step", "frechet", "kid", "precision", "recall", "class_kl",
          "classes_covered")
_INTEGER_FIELDS = ("epoch", "step", "classes_covered")
_BATCH_SIZE = 500  # Noise vectors per generator call.


def check_supported(config):
    """Raises InputError if --eval_every is set for data without a feature network.

    Args:
        config: a resolved Config (image_size and channels known).
    """
    if not config.eval_every:
        return
    if config.dataset not in classifiers.DATASETS or config.image_shape != (28, 28, 1):
        raise InputError(
            f"--eval_every needs a feature network, which exists for "
            f"{' and '.join(classifiers.DATASETS)} at 28x28x1 only; this run is "
            f"{config.dataset} at {'x'.join(map(str, config.image_shape))}. "
            "Leave --eval_every at 0.")


def load_reference(config):
    """The real side of every measurement of this run (slow: call once per run)."""
    # A training --data_dir may be an .npz; the classifier splits need the IDX folder.
    data_dir = config.data_dir if os.path.isdir(config.data_dir) else ""
    logger.info("Loading the %s reference for --eval_every=%d (%d samples per measurement).",
                config.dataset, config.eval_every, config.eval_samples)
    return evaluation.load_reference(config.dataset, config.eval_samples, data_dir, config.seed)


def is_due(config, step, steps_per_epoch):
    """True at the end of every eval_every-th epoch."""
    return bool(config.eval_every and step and step % steps_per_epoch == 0
                and (step // steps_per_epoch) % config.eval_every == 0)


def record(config, generator, reference, rows, step, steps_per_epoch, writer):
    """Measures `generator` and appends a row to `rows` and metrics.csv.

    Args:
        config: the run's resolved Config.
        generator: keras.Model, noise [B, noise_dim] -> images [B, 28, 28, 1] in [-1, 1].
        reference: evaluation.Reference from load_reference.
        rows: the run's rows (list of dicts, see read_rows), extended in place.
        step: the step the generator has trained to, at an epoch end.
        steps_per_epoch: full batches per epoch.
        writer: TensorBoard summary writer.
    """
    noise = sampling.sample_noise(config.noise_dim, config.eval_samples, config.seed)
    images = np.concatenate([generator(noise[start:start + _BATCH_SIZE], training=False).numpy()
                             for start in range(0, len(noise), _BATCH_SIZE)])
    try:
        report = evaluation.evaluate_images(images, reference, config.seed)
    except InputError as e:  # Non-finite images: report it, keep training.
        logger.warning("Step %d: not measured: %s", step, e)
        return
    row = {"epoch": step // steps_per_epoch, "step": step,
           "frechet": report.frechet.value, "kid": report.kernel.value,
           "precision": report.precision_recall.precision,
           "recall": report.precision_recall.recall,
           "class_kl": report.coverage.kl_divergence,
           "classes_covered": report.coverage.classes_covered}
    rows.append(row)
    write_rows(run_dir.path(config, "metrics.csv"), rows)
    with writer.as_default():
        for name in FIELDS[2:]:
            tf.summary.scalar(f"quality/{name}", row[name], step=step)
    writer.flush()
    logger.info("Epoch %d: Fréchet %.3f (floor %.3f), KID %.5f, precision %.3f, recall %.3f, "
                "class KL %.4f, %d classes covered (%d samples).", row["epoch"],
                row["frechet"], reference.floor.frechet.value, row["kid"], row["precision"],
                row["recall"], row["class_kl"], row["classes_covered"], config.eval_samples)


def read_rows(path, up_to_step):
    """Rows of metrics.csv with step <= up_to_step, as a list of dicts (FIELDS keys).

    Rows past the checkpoint being resumed from are measured again after the
    restore, so they are dropped rather than duplicated.
    """
    if not os.path.exists(path):
        return []
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if tuple(reader.fieldnames or ()) != FIELDS:
            raise InputError(f"{path}: not a dcgan_tf metrics file (columns "
                             f"{reader.fieldnames}, expected {list(FIELDS)}).")
        rows = [{name: (int if name in _INTEGER_FIELDS else float)(row[name])
                 for name in FIELDS} for row in reader]
    return [row for row in rows if row["step"] <= up_to_step]


def write_rows(path, rows):
    """Writes the rows as CSV, atomically."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(FIELDS)
    for row in rows:
        writer.writerow([row[name] if name in _INTEGER_FIELDS or math.isnan(row[name])
                         else f"{row[name]:.6g}" for name in FIELDS])
    files.write_text(path, buffer.getvalue())
