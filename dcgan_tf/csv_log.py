"""A run's CSV logs (losses.csv, metrics.csv): kept in step with the checkpoints.

Each log is read back on resume up to the checkpoint's step: rows past it were
trained (or measured) again after the restore, so they are dropped rather than
duplicated. Every write replaces the whole file atomically.
"""

import csv
import io
import math
import os

from dcgan_tf import files
from dcgan_tf.errors import InputError


class CsvLog:
    """Rows of one CSV file, in memory.

    Attributes:
        path: the CSV file.
        fields: its columns, in order; 'step' must be one of them.
        integer_fields: the columns read back as int (the others as float).
        float_format: how floats are written ('{:.6g}'); None = full precision.
        rows: list of dicts, one per row, keyed by `fields`.
    """

    def __init__(self, path, fields, integer_fields=("step", "epoch"), float_format=None,
                 kind="dcgan_tf log"):
        self.path = path
        self.fields = tuple(fields)
        self.integer_fields = tuple(integer_fields)
        self.float_format = float_format
        self.kind = kind
        self.rows = []

    def load(self, up_to_step):
        """Reads the file's rows with step <= up_to_step (none if it does not exist).

        Raises:
            InputError: the file's columns are not `fields`.
        """
        self.rows = []
        if not os.path.exists(self.path):
            return self
        with open(self.path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if tuple(reader.fieldnames or ()) != self.fields:
                raise InputError(f"{self.path}: not a {self.kind} (columns "
                                 f"{reader.fieldnames}, expected {list(self.fields)}).")
            for row in reader:
                parsed = {name: (int if name in self.integer_fields else float)(row[name])
                          for name in self.fields}
                if parsed["step"] <= up_to_step:
                    self.rows.append(parsed)
        return self

    def column(self, name):
        return [row[name] for row in self.rows]

    @property
    def last_step(self):
        return self.rows[-1]["step"] if self.rows else None

    def write(self):
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(self.fields)
        writer.writerows([self._format(name, row[name]) for name in self.fields]
                         for row in self.rows)
        files.write_text(self.path, buffer.getvalue())

    def _format(self, name, value):
        if (self.float_format is None or name in self.integer_fields
                or math.isnan(value)):
            return value
        return self.float_format.format(value)
