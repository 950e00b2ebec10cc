"""Measures an exported generator: `python evaluate.py --model=runs/mnist/generator`.

MNIST and Fashion-MNIST runs are measured with shipped classifiers; runs on an
image folder (--dataset=folder) with a feature network trained on that folder
(dcgan_tf/folder_measure.py), at any image size. `--images=<folder>` measures a
folder of real images instead of a generator.

Flags only: they build a `dcgan_tf.evaluation.EvalConfig` and hand it to
`dcgan_tf.evaluation.run`, then print its table. Each metric is shown beside its
real-vs-real floor and the sample counts; everything is also written as JSON.
"""

from absl import flags

from dcgan_tf import cli
from dcgan_tf.config import EVAL_DATASETS

USER_CHOSE_LOG_LEVEL = cli.quiet_native_logs()  # Before TensorFlow loads.

flags.DEFINE_string("model", "", "Exported generator (a SavedModel folder), e.g. "
                    "runs/mnist/generator.")
flags.DEFINE_string("dataset", "", f"{', '.join(EVAL_DATASETS)} or folder: the real images "
                    "and feature network to compare with. Default: the dataset in the run's "
                    "config.json next to --model.")
flags.DEFINE_integer("num", 10000, "Images to generate and measure; the real-vs-real floor "
                     "uses as many real training images where the split has them.")
flags.DEFINE_integer("seed", 0, "Seeds the noise, the floor's real subset and KID's subsets.")
flags.DEFINE_integer("batch_size", 256, "Noise vectors per generator call.")
flags.DEFINE_string("out", "", "JSON file for every value and count. Default: "
                    "metrics.json beside the model folder (<model>/../metrics.json).")
flags.DEFINE_string("data_dir", "", "Fashion-MNIST's IDX files (images and labels), if not "
                    "in /usr/share/datasets/fashion-mnist or Keras' cache; for a folder run, "
                    "the image folder (default: the run's --data_dir).")
flags.DEFINE_string("features", "", "Folder runs: the feature network, 'classifier' "
                    "(trained on the folder's class subfolders) or 'random' (seeded, "
                    "untrained); '' = classifier when the folder has class subfolders.")
flags.DEFINE_string("images", "", "Measure this folder of real images instead of a "
                    "generator (with --dataset, --data_dir and --out), e.g. another artwork "
                    "of the same emoji against the training set.")
flags.DEFINE_integer("image_size", 64, "With --images: the side the images are read at.")

FLAGS = flags.FLAGS
SETTINGS = ("model", "dataset", "num", "seed", "batch_size", "out", "data_dir", "features",
            "images", "image_size")


def main():
    cli.import_tensorflow(hide_start_up=not USER_CHOSE_LOG_LEVEL)
    from dcgan_tf import evaluation

    config = evaluation.EvalConfig(**{name: FLAGS[name].value for name in SETTINGS})
    report, reference, out = evaluation.run(config)
    print(evaluation.format_table(report, reference.floor))
    print(f"Wrote {out}")


if __name__ == "__main__":
    cli.run(main, FLAGS)
