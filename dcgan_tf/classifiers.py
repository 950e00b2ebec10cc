"""The feature networks behind the sample-quality metrics: small shipped CNN classifiers.

One classifier per dataset family (MNIST, Fashion-MNIST), trained by
`scripts/train_classifiers.py` and shipped in `dcgan_tf/assets/classifiers/` as
`<dataset>.keras` with `<dataset>.json` (test accuracy, data, settings), so every
user computes the same metric values. Its penultimate layer (128 ReLU units) gives
the features for the Fréchet, kernel and precision/recall metrics; its logits
give the class predictions for class coverage.

    net = classifiers.load_feature_net("mnist")
    features, logits = classifiers.extract(net, images)  # float64 [N, 128], [N, 10]

The labelled splits are fixed per dataset, independent of what a GAN trained on:
  mnist: only MNIST's 10,000-image test split is available offline (bundled in
      this package), so the classifier trains on 8,000 of its images and is tested
      on the other 2,000: every fifth image (index % 5 == 4). Interleaved, not the
      last 2,000, because the split is ordered by writer group (MNIST_LIMITATION).
      MNIST's full training split is not used even when present, so the numbers do
      not depend on what a machine has downloaded.
  fashion_mnist: the full 60,000/10,000 train/test split, from --data_dir, Debian's
      dataset-fashion-mnist package, or Keras' download cache.
"""

import dataclasses
import json
import os
import time

import keras
import numpy as np
import tensorflow as tf
from keras import layers

from dcgan_tf import chunks, data, readers
from dcgan_tf.config import DATASET_TABLE, EVAL_DATASETS
from dcgan_tf.errors import InputError

CLASSIFIER_DIR = os.path.join(os.path.dirname(__file__), "assets", "classifiers")
IMAGE_SHAPE = DATASET_TABLE["mnist"].feature_shape  # Fashion-MNIST's too.
NUM_CLASSES = 10
FEATURE_DIM = 128
DATASETS = EVAL_DATASETS
MNIST_HELD_OUT_EVERY = 5  # Of the bundled test split, images i with i % 5 == 4 are held out.
MNIST_LIMITATION = (
    "Offline, only MNIST's 10,000-image test split exists (bundled with dcgan_tf): the "
    "classifier trained on 8,000 of its images and its accuracy is measured on the other "
    "2,000 (every fifth image, index % 5 == 4), not on MNIST's standard 10,000-image test "
    "split, and the metrics' real reference is those 2,000. The split is interleaved "
    "because the test split's first 5,000 images come from a different group of writers "
    "than its last 5,000 (LeCun et al.); a first-8,000/last-2,000 split would measure "
    "that writer shift (a Frechet distance of 14 between 2,000 images of each half, "
    "against 2 between two sets of 2,000 from one half) instead of sample quality.")


@dataclasses.dataclass(frozen=True)
class LabelledSplit:
    """Real images with their class labels.

    Attributes:
        images: uint8 [N, 28, 28, 1] in [0, 255].
        labels: uint8 [N] in [0, 10).
        source: where they came from, e.g. "t10k-images-idx3-ubyte.gz[8000:]".
    """
    images: np.ndarray
    labels: np.ndarray
    source: str


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    """How a classifier is trained. Defaults fit a few CPU minutes.

    Attributes:
        dataset: one of DATASETS.
        epochs: passes over the training split.
        batch_size: images per step.
        learning_rate: Adam learning rate.
        seed: seeds Keras (Python, NumPy, TensorFlow) and the shuffling.
    """
    dataset: str
    epochs: int = 5
    batch_size: int = 128
    learning_rate: float = 1e-3
    seed: int = 0

    def __post_init__(self):
        check_dataset(self.dataset)
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise InputError(f"--{name} must be at least 1, got {getattr(self, name)}.")


@dataclasses.dataclass(frozen=True)
class FeatureNet:
    """A loaded classifier, ready for `extract`.

    Attributes:
        dataset: the dataset family it classifies.
        model: Keras model, float32 [B, 28, 28, 1] in [-1, 1] ->
            (features float32 [B, 128], logits float32 [B, 10]).
        info: the JSON record written next to the weights (test accuracy etc.).
    """
    dataset: str
    model: keras.Model
    info: dict


def check_dataset(dataset):
    """Raises InputError unless a feature network exists for `dataset`."""
    if dataset not in DATASETS:
        raise InputError(
            f"--dataset={dataset}: no feature network for it; sample-quality metrics "
            f"exist for {' and '.join(DATASETS)} only (28x28 grayscale).")


def load_splits(dataset, data_dir=""):
    """The labelled train and test splits the classifier of `dataset` uses.

    Args:
        dataset: 'mnist' or 'fashion_mnist'.
        data_dir: for fashion_mnist, a folder with its four IDX files; '' looks in
            Debian's package folder, then Keras' download cache. Ignored for mnist,
            which always uses the bundled sample.

    Returns:
        (train, test), two LabelledSplit.
    """
    check_dataset(dataset)
    if dataset == "mnist":
        images = _read_idx(data.BUNDLED_MNIST_DIR, "t10k", "images")
        labels = _read_idx(data.BUNDLED_MNIST_DIR, "t10k", "labels")
        name = "dcgan_tf/assets/mnist_sample/t10k-*-idx?-ubyte.gz"  # Same on every machine.
        held_out = np.arange(len(images)) % MNIST_HELD_OUT_EVERY == MNIST_HELD_OUT_EVERY - 1
        return (LabelledSplit(images[~held_out], labels[~held_out],
                              f"{name}, index % 5 != 4"),
                LabelledSplit(images[held_out], labels[held_out], f"{name}, index % 5 == 4"))
    folder = data_dir or _find_fashion_mnist()
    return tuple(
        LabelledSplit(_read_idx(folder, prefix, "images"), _read_idx(folder, prefix, "labels"),
                      os.path.join(folder, f"{prefix}-*-idx?-ubyte[.gz]"))
        for prefix in ("train", "t10k"))


def build_classifier():
    """The classifier: two convolutions, a 128-unit penultimate layer, 10 logits.

    About 225,000 weights (a 0.9 MB .keras file), small enough to ship in the
    package. The penultimate layer is named 'features'.

    Returns:
        Keras model, float32 [B, 28, 28, 1] in [-1, 1] -> logits float32 [B, 10].
    """
    inputs = keras.Input(IMAGE_SHAPE, name="images")
    x = layers.Conv2D(32, 3, activation="relu")(inputs)  # 26x26
    x = layers.MaxPooling2D()(x)  # 13x13
    x = layers.Conv2D(64, 3, activation="relu")(x)  # 11x11
    x = layers.MaxPooling2D()(x)  # 5x5
    x = layers.Flatten()(x)
    features = layers.Dense(FEATURE_DIM, activation="relu", name="features")(x)
    # Dropout only between features and logits: it is off at inference, so the
    # features the metrics see are those of the deterministic network.
    x = layers.Dropout(0.3)(features)
    logits = layers.Dense(NUM_CLASSES, name="logits")(x)
    return keras.Model(inputs, logits, name="classifier")


def train_classifier(config, train, test):
    """Trains a classifier from `config.seed`; the same seed repeats the weights on CPU.

    Turns on TensorFlow's op determinism, for the rest of the process.

    Args:
        config: TrainingConfig.
        train, test: LabelledSplit.

    Returns:
        (model, info): the trained Keras model (uncompiled, no optimizer state) and
        a JSON-ready dict with its test accuracy and how it was made.
    """
    keras.utils.set_random_seed(config.seed)
    # Deterministic kernels, so the script reproduces the shipped weights.
    tf.config.experimental.enable_op_determinism()
    model = build_classifier()
    model.compile(optimizer=keras.optimizers.Adam(config.learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(data.normalize(train.images), train.labels, batch_size=config.batch_size,
              epochs=config.epochs, shuffle=True, verbose=2)
    seconds = time.perf_counter() - start
    # A fresh model holds the weights alone: the optimizer state would triple the file.
    shipped = build_classifier()
    shipped.set_weights(model.get_weights())
    accuracy = accuracy_on(shipped, test)
    info = {
        "dataset": config.dataset, "test_accuracy": round(accuracy, 6),
        "train_images": len(train.images), "train_source": train.source,
        "test_images": len(test.images), "test_source": test.source,
        "training_seconds": round(seconds, 1), "settings": dataclasses.asdict(config),
        "tensorflow": tf.__version__, "keras": keras.__version__,
    }
    if config.dataset == "mnist":
        info["limitation"] = MNIST_LIMITATION
    return shipped, info


def accuracy_on(model, split, batch_size=500):
    """Fraction of `split` whose arg-max logit is its label, in [0, 1]."""
    logits = chunks.map_in_chunks(
        lambda batch: model(data.normalize(batch), training=False), split.images, batch_size)
    return float(np.mean(logits.argmax(axis=1) == split.labels))


def save_classifier(model, info, directory=CLASSIFIER_DIR):
    """Writes `<dataset>.keras` and `<dataset>.json` into `directory`."""
    os.makedirs(directory, exist_ok=True)
    model.save(os.path.join(directory, f"{info['dataset']}.keras"))
    with open(os.path.join(directory, f"{info['dataset']}.json"), "w", encoding="utf-8") as f:
        f.write(json.dumps(info, indent=2, sort_keys=True) + "\n")


def load_feature_net(dataset, directory=CLASSIFIER_DIR):
    """Loads the shipped classifier of `dataset` as a feature network.

    Raises:
        InputError: no classifier for `dataset`, or its files are missing or broken.
    """
    check_dataset(dataset)
    path = os.path.join(directory, f"{dataset}.keras")
    try:
        classifier = keras.models.load_model(path, compile=False)
        with open(os.path.join(directory, f"{dataset}.json"), encoding="utf-8") as f:
            info = json.load(f)
    except (OSError, ValueError) as e:  # Keras raises ValueError for a missing file too.
        raise InputError(f"{path}: cannot load the {dataset} feature network ({e}); "
                         "scripts/train_classifiers.py rebuilds it.") from e
    model = keras.Model(classifier.input,
                        [classifier.get_layer("features").output, classifier.output])
    return FeatureNet(dataset=dataset, model=model, info=info)


def extract(feature_net, images, batch_size=500, description="Features"):
    """Runs the feature network over `images` in batches, with a progress bar.

    Args:
        feature_net: FeatureNet.
        images: uint8 [N, H, W, C] in [0, 255], or float [N, H, W, C] in
            [-1, 1] (the generator's output range), of the network's input shape
            (28x28x1 for the shipped classifiers).
        batch_size: images per call.
        description: the progress bar's label.

    Returns:
        (features, logits): float64 [N, 128] and float64 [N, classes].

    Raises:
        InputError: images of another shape than the network's input.
    """
    images = np.asarray(images)
    expected = tuple(feature_net.model.input_shape[1:])
    if images.ndim != 4 or images.shape[1:] != expected:
        raise InputError(
            f"images are {'x'.join(map(str, images.shape[1:]))}; the {feature_net.dataset} "
            f"feature network takes {'x'.join(map(str, expected))} images only.")

    def run(batch):
        batch = data.normalize(batch) if batch.dtype == np.uint8 else batch.astype(np.float32)
        return feature_net.model(batch, training=False)

    outputs = chunks.map_in_chunks(run, images, batch_size, description, leave=False)
    if outputs is None:
        return (np.zeros((0, feature_net.model.output_shape[0][-1])),
                np.zeros((0, feature_net.model.output_shape[1][-1])))
    features, logits = outputs
    return features.astype(np.float64), logits.astype(np.float64)


def _find_fashion_mnist():
    candidates = (DATASET_TABLE["fashion_mnist"].system_dir,
                  os.path.join(data.keras_home(), "datasets", "fashion-mnist"))
    for folder in candidates:
        if os.path.isdir(folder) and any(name.startswith("t10k-labels")
                                         for name in os.listdir(folder)):
            return folder
    raise InputError(
        "fashion_mnist: no local copy with labels found (looked in "
        f"{' and '.join(candidates)}). Pass --data_dir=<folder with train-images-idx3-"
        "ubyte.gz, train-labels-idx1-ubyte.gz, t10k-...> or `apt-get install "
        "dataset-fashion-mnist`.")


def _read_idx(folder, prefix, kind):
    """Reads `<prefix>-<kind>-idx?-ubyte[.gz]` from `folder`."""
    rank = 3 if kind == "images" else 1
    stem = os.path.join(folder, f"{prefix}-{kind}-idx{rank}-ubyte")
    path = stem + ".gz" if os.path.exists(stem + ".gz") else stem
    if not os.path.exists(path):
        raise readers.DataError(f"{folder}: has no {os.path.basename(stem)}[.gz].")
    return readers.read_idx_images(path) if kind == "images" else readers.read_idx_labels(path)
