"""What every command-line tool shares: exit statuses, error messages, log levels.

The tools (train.py, generate.py, evaluate.py, scripts/) define their absl flags
and a `main()`; `cli.run(main, FLAGS)` runs it so that:
  - a bad flag value or a stray argument prints one message and exits 2;
  - an InputError (bad data, model or run directory) prints its message, with no
    traceback, and exits 2;
  - INFO lines come from dcgan_tf only, not from TensorFlow's internals.
"""

import logging
import sys

from absl import app
from absl import logging as absl_logging

from dcgan_tf.errors import InputError

INPUT_ERROR_STATUS = 2


def run(main, flag_values):
    """Parses flags into `flag_values` and calls main() with the conventions above."""

    def parse(argv):
        try:
            return flag_values(argv)
        except Exception as e:  # Parsing raises only absl.flags.Error and its subclasses.
            print(f"{argv[0]}: {e}\nPass --help to list the flags.", file=sys.stderr)
            sys.exit(INPUT_ERROR_STATUS)

    def run_main(argv):
        if len(argv) > 1:
            raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}",
                                 exitcode=INPUT_ERROR_STATUS)
        show_only_our_info_logs()
        try:
            main()
        except InputError as e:
            absl_logging.error("%s", e)
            sys.exit(INPUT_ERROR_STATUS)

    app.run(run_main, flags_parser=parse)


def show_only_our_info_logs():
    """Keeps INFO lines from dcgan_tf and only warnings and errors from the rest.

    TensorFlow logs routine INFO lines (checkpoint sharding, SavedModel assets)
    through absl and through its own 'tensorflow' logger; between them they bury
    the progress bar and the run's own messages.
    """
    absl_logging.set_verbosity(absl_logging.WARNING)
    logging.getLogger("tensorflow").setLevel(logging.WARNING)
    logging.getLogger("dcgan_tf").setLevel(logging.INFO)
