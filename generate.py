"""Samples an exported generator: `python generate.py --model=runs/mnist/generator
--out=grid.png`.

Flags only: they build a `dcgan_tf.tool_settings.SamplingConfig` and hand it to
`dcgan_tf.sampling.run`. Only the SavedModel is needed, not the run's checkpoints.
"""

from absl import flags

from dcgan_tf import cli, settings
from dcgan_tf.tool_settings import SamplingConfig

USER_CHOSE_LOG_LEVEL = cli.quiet_native_logs()  # Before TensorFlow loads.

settings.define_flags(SamplingConfig, required=("model", "out"))
FLAGS = flags.FLAGS


def main():
    cli.import_tensorflow(hide_start_up=not USER_CHOSE_LOG_LEVEL)
    from dcgan_tf import sampling

    sampling.run(settings.from_flags(SamplingConfig))


if __name__ == "__main__":
    cli.run(main, FLAGS)
