"""Measures an exported generator: `python evaluate.py --model=runs/mnist/generator`.

MNIST and Fashion-MNIST runs are measured with shipped classifiers; runs on an
image folder (--dataset=folder) with a feature network trained on that folder
(dcgan_tf/folder_measure.py), at any image size. `--images=<folder>` measures a
folder of real images instead of a generator.

Flags only: they build a `dcgan_tf.tool_settings.EvalConfig` and hand it to
`dcgan_tf.evaluation.run`, then print its table. Each metric is shown beside its
real-vs-real floor and the sample counts; everything is also written as JSON.
"""

from absl import flags

from dcgan_tf import cli, settings
from dcgan_tf.tool_settings import EvalConfig

USER_CHOSE_LOG_LEVEL = cli.quiet_native_logs()  # Before TensorFlow loads.

settings.define_flags(EvalConfig)
FLAGS = flags.FLAGS


def main():
    cli.import_tensorflow(hide_start_up=not USER_CHOSE_LOG_LEVEL)
    from dcgan_tf import evaluation

    config = settings.from_flags(EvalConfig)
    report, reference, out = evaluation.run(config)
    print(evaluation.format_table(report, reference.floor, reference.class_names))
    print(f"Wrote {out}")


if __name__ == "__main__":
    cli.run(main, FLAGS)
