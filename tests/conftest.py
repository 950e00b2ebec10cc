"""Shared fixtures: IDX files as MNIST ships them, and small real-digit datasets."""

import gzip
import struct

import numpy as np
import pytest

IDX_IMAGES_MAGIC = 0x00000803


@pytest.fixture
def write_idx_images():
    """Returns write(path, images): writes uint8 [N, rows, cols(, 1)] as an IDX3 file,
    gzipped when `path` ends in '.gz', and returns the path."""

    def write(path, images):
        images = np.asarray(images, dtype=np.uint8).reshape(len(images), *images.shape[1:3])
        count, rows, cols = images.shape
        payload = struct.pack(">IIII", IDX_IMAGES_MAGIC, count, rows, cols) + images.tobytes()
        opener = gzip.open if str(path).endswith(".gz") else open
        with opener(path, "wb") as f:
            f.write(payload)
        return path

    return write


@pytest.fixture(scope="session")
def mnist_npz(tmp_path_factory):
    """Returns make(count): the path of a Keras-style .npz holding the first `count`
    real digits of the bundled MNIST sample (written once per count)."""
    from dcgan_tf import data  # Imported here: TensorFlow loads only for tests using it.

    made = {}

    def make(count):
        if count not in made:
            images = data.read_local_copy(data.BUNDLED_MNIST_DIR).images[:count, ..., 0]
            made[count] = str(tmp_path_factory.mktemp("mnist") / f"mnist_{count}.npz")
            np.savez(made[count], x_train=images)
        return made[count]

    return make
