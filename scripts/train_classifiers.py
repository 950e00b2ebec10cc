"""Trains the feature networks the metrics use: `python scripts/train_classifiers.py`.

Flags only: they build a `dcgan_tf.classifiers.TrainingConfig` per dataset and hand
it to `dcgan_tf.classifiers`. By default the weights and a JSON record of their test
accuracy replace the ones shipped in `dcgan_tf/assets/classifiers/`; the same seed on
the same TensorFlow build repeats them, so the shipped files can be checked.
"""

import os

# Hide TensorFlow's C++ start-up notices (CPU features, missing CUDA); keep warnings.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
# Run from a checkout without `pip install -e .`: the package is one folder up.

from absl import flags  # noqa: E402

from dcgan_tf import classifiers, cli  # noqa: E402

# Epochs per dataset: MNIST's 8,000 images need more passes than Fashion-MNIST's 60,000.
DEFAULT_EPOCHS = {"mnist": 12, "fashion_mnist": 5}

flags.DEFINE_list("datasets", list(classifiers.DATASETS), "Datasets to train a classifier "
                  f"for: {', '.join(classifiers.DATASETS)}.")
flags.DEFINE_string("out_dir", classifiers.CLASSIFIER_DIR, "Folder for <dataset>.keras and "
                    "<dataset>.json. Default: the package's shipped copies.")
flags.DEFINE_string("data_dir", "", "Fashion-MNIST's four IDX files; default: Debian's "
                    "dataset-fashion-mnist, then Keras' cache. MNIST always uses the bundled "
                    "test split.")
flags.DEFINE_integer("epochs", 0, "Epochs; 0 = the dataset's default "
                     f"({', '.join(f'{k} {v}' for k, v in DEFAULT_EPOCHS.items())}).")
flags.DEFINE_integer("batch_size", 128, "Images per step.")
flags.DEFINE_float("learning_rate", 1e-3, "Adam learning rate.")
flags.DEFINE_integer("seed", 0, "Seeds the initial weights and the shuffling.")

FLAGS = flags.FLAGS


def main():
    for dataset in FLAGS.datasets:
        config = classifiers.TrainingConfig(
            dataset=dataset, epochs=FLAGS.epochs or DEFAULT_EPOCHS.get(dataset, 1),
            batch_size=FLAGS.batch_size, learning_rate=FLAGS.learning_rate, seed=FLAGS.seed)
        train, test = classifiers.load_splits(dataset, FLAGS.data_dir)
        print(f"{dataset}: seed {config.seed}, training on {len(train.images)} images "
              f"({train.source}), testing on {len(test.images)} ({test.source}).")
        model, info = classifiers.train_classifier(config, train, test)
        classifiers.save_classifier(model, info, FLAGS.out_dir)
        print(f"{dataset}: test accuracy {info['test_accuracy']:.4f} on "
              f"{info['test_images']} held-out images, trained in "
              f"{info['training_seconds']:.0f} s; wrote {FLAGS.out_dir}/{dataset}.keras")


if __name__ == "__main__":
    cli.run(main, FLAGS)
