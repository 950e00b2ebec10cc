"""Tests for dcgan_tf.readers.read_idx_labels: IDX1 label files, as MNIST ships them."""

import gzip
import struct

import numpy as np
import pytest

from dcgan_tf import data, readers
from dcgan_tf.readers import DataError

IDX_LABELS_MAGIC = 0x00000801


def _write_labels(path, labels, magic=IDX_LABELS_MAGIC, count=None):
    labels = np.asarray(labels, dtype=np.uint8)
    payload = struct.pack(">II", magic, len(labels) if count is None else count)
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(payload + labels.tobytes())
    return path


@pytest.mark.parametrize("name", ["labels-idx1-ubyte", "labels-idx1-ubyte.gz"])
def test_read_idx_labels_round_trip_returns_exact_labels(tmp_path, name):
    labels = np.array([3, 0, 9, 9, 1], dtype=np.uint8)
    path = _write_labels(tmp_path / name, labels)

    read = readers.read_idx_labels(path)

    assert read.dtype == np.uint8
    np.testing.assert_array_equal(read, labels)


def test_read_idx_labels_bundled_mnist_has_ten_balanced_classes():
    labels = readers.read_idx_labels(f"{data.BUNDLED_MNIST_DIR}/t10k-labels-idx1-ubyte.gz")

    assert labels.shape == (10000,)
    counts = np.bincount(labels)
    assert len(counts) == 10 and counts.min() > 800


def test_read_idx_labels_image_file_raises_data_error_naming_magic(tmp_path, write_idx_images):
    path = write_idx_images(str(tmp_path / "train-images-idx3-ubyte"), np.zeros((2, 3, 3)))

    with pytest.raises(DataError, match="not an IDX label file") as raised:
        readers.read_idx_labels(path)

    assert path in str(raised.value)
    assert "0x00000803" in str(raised.value)


def test_read_idx_labels_truncated_raises_data_error_naming_file(tmp_path):
    path = _write_labels(tmp_path / "labels-idx1-ubyte", [1, 2, 3], count=5)

    with pytest.raises(DataError, match="truncated") as raised:
        readers.read_idx_labels(path)

    assert str(path) in str(raised.value)
    assert "5 labels" in str(raised.value)


def test_read_idx_labels_shorter_than_header_raises_data_error(tmp_path):
    path = tmp_path / "labels-idx1-ubyte"
    path.write_bytes(b"\x00\x00\x08\x01\x00")

    with pytest.raises(DataError, match="too short") as raised:
        readers.read_idx_labels(path)

    assert str(path) in str(raised.value)


def test_read_idx_labels_gz_that_is_not_gzip_raises_data_error(tmp_path):
    path = tmp_path / "labels-idx1-ubyte.gz"
    path.write_bytes(b"this is plain text, not gzip")

    with pytest.raises(DataError, match="cannot read") as raised:
        readers.read_idx_labels(path)

    assert str(path) in str(raised.value)


def test_read_idx_labels_missing_file_raises_data_error(tmp_path):
    with pytest.raises(DataError, match="cannot read"):
        readers.read_idx_labels(tmp_path / "absent-labels-idx1-ubyte")


def test_read_idx_labels_out_of_range_label_raises_data_error_naming_index(tmp_path):
    path = _write_labels(tmp_path / "labels-idx1-ubyte", [0, 4, 12, 1])

    with pytest.raises(DataError, match="label 12 at index 2"):
        readers.read_idx_labels(path)
    np.testing.assert_array_equal(readers.read_idx_labels(path, num_classes=13), [0, 4, 12, 1])
