"""Measures an exported generator: `python evaluate.py --model=runs/mnist/generator`.

Flags only: they build a `dcgan_tf.evaluation.EvalConfig` and hand it to
`dcgan_tf.evaluation.run`, then print its table. Each metric is shown beside its
real-vs-real floor and the sample counts; everything is also written as JSON.
"""

from absl import flags

from dcgan_tf import cli
from dcgan_tf.config import EVAL_DATASETS

USER_CHOSE_LOG_LEVEL = cli.quiet_native_logs()  # Before TensorFlow loads.

flags.DEFINE_string("model", None, "Exported generator (a SavedModel folder), e.g. "
                    "runs/mnist/generator.")
flags.DEFINE_string("dataset", "", f"{' or '.join(EVAL_DATASETS)}: the real images "
                    "and feature network to compare with. Default: the dataset in the run's "
                    "config.json next to --model.")
flags.DEFINE_integer("num", 10000, "Images to generate and measure; the real-vs-real floor "
                     "uses as many real training images where the split has them.")
flags.DEFINE_integer("seed", 0, "Seeds the noise, the floor's real subset and KID's subsets.")
flags.DEFINE_integer("batch_size", 256, "Noise vectors per generator call.")
flags.DEFINE_string("out", "", "JSON file for every value and count. Default: "
                    "metrics.json beside the model folder (<model>/../metrics.json).")
flags.DEFINE_string("data_dir", "", "Fashion-MNIST's IDX files (images and labels), if not "
                    "in /usr/share/datasets/fashion-mnist or Keras' cache.")
flags.mark_flag_as_required("model")

FLAGS = flags.FLAGS
SETTINGS = ("model", "dataset", "num", "seed", "batch_size", "out", "data_dir")


def main():
    cli.import_tensorflow(hide_start_up=not USER_CHOSE_LOG_LEVEL)
    from dcgan_tf import evaluation

    config = evaluation.EvalConfig(**{name: FLAGS[name].value for name in SETTINGS})
    report, reference, out = evaluation.run(config)
    print(evaluation.format_table(report, reference.floor))
    print(f"Wrote {out}")


if __name__ == "__main__":
    cli.run(main, FLAGS)
