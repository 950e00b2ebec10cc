"""Readers for the on-disk image formats dcgan_tf accepts.

Each reader returns uint8 images shaped [N, H, W, C] and raises `DataError`,
naming the file, when the file is not what it claims to be.
"""

import gzip
import logging
import math
import os
import pickle
import struct
import zlib

import numpy as np
from PIL import Image, ImageOps
from tqdm import tqdm

from dcgan_tf.errors import InputError

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
IDX_IMAGES_MAGIC = 0x00000803  # unsigned byte data, 3 dimensions
IDX_LABELS_MAGIC = 0x00000801  # unsigned byte data, 1 dimension
MAX_IDX_BYTES = 2**34  # 16 GiB: 20 times the largest IDX set in use (EMNIST).
# Pillow decoders per file extension: a file is decoded only as what its name says
# (a PostScript file named .png never reaches Ghostscript).
FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".gif": "GIF"}


class DataError(InputError):
    """The data a run was pointed at is missing or unreadable."""


def read_idx_images(path):
    """Reads an IDX3 image file (optionally gzipped), as MNIST ships them.

    Returns:
        uint8 array [N, rows, cols, 1] with values in [0, 255].
    """
    return _read_idx(path, IDX_IMAGES_MAGIC, "image")[..., np.newaxis]


def read_idx_labels(path, num_classes=10):
    """Reads an IDX1 label file (optionally gzipped), as MNIST ships them.

    Args:
        path: str or path-like; a name ending in '.gz' is decompressed.
        num_classes: labels must lie in [0, num_classes).

    Returns:
        uint8 array [N] with values in [0, num_classes).
    """
    labels = _read_idx(path, IDX_LABELS_MAGIC, "label")
    # Labels index class histograms and logits: one out of range would be silently wrong.
    if len(labels) and labels.max() >= num_classes:
        raise DataError(
            f"{os.fspath(path)}: label {labels.max()} at index {int(labels.argmax())} is "
            f"outside [0, {num_classes}).")
    return labels


def _read_idx(path, expected_magic, kind):
    """Reads an unsigned-byte IDX file, checking its header against its length.

    The magic number's last byte is the number of dimensions; each dimension
    follows as a big-endian uint32, then the data.

    Returns:
        uint8 array shaped by the header's dimensions.
    """
    path = os.fspath(path)
    opener = gzip.open if path.endswith(".gz") else open
    header_size = 4 + 4 * (expected_magic & 0xFF)
    try:
        with opener(path, "rb") as f:
            header = f.read(header_size)
            if len(header) < header_size:
                raise DataError(f"{path}: too short to be an IDX {kind} file "
                                f"({len(header)} bytes).")
            magic, *shape = struct.unpack(f">{header_size // 4}I", header)
            if magic != expected_magic:
                raise DataError(
                    f"{path}: not an IDX {kind} file (magic 0x{magic:08x}, expected "
                    f"0x{expected_magic:08x}).")
            if 0 in shape:
                raise DataError(f"{path}: the header promises {'x'.join(map(str, shape))} "
                                f"{kind}s: nothing to read.")
            # Only as many bytes as the header promises, and one more to detect padding:
            # a small gzip file that inflates to gigabytes is never held in memory.
            expected = math.prod(shape)
            if expected > MAX_IDX_BYTES:
                raise DataError(f"{path}: the header promises {expected:,} bytes of {kind}s, "
                                f"more than the {MAX_IDX_BYTES:,} an IDX reader here accepts.")
            data = f.read(expected + 1)
    # A damaged gzip stream raises zlib.error, which is not an OSError.
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{path}: cannot read it as an IDX file ({e}).") from e
    if len(data) != expected:
        size = f" of {'x'.join(map(str, shape[1:]))}" if len(shape) > 1 else ""
        found = "more" if len(data) > expected else f"{header_size + len(data)}"
        raise DataError(
            f"{path}: truncated or padded IDX file: the header promises {shape[0]} "
            f"{kind}s{size} ({header_size + expected} bytes) but the file has {found}.")
    return np.frombuffer(data, dtype=np.uint8).reshape(shape)


def read_npz_images(path):
    """Reads the training images from a Keras-style `.npz` (`x_train`).

    Returns:
        uint8 array [N, H, W, C] (a channel axis is added to grayscale arrays).
    """
    try:
        # Opened here, not by np.load, which leaks its handle when the zip is corrupt.
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as archive:
            if "x_train" not in archive.files:
                raise DataError(
                    f"{path}: has no 'x_train' array (it has {sorted(archive.files)}); "
                    "expected a Keras dataset .npz such as mnist.npz.")
            images = archive["x_train"]
    except DataError:
        raise
    except Exception as e:  # np.load raises many types for a corrupt archive.
        raise DataError(f"{path}: not a readable .npz archive ({e}).") from e
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.ndim != 4 or images.dtype != np.uint8:
        raise DataError(
            f"{path}: 'x_train' should be uint8 [N, H, W] or [N, H, W, C], got "
            f"{images.dtype} {list(images.shape)}.")
    return images


def read_dataset(path, labelled=False):
    """Reads a dataset from a file or folder, finding its format.

    A file is a Keras `.npz` or an IDX image file. A folder is searched for, in
    order: IDX training images, a `.npz`, CIFAR-10 python batches (or their
    cifar-10-batches-py folder), and as a last resort IDX test images (with a
    warning).

    Args:
        path: the file or folder.
        labelled: also read each image's class label (an IDX file's companion
            labels file, an .npz's y_train, CIFAR-10's batch labels).

    Returns:
        (uint8 images [N, H, W, C], int32 labels [N] or None, the file or folder
        read).
    """
    if os.path.isfile(path):
        if path.endswith(".npz"):
            images = read_npz_images(path)
            return images, read_npz_labels(path, len(images)) if labelled else None, path
        images = read_idx_images(path)
        return images, read_idx_labels_for(path, len(images)) if labelled else None, path
    if not os.path.isdir(path):
        raise DataError(f"{path}: no such file or folder.")
    names = sorted(os.listdir(path))
    for prefix in ("train-images-idx3-ubyte", "train-images.idx3-ubyte"):
        for name in names:
            if name.startswith(prefix):
                return read_dataset(os.path.join(path, name), labelled)
    for name in names:
        if name.endswith(".npz"):
            return read_dataset(os.path.join(path, name), labelled)
    if any(name.startswith("data_batch_") for name in names):
        images = read_cifar_batches(path)
        return images, read_cifar_labels(path, len(images)) if labelled else None, path
    if "cifar-10-batches-py" in names:
        return read_dataset(os.path.join(path, "cifar-10-batches-py"), labelled)
    for name in names:
        if name.startswith("t10k-images"):
            logger.warning("%s has no training split; training on the test split %s.",
                           path, name)
            return read_dataset(os.path.join(path, name), labelled)
    raise DataError(
        f"{path}: found no dataset files (looked for train-images-idx3-ubyte[.gz], "
        "t10k-images-idx3-ubyte[.gz], a Keras .npz, or CIFAR-10 data_batch_* files).")


def read_npz_labels(path, count):
    """The class labels of a Keras-style `.npz` (`y_train`), one per image of `count`.

    Returns:
        int32 array [count].
    """
    try:
        with open(path, "rb") as f, np.load(f, allow_pickle=False) as archive:
            if "y_train" not in archive.files:
                raise DataError(f"{path}: has no 'y_train' array of labels (it has "
                                f"{sorted(archive.files)}); --conditional needs one.")
            labels = archive["y_train"]
    except DataError:
        raise
    except Exception as e:  # np.load raises many types for a corrupt archive.
        raise DataError(f"{path}: not a readable .npz archive ({e}).") from e
    return _checked_labels(np.asarray(labels).reshape(-1), count, f"{path}: 'y_train'")


def read_cifar_labels(directory, count):
    """The labels of CIFAR-10's python batches, in read_cifar_batches' order.

    Returns:
        int32 array [count].
    """
    labels = []
    for path in _cifar_batch_paths(directory):
        try:
            with open(path, "rb") as f:
                batch = pickle.load(f, encoding="bytes")
            labels.append(np.asarray(batch[b"labels"] if b"labels" in batch
                                     else batch["labels"]).reshape(-1))
        except Exception as e:
            raise DataError(f"{path}: has no readable 'labels' ({e}).") from e
    return _checked_labels(np.concatenate(labels), count, f"{directory}: the labels")


def read_idx_labels_for(images_path, count):
    """The IDX label file that goes with an IDX image file (train-images-idx3-ubyte.gz
    -> train-labels-idx1-ubyte.gz, in the same folder).

    Returns:
        int32 array [count].
    """
    folder, name = os.path.split(os.fspath(images_path))
    labels_name = name.replace("images-idx3", "labels-idx1").replace("images.idx3",
                                                                      "labels.idx1")
    path = os.path.join(folder, labels_name)
    if labels_name == name or not os.path.isfile(path):
        raise DataError(f"{images_path}: --conditional needs its labels, {path}, which is "
                        "missing.")
    return _checked_labels(read_idx_labels(path, num_classes=256), count, path)


def _checked_labels(labels, count, what):
    """int32 labels, one per image, each in [0, MAX_CLASSES)."""
    if len(labels) != count:
        raise DataError(f"{what}: {len(labels)} labels for {count} images.")
    if not np.issubdtype(labels.dtype, np.integer) or (len(labels) and labels.min() < 0):
        raise DataError(f"{what}: labels must be non-negative integers, got {labels.dtype} "
                        f"from {labels.min() if len(labels) else '-'}.")
    return labels.astype(np.int32)


def _cifar_batch_paths(directory):
    return sorted(os.path.join(directory, name) for name in os.listdir(directory)
                  if name.startswith("data_batch_"))


def read_cifar_batches(directory):
    """Reads CIFAR-10's python batches (`data_batch_1` ... `data_batch_5`).

    These are pickles, as the CIFAR authors ship them: only read copies you trust.

    Returns:
        uint8 array [50000, 32, 32, 3].
    """
    paths = _cifar_batch_paths(directory)
    if not paths:
        raise DataError(f"{directory}: no CIFAR-10 data_batch_* files.")
    batches = []
    for path in paths:
        try:
            with open(path, "rb") as f:
                batch = pickle.load(f, encoding="bytes")
            # Python 2 pickles (the original) have bytes keys; re-pickled copies, str.
            data = batch[b"data"] if b"data" in batch else batch["data"]
            data = np.asarray(data, dtype=np.uint8)
        except Exception as e:
            raise DataError(f"{path}: not a CIFAR-10 python batch ({e}).") from e
        if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
            raise DataError(f"{path}: 'data' should be [N, 3072] (32x32 RGB rows), got "
                            f"{list(data.shape)}.")
        batches.append(data)
    images = np.concatenate(batches).reshape(-1, 3, 32, 32)
    return images.transpose(0, 2, 3, 1)


def list_image_files(directory):
    """Every regular file under `directory` (recursively) with an image extension,
    sorted. FIFOs, sockets and device nodes are left out and named in a warning:
    opening a FIFO would wait forever for a writer."""
    found, special = [], []
    for root, _, names in os.walk(directory):
        for name in names:
            if name.lower().endswith(IMAGE_EXTENSIONS):
                path = os.path.join(root, name)
                (found if os.path.isfile(path) else special).append(path)
    if special:
        logger.warning("Skipped %d image name(s) that are not regular files:\n  %s",
                       len(special), "\n  ".join(sorted(special)))
    return sorted(found)


def class_folders(directory):
    """The class names of a labelled folder: its subfolders that hold images (at any
    depth), sorted; class k is the k-th. Images directly in `directory` have none."""
    return _class_of_each(directory, list_image_files(directory))[0]


def _class_of_each(directory, paths):
    """(the sorted class names, each path's top-level subfolder or None if loose)."""
    folders = [os.path.relpath(path, directory).split(os.sep)[0]
               if os.sep in os.path.relpath(path, directory) else None for path in paths]
    return tuple(sorted({folder for folder in folders if folder is not None})), folders


def read_labelled_folder(directory, image_size, channels):
    """Reads a folder with one subfolder per class, as read_image_folder does.

    Returns:
        (uint8 images [N, image_size, image_size, channels], int32 labels [N] (the
        index of each image's subfolder in class_folders), the class names).

    Raises:
        DataError: images outside a class subfolder, fewer than two classes, or a
            class subfolder with no readable image.
    """
    paths = list_image_files(directory)
    classes, folders = _class_of_each(directory, paths)
    loose = [path for path, folder in zip(paths, folders) if folder is None]
    if loose or len(classes) < 2:
        raise DataError(
            f"{directory}: --conditional takes its classes from subfolders, one per class "
            f"(found {len(classes)} with images"
            + (f", and {len(loose)} images outside any, e.g. {loose[0]}" if loose else "")
            + "). Put each class's images in a subfolder of its own.")
    images, read = _read_images(directory, paths, image_size, channels)
    _, folders = _class_of_each(directory, read)
    # A class is a subfolder with readable images, as the folder measure counts them:
    # one whose files all fail to decode would be an empty class the generator is
    # asked for but never shown (a zip's __MACOSX/ folder of ._ files, say).
    empty = sorted(set(classes) - set(folders))
    if empty:
        raise DataError(
            f"{directory}: the subfolder(s) {', '.join(empty)} hold no readable image, so "
            "--conditional would make them classes without examples. Remove them (or fix "
            "their images).")
    index = {name: k for k, name in enumerate(classes)}
    return images, np.array([index[folder] for folder in folders], np.int32), classes


def read_image_folder(directory, image_size, channels):
    """Reads every image under `directory`, resized and centre-cropped.

    Files that cannot be decoded are skipped; their count and names are logged.
    Palette, CMYK, alpha and 16-bit images are converted to `channels`.

    Returns:
        uint8 array [N, image_size, image_size, channels].
    """
    return _read_images(directory, list_image_files(directory), image_size, channels)[0]


def _read_images(directory, paths, image_size, channels):
    """(images, the paths among `paths` (the folder's image files) read), skipping
    unreadable files."""
    if not paths:
        raise DataError(
            f"{directory}: no images found (looked recursively for "
            f"{', '.join(IMAGE_EXTENSIONS)}).")
    images, read, skipped = [], [], []
    for path in tqdm(paths, desc=f"Reading {directory}", unit="img", leave=False):
        try:
            images.append(load_image(path, image_size, channels))
            read.append(path)
        except Exception as e:  # Pillow raises many types (SyntaxError for a broken PNG).
            skipped.append(f"{path} ({type(e).__name__}: {e})")
    if skipped:
        logger.warning("Skipped %d unreadable file(s) of %d:\n  %s",
                       len(skipped), len(paths), "\n  ".join(skipped))
    if not images:
        raise DataError(f"{directory}: none of the {len(paths)} image files could be read.")
    return np.stack(images), read


def load_image(path, image_size, channels):
    """Decodes one image to uint8 [image_size, image_size, channels].

    The centre square is cropped, then resized to `image_size` (Lanczos), so faces
    in CelebA-style photos keep their aspect ratio. The file is decoded only as the
    format its extension names. A photo's
    EXIF orientation is applied first, so camera pictures are not trained sideways.
    """
    extension = os.path.splitext(path)[1].lower()
    with Image.open(path, formats=[FORMATS[extension]]) as image:
        image = ImageOps.exif_transpose(image)
        # The centre square first, then the resize: a 1x30000 strip costs a 1x1
        # crop, not a 64x1,920,000 intermediate.
        width, height = image.size
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        image = image.crop((left, top, left + side, top + side))
        image = _to_mode(image, "L" if channels == 1 else "RGB")
        image = image.resize((image_size, image_size), Image.Resampling.LANCZOS)
        array = np.asarray(image, dtype=np.uint8)
    return array.reshape(image_size, image_size, channels)


def _to_mode(image, mode):
    """Converts any PIL image to 8-bit 'L' or 'RGB'; alpha is composited on black."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16/32-bit grayscale: scale to 8 bits instead of clipping at 255.
        array = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if image.mode.startswith("I;16") else max(array.max(), 1.0)
        image = Image.fromarray(np.uint8(np.clip(array / peak * 255.0, 0, 255).round()))
    if image.mode == "P":
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA"):
        background = Image.new("RGBA", image.size, (0, 0, 0, 255))
        image = Image.alpha_composite(background, image.convert("RGBA"))
    return image.convert(mode)
