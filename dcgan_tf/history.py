"""losses.csv: one row per training step, kept in step with the checkpoints."""

import csv
import io
import os

from dcgan_tf import files
from dcgan_tf.errors import InputError

FIELDS = ("step", "epoch", "generator_loss", "discriminator_loss", "real_score",
          "fake_score")


def read_history(path, up_to_step):
    """Rows of `path` with step <= up_to_step, as a dict of lists (FIELDS keys).

    Rows past the checkpoint being resumed from were trained again after the
    restore, so they are dropped rather than duplicated.
    """
    history = {field: [] for field in FIELDS}
    if not os.path.exists(path):
        return history
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if tuple(reader.fieldnames or ()) != FIELDS:
            raise InputError(f"{path}: not a dcgan_tf losses file (columns "
                             f"{reader.fieldnames}, expected {list(FIELDS)}).")
        for row in reader:
            if int(row["step"]) > up_to_step:
                break
            for field in FIELDS:
                cast = int if field in ("step", "epoch") else float
                history[field].append(cast(row[field]))
    return history


def write_history(path, history):
    """Writes the dict of lists from read_history as CSV, atomically."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(FIELDS)
    writer.writerows(zip(*(history[field] for field in FIELDS)))
    files.write_text(path, buffer.getvalue())
