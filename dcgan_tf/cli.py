"""What every command-line tool shares: exit statuses, error messages, log levels.

The tools (train.py, generate.py, evaluate.py, scripts/) define their absl flags
and a `main()`; `cli.run(main, FLAGS)` runs it so that:
  - a bad flag value or a stray argument prints one message and exits 2;
  - an InputError (bad data, model or run directory) prints its message, with no
    traceback, and exits 2;
  - a full or read-only disk mid-run prints which file could not be written and
    exits 4 (what was saved before stays intact);
  - INFO lines come from dcgan_tf only, not from TensorFlow's internals;
  - TensorFlow's C++ start-up lines (oneDNN, CUDA probing on a machine without a
    GPU, absl's notice before its logging starts) are hidden, unless the user set
    TF_CPP_MIN_LOG_LEVEL or asked for --verbosity=1 or more.
"""

import contextlib
import errno
import logging
import os
import re
import shlex
import sys
import tempfile

from absl import app
from absl import logging as absl_logging

from dcgan_tf.errors import InputError

# Exit statuses of the tools, all here (the README lists them): 0 done, 128 + the
# signal's number after a Ctrl-C (130) or SIGTERM (143) that saved everything.
INPUT_ERROR_STATUS = 2
DIVERGED_STATUS = 3  # train.py: a non-finite step under --nan_policy=stop.
WRITE_ERROR_STATUS = 4
WORKER_LOST_STATUS = 5  # train.py: another worker of a multi-worker run stopped answering.
# A disk that fills up or turns read-only mid-run: the run stops, nothing is lost.
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}
_WRITE_MESSAGES = ("No space left on device", "Read-only file system", "Disk quota exceeded")


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
        except Exception as e:  # OSError, or TensorFlow's own error for a checkpoint write.
            problem = write_failure(e)
            if problem is None:
                raise
            absl_logging.error(
                "%s. Stopped: every file is written to a temporary name and renamed only "
                "when complete, so what was saved before (the last checkpoint included) is "
                "intact. Make room (or make the folder writable) and run the same command "
                "again to continue.", problem)
            sys.exit(WRITE_ERROR_STATUS)

    app.run(run_main, flags_parser=parse)


def write_failure(error):
    """'Cannot write PATH: REASON' when `error` is a full or read-only disk, else None."""
    if isinstance(error, OSError) and error.errno in _WRITE_ERRNOS:
        return f"Cannot write {error.filename or 'a file'}: {error.strerror}"
    message = str(error)
    if type(error).__module__.startswith("tensorflow") and any(
            text in message for text in _WRITE_MESSAGES):
        return f"Cannot write: {message.strip().splitlines()[0][:300]}"
    return None


def show_only_our_info_logs():
    """Keeps INFO lines from dcgan_tf and only warnings and errors from the rest.

    TensorFlow logs routine INFO lines (checkpoint sharding, SavedModel assets)
    through absl and through its own 'tensorflow' logger; between them they bury
    the progress bar and the run's own messages.
    """
    absl_logging.set_verbosity(absl_logging.WARNING)
    logging.getLogger("tensorflow").setLevel(logging.WARNING)
    logging.getLogger("dcgan_tf").setLevel(logging.INFO)


# A line of TensorFlow's C++ logging (absl's format), or absl's notice that logging
# has not started yet. TF_CPP_MIN_LOG_LEVEL does not reach either at start-up.
# LiteRT's interpreter says which delegate it uses in a line of its own.
_NATIVE_LOG = re.compile(r"^(WARNING: All log messages before absl::InitializeLog\(\)"
                         r"|[IWE]\d{4} [\d:.]+ +\d+ [\w.]+:\d+\] "
                         r"|INFO: Created TensorFlow Lite \w+ delegate)")


def quiet_native_logs():
    """Sets TensorFlow's C++ log level before TensorFlow loads: warnings and up
    only, or what the user set in TF_CPP_MIN_LOG_LEVEL. Returns whether the user
    chose a level (then nothing is hidden)."""
    chosen = "TF_CPP_MIN_LOG_LEVEL" in os.environ
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return chosen


# Every spelling absl accepts for --overwrite: --overwrite, -overwrite,
# --overwrite=true/1/yes..., and --nooverwrite (harmless, but dropped too).
_OVERWRITE = re.compile(r"--?(no)?overwrite(=.*)?")


def resume_command(argv):
    """The command that continues an interrupted run: `argv` without any
    --overwrite (which would wipe what was just saved), quoted for a shell."""
    return shlex.join(["python"] + [arg for arg in argv if not _OVERWRITE.fullmatch(arg)])


def import_tensorflow(hide_start_up=True):
    """Imports TensorFlow and looks for GPUs, its C++ start-up lines hidden (see
    native_start_up_hidden); later imports of TensorFlow are then silent.

    Returns:
        The names of the GPUs found ([] on a CPU-only machine).
    """
    with native_start_up_hidden(hide_start_up):
        import tensorflow as tf  # Late on purpose: after the flags are read.
        gpus = tf.config.list_physical_devices("GPU")
    return [gpu.name for gpu in gpus]


@contextlib.contextmanager
def native_start_up_hidden(hide=True):
    """Hides the C++ log lines that importing TensorFlow writes to stderr.

    File descriptor 2 is pointed at a temporary file while the block runs (C++
    writes there, not to sys.stderr); afterwards every captured line that is not
    a C++ log line (a Python warning, a traceback) is written to stderr again.
    """
    if not hide or absl_logging.get_verbosity() >= absl_logging.DEBUG:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = [line for line in capture.read().decode("utf-8", "replace").splitlines()
                    if not _NATIVE_LOG.match(line)]
            if kept:
                sys.stderr.write("\n".join(kept) + "\n")
