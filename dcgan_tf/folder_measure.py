"""Sample quality for any folder of images, offline: a feature network trained on the folder.

MNIST and Fashion-MNIST have shipped classifiers (dcgan_tf.classifiers). A user's
own folder has none, and no pretrained network can be downloaded here, so the
measure makes its own from the folder:

  classifier (folders with class subfolders, such as scripts/get_emoji.py's): a small
      CNN trained to tell the subfolders apart. Its 128-unit penultimate layer gives
      the features of the Fréchet, kernel and precision/recall metrics, and its
      logits the class coverage (is every subfolder's kind of image generated?).
  random (any folder): the same CNN with seeded random weights, untrained. Random
      convolutional features still separate colour, texture and layout, so it ranks
      runs, but it knows no classes.

The folder is split in two by position in sorted path order: the even-numbered
files (half A) train the classifier, the odd-numbered ones (half B) are the real
reference. The real-vs-real floor compares half A with half B. Both halves hold
every subfolder in proportion. A trained network is cached (see `cache_dir`),
keyed by the folder's pixels, labels, image shape, kind and seed, so every later
measurement of runs on that folder uses the same network.

    reference = evaluation.load_folder_reference("data/emoji/twitter", (64, 64, 3))
    report = evaluation.evaluate_images(images, reference)
"""

import dataclasses
import hashlib
import json
import logging
import os
import time

import keras
import numpy as np
from keras import layers
from tqdm import tqdm

from dcgan_tf import classifiers, data, readers
from dcgan_tf.config import FEATURE_KINDS
from dcgan_tf.errors import InputError

logger = logging.getLogger(__name__)

KINDS = FEATURE_KINDS
FEATURE_DIM = 128
FORMAT_VERSION = 1  # Part of the cache key: bump when the network or its training changes.


@dataclasses.dataclass(frozen=True)
class FolderImages:
    """Every readable image of a folder, in sorted path order.

    Attributes:
        images: uint8 [N, H, W, C].
        labels: int32 [N], the index of each image's top-level subfolder in
            class_names; None when the folder has fewer than two subfolders or
            images outside them.
        class_names: the subfolder names, sorted; () when unlabelled.
        source: the folder.
    """
    images: np.ndarray
    labels: np.ndarray | None
    class_names: tuple
    source: str

    def half(self, parity):
        """Half A (parity 0, the even positions) or half B (parity 1)."""
        return dataclasses.replace(
            self, images=self.images[parity::2],
            labels=None if self.labels is None else self.labels[parity::2],
            source=f"{self.source} ({'even' if parity == 0 else 'odd'} files)")


def read_folder(directory, image_shape):
    """Reads every image under `directory` at `image_shape`, with subfolder labels.

    Unreadable files are skipped and counted in one warning.

    Raises:
        InputError: no such folder, or fewer than 20 readable images.
    """
    if not os.path.isdir(directory):
        raise InputError(f"--data_dir={directory}: no such folder.")
    paths = readers.list_image_files(directory)
    size, channels = image_shape[0], image_shape[2]
    images, folders, skipped = [], [], 0
    for path in tqdm(paths, desc=f"Reading {directory}", unit="img", leave=False):
        try:
            images.append(readers.load_image(path, size, channels))
        except Exception:  # Pillow raises many types; the reader names them in training.
            skipped += 1
            continue
        relative = os.path.relpath(path, directory).split(os.sep)
        folders.append(relative[0] if len(relative) > 1 else None)
    if skipped:
        logger.warning("%s: skipped %d unreadable file(s) of %d.", directory, skipped,
                       len(paths))
    if len(images) < 20:
        raise InputError(f"--data_dir={directory}: {len(images)} readable images; the folder "
                         "measure needs at least 20 (10 per half).")
    class_names = tuple(sorted({f for f in folders if f is not None}))
    labels = None
    if len(class_names) >= 2 and None not in folders:
        labels = np.array([class_names.index(f) for f in folders], np.int32)
    else:
        class_names = ()
    return FolderImages(np.stack(images), labels, class_names, directory)


def build_network(image_shape, num_classes, seed=0):
    """The folder CNN: 3x3 convolutions and 2x2 pooling down to 8x8 or less, a
    128-unit 'features' layer, then `num_classes` logits.

    Returns:
        keras.Model, float32 [B, H, W, C] in [-1, 1] -> logits float32 [B, num_classes].
    """
    def init(index):  # Seeded per layer: building the network leaves global RNGs alone.
        return keras.initializers.GlorotUniform(seed=seed * 100 + index)

    inputs = keras.Input(image_shape, name="images")
    x, side, filters, index = inputs, image_shape[0], 32, 0
    while side > 8:
        x = layers.Conv2D(filters, 3, padding="same", activation="relu",
                          kernel_initializer=init(index))(x)
        x = layers.MaxPooling2D()(x)
        side, filters, index = side // 2, min(filters * 2, 128), index + 1
    x = layers.Flatten()(x)
    features = layers.Dense(FEATURE_DIM, activation="relu", name="features",
                            kernel_initializer=init(index))(x)
    x = layers.Dropout(0.3, seed=seed)(features)
    logits = layers.Dense(max(num_classes, 1), name="logits",
                          kernel_initializer=init(index + 1))(x)
    return keras.Model(inputs, logits, name="folder_features")


def train_network(network, half, epochs=15, batch_size=64, seed=0):
    """Trains `network` on a labelled half in place; returns its accuracy on it.

    Shuffles with NumPy's seeded generator, never the global seeds, so that
    training a feature network inside a GAN run leaves the run's randomness as is.
    """
    network.compile(optimizer=keras.optimizers.Adam(1e-3),
                    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                    metrics=["accuracy"])
    inputs = np.asarray(data.normalize(half.images))
    rng = np.random.default_rng(seed)
    for _ in tqdm(range(epochs), desc="Training the folder's feature network", unit="epoch",
                  leave=False):
        order = rng.permutation(len(inputs))
        history = network.fit(inputs[order], half.labels[order], batch_size=batch_size,
                              epochs=1, shuffle=False, verbose=0)
    return float(history.history["accuracy"][-1])


def load_feature_net(folder, kind="", seed=0):
    """The feature network of a folder: from the cache, or trained (or drawn) and cached.

    Args:
        folder: FolderImages (all of it; half A trains the classifier).
        kind: one of KINDS; '' = classifier when the folder is labelled, else random.
        seed: seeds the network's weights and its training order.

    Returns:
        classifiers.FeatureNet with dataset 'folder'.
    """
    kind = kind or ("classifier" if folder.labels is not None else "random")
    if kind not in KINDS:
        raise InputError(f"--features={kind!r}: choose one of {', '.join(KINDS)}.")
    if kind == "classifier" and folder.labels is None:
        raise InputError(f"--features=classifier: {folder.source} has no class subfolders "
                         "(two or more, every image inside one) to train a classifier on; "
                         "use --features=random.")
    image_shape = folder.images.shape[1:]
    key = _cache_key(folder, kind, seed)
    path = os.path.join(cache_dir(), f"{key}.keras")
    num_classes = len(folder.class_names) if kind == "classifier" else 1
    info = dict(kind=kind, seed=seed, folder=folder.source, class_names=list(folder.class_names),
                image_shape=list(image_shape), images=len(folder.images), cache=path)
    if os.path.exists(path):
        network = keras.models.load_model(path, compile=False)
        with open(path[:-len(".keras")] + ".json", encoding="utf-8") as f:
            info = json.load(f)
        logger.info("Folder measure: the %s feature network of %s, from %s.", kind,
                    folder.source, path)
    else:
        network = build_network(image_shape, num_classes, seed)
        if kind == "classifier":
            start = time.perf_counter()
            half_a, half_b = folder.half(0), folder.half(1)
            info["train_accuracy"] = round(train_network(network, half_a, seed=seed), 4)
            info["held_out_accuracy"] = round(classifiers.accuracy_on(network, half_b), 4)
            info["training_seconds"] = round(time.perf_counter() - start, 1)
            logger.info("Folder measure: trained a %d-class feature network on %d images of "
                        "%s in %.0f s; accuracy on the other %d: %.3f.", num_classes,
                        len(half_a.images), folder.source, info["training_seconds"],
                        len(half_b.images), info["held_out_accuracy"])
        _save(network, info, path)
    model = keras.Model(network.input, [network.get_layer("features").output, network.output])
    return classifiers.FeatureNet(dataset="folder", model=model, info=info)


def load_halves(directory, image_shape, seed=0, kind=""):
    """The feature network of `directory` and its two halves.

    Args:
        directory: the image folder the generator trained on.
        image_shape: (H, W, C) of the generator's images.
        seed: seeds the feature network.
        kind: '' (by the folder), 'classifier' or 'random'.

    Returns:
        (feature_net, half_a, half_b): classifiers.FeatureNet, and FolderImages of
        the even (floor) and odd (reference) positions.
    """
    folder = read_folder(directory, image_shape)
    return load_feature_net(folder, kind, seed), folder.half(0), folder.half(1)


def cache_dir():
    """$DCGAN_TF_CACHE, else ~/.cache/dcgan_tf/feature_nets."""
    return os.environ.get("DCGAN_TF_CACHE") or os.path.join(
        os.path.expanduser("~"), ".cache", "dcgan_tf", "feature_nets")


def _cache_key(folder, kind, seed):
    digest = hashlib.sha256(f"{FORMAT_VERSION} {kind} {seed} {folder.images.shape}".encode())
    digest.update(np.ascontiguousarray(folder.images).tobytes())
    if folder.labels is not None:
        digest.update(folder.labels.tobytes())
        digest.update("\n".join(folder.class_names).encode())
    return f"{kind}_{'x'.join(map(str, folder.images.shape[1:]))}_{digest.hexdigest()[:16]}"


def _save(network, info, path):
    """Writes the network and its record; an unwritable cache only costs a retrain."""
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        temporary = f"{path}.{os.getpid()}.keras"
        network.save(temporary)
        with open(path[:-len(".keras")] + ".json", "w", encoding="utf-8") as f:
            json.dump(info, f, indent=2)
        os.replace(temporary, path)
    except OSError as e:
        logger.warning("Could not cache the feature network in %s (%s).", path, e)

