"""A run's CSV logs (losses.csv, metrics.csv): kept in step with the checkpoints.

Each log is read back on resume up to the checkpoint's step: rows past it were
trained (or measured) again after the restore, so they are dropped rather than
duplicated. Every write replaces the whole file atomically. A log that cannot be
read back (emptied by a crash, edited, or written with other columns) does not
stop the run: it is kept beside as `<name>.damaged`, its readable rows are kept,
and the log goes on from the checkpoint.
"""

import csv
import io
import logging
import math
import os

from dcgan_tf import files

logger = logging.getLogger(__name__)


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

        A file that is not such a log from its first line, or that has a row
        that does not parse, is moved to `<path>.damaged` with a warning; the rows
        before the damage are kept.
        """
        self.rows = []
        if not os.path.exists(self.path):
            return self
        problem = None
        try:
            with open(self.path, newline="", encoding="utf-8") as f:
                reader = csv.DictReader(f)
                if tuple(reader.fieldnames or ()) != self.fields:
                    problem = (f"columns {reader.fieldnames}, expected {list(self.fields)}")
                else:
                    for row in reader:
                        parsed = self._parse(row)
                        if parsed["step"] <= up_to_step:
                            self.rows.append(parsed)
        except (OSError, UnicodeDecodeError, ValueError, TypeError, csv.Error) as e:
            problem = f"line {len(self.rows) + 2}: {type(e).__name__}: {e}"
        if problem:
            os.replace(self.path, self.path + ".damaged")
            logger.warning("%s is not a readable %s (%s). It is kept as %s; %d rows up to the "
                           "checkpoint were read from it and the log goes on from there.",
                           self.path, self.kind, problem, self.path + ".damaged",
                           len(self.rows))
        return self

    def _parse(self, row):
        if None in row or None in row.values():  # Too many or too few fields.
            raise ValueError(f"{len(row)} fields, expected {len(self.fields)}")
        return {name: (int if name in self.integer_fields else float)(row[name])
                for name in self.fields}

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
