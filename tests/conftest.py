"""Fixtures shared by the data tests: writing IDX image files, as MNIST ships them."""

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
