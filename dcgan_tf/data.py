"""Training images: where they come from, and the tf.data pipeline that feeds them.

Sources are tried in this order, and the log says which one was used:
  1. `--data_dir` (IDX files, a Keras `.npz`, CIFAR-10 python batches, or for
     `--dataset=folder` a folder of images);
  2. for fashion_mnist, Debian's `dataset-fashion-mnist` package;
  3. Keras' download cache (`~/.keras/datasets`), then a download through
     `keras.datasets` when `--download` allows it;
  4. for mnist only, the 10,000-image MNIST test split bundled in this package.
"""

import dataclasses
import functools
import hashlib
import logging
import os
import socket

import numpy as np
import tensorflow as tf

from dcgan_tf import readers
from dcgan_tf.config import DATASET_TABLE
from dcgan_tf.readers import DataError

logger = logging.getLogger(__name__)

DOWNLOAD_HOST = "storage.googleapis.com"  # Where keras.datasets downloads from.
BUNDLED_MNIST_DIR = os.path.join(os.path.dirname(__file__), "assets", "mnist_sample")
# Images resized per call in convert_images: bounds the float32 copy tf.image.resize makes.
_RESIZE_CHUNK = 4096


@dataclasses.dataclass(frozen=True)
class ImageData:
    """Training images and a human-readable account of where they came from.

    Attributes:
        images: uint8 [N, image_size, image_size, channels], values in [0, 255].
        source: e.g. "/data/mnist/train-images-idx3-ubyte.gz".
        labels: None, or (for --conditional) int32 [N], each image's class.
        class_names: the classes' names where the data has them (a folder's
            subfolders), else ().
    """
    images: np.ndarray
    source: str
    labels: np.ndarray | None = None
    class_names: tuple = ()

    @functools.cached_property
    def fingerprint(self):
        """12 hex digits of SHA-256 over the images' shape and 256 of them spread
        evenly (all of them if fewer): what tells a resumed run it has its data."""
        picked = self.images[np.linspace(0, len(self.images) - 1,
                                         min(256, len(self.images))).astype(int)]
        digest = hashlib.sha256(str(self.images.shape).encode())
        digest.update(np.ascontiguousarray(picked).tobytes())
        return digest.hexdigest()[:12]


def resolve(config):
    """Fills in the settings left to the dataset: image size, channels, workdir, and
    with --conditional the number of classes (a folder's: its class subfolders)."""
    known = DATASET_TABLE[config.dataset]
    size, channels = known.image_size, known.channels
    num_classes = config.num_classes
    if config.conditional and not num_classes:
        num_classes = known.num_classes
        if not num_classes:  # A folder: its class subfolders.
            if not os.path.isdir(config.data_dir):
                raise DataError(f"--data_dir={config.data_dir}: no such folder (a "
                                "--conditional folder run counts its classes there).")
            num_classes = len(readers.class_folders(config.data_dir))
    return dataclasses.replace(
        config,
        image_size=config.image_size or size,
        channels=config.channels or channels,
        num_classes=num_classes,
        workdir=config.workdir or os.path.join(
            "runs", config.dataset + ("_conditional" if config.conditional else "")))


def load_images(config):
    """Loads the training images of a resolved config.

    Returns:
        ImageData with images uint8 [N, config.image_size, config.image_size,
        config.channels], and with config.conditional their labels.

    Raises:
        DataError: no usable source, an unreadable file, missing labels, or fewer
            images than one batch.
    """
    if config.dataset == "folder":
        if not os.path.isdir(config.data_dir):
            raise DataError(f"--data_dir={config.data_dir}: no such folder.")
        source = f"images under {config.data_dir}"
        if config.conditional:
            images, labels, names = readers.read_labelled_folder(
                config.data_dir, config.image_size, config.channels)
            data = ImageData(images, source, labels, names)
        else:
            images = readers.read_image_folder(config.data_dir, config.image_size,
                                               config.channels)
            data = ImageData(images, source)
    else:
        data = _load_named_dataset(config)
        try:
            images = convert_images(data.images, config.image_size, config.channels)
        except DataError as e:
            raise DataError(f"{data.source}: {e}") from e
        data = dataclasses.replace(data, images=images)
    if len(data.images) < config.batch_size:
        raise DataError(
            f"{data.source}: only {len(data.images)} images, fewer than one batch "
            f"(--batch_size={config.batch_size}).")
    if config.conditional:
        _check_labels(data, config.num_classes)
    return data


def _check_labels(data, num_classes):
    """Every label in [0, num_classes), and (a warning) every class present."""
    if data.labels.max() >= num_classes:
        raise DataError(f"{data.source}: label {data.labels.max()} is outside the "
                        f"{num_classes} classes (--num_classes={num_classes}).")
    missing = sorted(set(range(num_classes)) - set(np.unique(data.labels).tolist()))
    if missing:
        logger.warning("%s has no images of class(es) %s of %d: the generator is never "
                       "shown them.", data.source, missing, num_classes)


def _load_named_dataset(config):
    labelled = config.conditional
    if config.data_dir:
        return read_local_copy(config.data_dir, labelled)
    known = DATASET_TABLE[config.dataset]
    if known.system_dir and _has_idx_images(known.system_dir):
        return read_local_copy(known.system_dir, labelled)
    for name in known.keras_cache:
        cached = os.path.join(keras_home(), "datasets", name)
        if os.path.exists(cached):
            return read_local_copy(cached, labelled)
    failure = "downloads are off (--nodownload)"
    if config.download and not network_reachable():
        failure = f"no network: {DOWNLOAD_HOST} cannot be reached"
    elif config.download:
        loader = getattr(tf.keras.datasets, known.keras_loader)
        try:
            (images, labels), _ = loader.load_data()
            return ImageData(_with_channel_axis(images), f"keras.datasets.{config.dataset}",
                             np.asarray(labels, np.int32).reshape(-1) if labelled else None)
        except Exception as e:  # Keras raises a bare Exception for URL failures.
            failure = f"the download failed ({type(e).__name__})"
    if config.dataset == "mnist":
        logger.info(
            "Training on the MNIST sample bundled with dcgan_tf, the 10,000-image test split "
            "(%s). For the 60,000-image training split, run once with internet access or "
            "pass --data_dir=<folder with train-images-idx3-ubyte.gz or mnist.npz>.", failure)
        return read_local_copy(os.path.join(BUNDLED_MNIST_DIR, "t10k-images-idx3-ubyte.gz"),
                               labelled)
    hint = (" or `apt-get install dataset-fashion-mnist`"
            if config.dataset == "fashion_mnist" else "")
    raise DataError(
        f"--dataset={config.dataset}: no local copy found and {failure}. "
        f"Pass --data_dir=<local copy>{hint}.")


def read_local_copy(path, labelled=False):
    """Reads a dataset from a file or folder in any format `readers` knows, with its
    labels when `labelled` (readers.read_dataset finds the format)."""
    images, labels, source = readers.read_dataset(path, labelled)
    return ImageData(images, source, labels)


def convert_images(images, image_size, channels):
    """Converts uint8 [N, H, H, C] images to [N, image_size, image_size, channels].

    Grayscale becomes RGB by repetition and RGB becomes grayscale by ITU-R 601
    luma; a different size is reached by antialiased bilinear resizing.
    """
    if images.shape[1] != images.shape[2]:
        raise DataError(f"images are {images.shape[1]}x{images.shape[2]}; only squares "
                        "are supported.")
    if images.shape[-1] not in (1, 3):
        raise DataError(f"images have {images.shape[-1]} channels; only 1 (grayscale) "
                        "or 3 (RGB) are supported.")
    if images.shape[-1] != channels:
        if channels == 3:
            images = np.repeat(images, 3, axis=-1)
        else:
            luma = images.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
            images = np.round(luma)[..., np.newaxis].astype(np.uint8)
    if images.shape[1] != image_size:
        images = np.concatenate([_resize(images[start:start + _RESIZE_CHUNK], image_size)
                                 for start in range(0, max(len(images), 1), _RESIZE_CHUNK)])
    return images


def _resize(images, image_size):
    resized = tf.image.resize(images, (image_size, image_size), antialias=True)
    return tf.cast(tf.round(tf.clip_by_value(resized, 0, 255)), tf.uint8).numpy()


def normalize(images):
    """uint8 [..., H, W, C] in [0, 255] -> float32 in [-1, 1], as (x - 127.5) / 127.5.

    [-1, 1] is the range of the generator's tanh output, so real and generated
    images reach the discriminator on the same scale.
    """
    return (tf.cast(images, tf.float32) - 127.5) / 127.5


def make_dataset(images, batch_size, buffer_size, seed, epoch, skip_batches=0, labels=None):
    """One epoch of shuffled, normalised training batches.

    Each epoch's order depends only on (seed, epoch) and TensorFlow's global seed
    (tf.data combines the two; `training.train` sets the global seed from the same
    config.seed first), so a resumed run sees the same batches as an uninterrupted
    one: `skip_batches` drops those already seen.

    Args:
        images: uint8 tensor or array [N, H, W, C].
        batch_size: images per batch; the last partial batch is dropped so every
            step sees the same batch size.
        buffer_size: shuffle buffer in images; 0 means N (a uniform shuffle).
            A small buffer only shuffles locally: with sorted data, early batches
            would hold few classes.
        seed: the run's seed.
        epoch: zero-based epoch number.
        skip_batches: batches of this epoch already trained on.
        labels: None, or int32 [N], each image's class (--conditional).

    Returns:
        tf.data.Dataset of float32 [batch_size, H, W, C] in [-1, 1], or with
        `labels` of (those images, int32 [batch_size] labels).
    """
    epoch_seed = int(np.random.SeedSequence([seed, epoch]).generate_state(1)[0])
    dataset = tf.data.Dataset.from_tensor_slices(images if labels is None
                                                 else (images, labels))
    dataset = dataset.shuffle(buffer_size or len(images), seed=epoch_seed,
                              reshuffle_each_iteration=False)
    dataset = dataset.batch(batch_size, drop_remainder=True).skip(skip_batches)
    # Normalising after batching runs one vectorised op per batch, not per image.
    # There is no .cache(): the images already sit in memory as one uint8 tensor,
    # decoded once, and caching float32 batches would take 4x the memory to save
    # one cheap op per batch.
    normalized = normalize if labels is None else lambda x, y: (normalize(x), y)
    dataset = dataset.map(normalized).prefetch(1)  # The next batch is ready during a step.
    # With tf.data's autotuning on, deleting each epoch's iterator waits for the
    # tuning thread's next wake-up, often seconds (docs/performance.md); one cheap
    # op per batch leaves nothing to tune.
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


def _has_idx_images(directory):
    """Whether `directory` holds IDX image files (an installed dataset package)."""
    if not os.path.isdir(directory):
        return False
    return any(name.startswith(("train-images", "t10k-images"))
               for name in os.listdir(directory))


def _with_channel_axis(images):
    return images[..., np.newaxis] if images.ndim == 3 else images


def network_reachable(host=None, timeout=1.5):
    """Whether a TCP connection to the download host opens within `timeout` s.

    Without a network the name lookup fails at once; with a network that drops
    packets the timeout bounds the wait, so an offline start costs at most that.
    """
    try:
        socket.create_connection((host or DOWNLOAD_HOST, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def keras_home():
    """Where Keras keeps its downloads: $KERAS_HOME, else ~/.keras."""
    return os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
