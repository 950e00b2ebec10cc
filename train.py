"""Trains a DCGAN: `python train.py --dataset=mnist`.

Flags only: they build a `dcgan_tf.config.Config` and hand it to
`dcgan_tf.training.train`. A second run with the same --workdir resumes.
"""

import os
import signal
import sys

# Until training starts there is nothing to save, so Ctrl-C leaves at once and
# quietly, not with a traceback from whichever import it interrupted (or not at
# all, when a library's bare `except:` swallows the KeyboardInterrupt). The
# training loop installs its own handler, which saves first.
signal.signal(signal.SIGINT, lambda number, frame: os._exit(128 + number))
from absl import flags, logging  # noqa: E402

# No TensorFlow yet: --help and a mistyped flag answer at once; main() imports it.
from dcgan_tf import cli  # noqa: E402
from dcgan_tf import config as config_lib  # noqa: E402
from dcgan_tf import config_flags  # noqa: E402
from dcgan_tf.interrupts import TrainingInterrupted  # noqa: E402

USER_CHOSE_LOG_LEVEL = cli.quiet_native_logs()  # Before TensorFlow loads.

# Every setting is a Config field; its flag, with the field's help text, is made
# here. Each flag is unset (None) unless given, so the preset decides the rest.
for spec in config_flags.flag_specs():
    text = f"{spec.help} Default: {spec.default_text.replace('`', '')}."
    if spec.kind == "enum":
        flags.DEFINE_enum(spec.name, None, [str(c) for c in spec.choices], text)
    else:
        getattr(flags, f"DEFINE_{spec.kind}")(spec.name, None, text)
flags.DEFINE_enum("preset", None, list(config_lib.PRESETS), " ".join(
    f"'{name}': {source}" for name, source in config_lib.PRESET_SOURCES.items())
    + " Flags override it. Default: colour with --dataset=folder, else dcgan.")
flags.DEFINE_bool("overwrite", False, "Discard the run already in --workdir (its checkpoints, "
                  "samples, logs and generator) and start from step 0.")

FLAGS = flags.FLAGS


def config_from_flags():
    values = {spec.name: FLAGS[spec.name].value for spec in config_flags.flag_specs()}
    return config_flags.from_flag_values(FLAGS.preset, values)


def main():
    config = config_from_flags()
    cli.import_tensorflow(hide_start_up=not USER_CHOSE_LOG_LEVEL)  # Seconds.
    import tensorflow as tf

    from dcgan_tf import distribute, training

    # Grappler's remapper tries to fuse D's Conv2D, BiasAdd and LeakyReLU, whose gradient
    # needs the BiasAdd output unfused; it then abandons its rewrite of the whole train
    # step with an ERROR line in the progress bar (TensorFlow 2.21) and leaves the graph as
    # it was. Off for this process, the step is the same graph without the line: the same
    # losses at the same speed (measured). Code that calls dcgan_tf.loop.run itself keeps
    # TensorFlow's setting (and sees the line).
    tf.config.optimizer.set_experimental_options({"remapping": False})

    try:
        training.train(config, overwrite=FLAGS.overwrite)
    except TrainingInterrupted as e:
        logging.warning("Training %s; everything is saved. To resume, run the same "
                        "command again:\n  %s", e, cli.resume_command(sys.argv))
        sys.exit(e.exit_status)
    except training.TrainingDiverged as e:
        logging.error("Training diverged: %s", e)
        sys.exit(cli.DIVERGED_STATUS)
    except distribute.WorkerLost as e:
        logging.error("Training stopped: %s", e)
        sys.exit(cli.WORKER_LOST_STATUS)


if __name__ == "__main__":
    cli.run(main, FLAGS)
