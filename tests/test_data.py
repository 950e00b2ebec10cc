"""Tests for dcgan_tf.data: finding the images, converting them, and the tf.data pipeline.

No test touches the network or the machine's own datasets: downloads are off, and
the Fashion-MNIST system folder and Keras' cache point into tmp_path.
"""

import dataclasses
import logging
import os
import pathlib
import pickle
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from dcgan_tf import data
from dcgan_tf.config import Config
from dcgan_tf.readers import DataError

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def isolated_sources(tmp_path, monkeypatch):
    """Points the system Fashion-MNIST folder and Keras' cache at empty tmp folders.

    Returns:
        (fashion_system_dir, keras_home) as pathlib.Paths; neither exists yet.
    """
    fashion_dir = tmp_path / "system" / "fashion-mnist"
    keras_home = tmp_path / "keras_home"
    monkeypatch.setitem(data.DATASET_TABLE, "fashion_mnist", dataclasses.replace(
        data.DATASET_TABLE["fashion_mnist"], system_dir=str(fashion_dir)))
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    return fashion_dir, keras_home


def _constant_images(values, size=4, channels=1):
    """uint8 [len(values), size, size, channels]; image i is filled with values[i]."""
    values = np.asarray(values, np.uint8)
    return np.broadcast_to(values[:, None, None, None], (len(values), size, size, channels)).copy()


def _resolved(**overrides):
    return data.resolve(Config(download=False, **overrides))


# --- resolve ---------------------------------------------------------------------------


@pytest.mark.parametrize("dataset, size, channels", [
    ("mnist", 28, 1), ("fashion_mnist", 28, 1), ("cifar10", 32, 3), ("folder", 64, 3)])
def test_resolve_fills_native_shape_and_workdir(dataset, size, channels):
    config = data.resolve(Config(dataset=dataset, data_dir="/images"))

    assert (config.image_size, config.channels) == (size, channels)
    assert config.workdir == os.path.join("runs", dataset)


def test_resolve_keeps_explicit_settings():
    config = data.resolve(Config(dataset="mnist", image_size=64, channels=3, workdir="/w"))

    assert (config.image_size, config.channels, config.workdir) == (64, 3, "/w")


# --- read_local_copy -------------------------------------------------------------------


def test_read_local_copy_folder_prefers_train_images_over_t10k(tmp_path, write_idx_images):
    write_idx_images(str(tmp_path / "t10k-images-idx3-ubyte.gz"), _constant_images([1] * 2))
    train = write_idx_images(str(tmp_path / "train-images-idx3-ubyte.gz"),
                             _constant_images([2] * 3))

    loaded = data.read_local_copy(str(tmp_path))

    assert loaded.source == train
    assert loaded.images.shape == (3, 4, 4, 1)


def test_read_local_copy_accepts_dotted_train_name(tmp_path, write_idx_images):
    train = write_idx_images(str(tmp_path / "train-images.idx3-ubyte"), _constant_images([5] * 2))

    assert data.read_local_copy(str(tmp_path)).source == train


def test_read_local_copy_only_t10k_falls_back_with_warning(tmp_path, write_idx_images, caplog):
    test_split = write_idx_images(str(tmp_path / "t10k-images-idx3-ubyte"),
                                  _constant_images([7] * 2))

    with caplog.at_level(logging.WARNING, logger=data.__name__):
        loaded = data.read_local_copy(str(tmp_path))

    assert loaded.source == test_split
    assert "no training split" in caplog.text
    assert "t10k-images-idx3-ubyte" in caplog.text


def test_read_local_copy_file_path_is_read_directly(tmp_path, write_idx_images):
    path = write_idx_images(str(tmp_path / "anything.idx"), _constant_images([9] * 3))

    loaded = data.read_local_copy(path)

    assert loaded.source == path
    np.testing.assert_array_equal(loaded.images, 9)


def test_read_local_copy_npz_file_and_folder(tmp_path):
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=np.full((3, 4, 4), 8, np.uint8))

    for location in (path, tmp_path):
        loaded = data.read_local_copy(str(location))
        assert loaded.source == str(path)
        assert loaded.images.shape == (3, 4, 4, 1)


def test_read_local_copy_cifar_folder_reads_batches(tmp_path):
    batches = tmp_path / "cifar-10-batches-py"
    batches.mkdir()
    with open(batches / "data_batch_1", "wb") as f:
        pickle.dump({b"data": np.zeros((2, 3072), np.uint8)}, f)

    for location in (batches, tmp_path):  # The batches or the folder holding them.
        assert data.read_local_copy(str(location)).images.shape == (2, 32, 32, 3)


def test_read_local_copy_folder_without_dataset_raises_naming_it(tmp_path):
    (tmp_path / "readme.txt").write_text("nothing to train on")

    with pytest.raises(DataError, match="found no dataset files") as raised:
        data.read_local_copy(str(tmp_path))

    assert str(tmp_path) in str(raised.value)
    assert "train-images-idx3-ubyte" in str(raised.value)


def test_read_local_copy_missing_path_raises_data_error(tmp_path):
    with pytest.raises(DataError, match="no such file or folder"):
        data.read_local_copy(str(tmp_path / "absent"))


# --- load_images -----------------------------------------------------------------------


def test_load_images_mnist_without_sources_uses_bundled_sample_and_says_so(caplog):
    config = _resolved(dataset="mnist")

    with caplog.at_level(logging.INFO, logger=data.__name__):
        loaded = data.load_images(config)

    assert loaded.images.shape == (10000, 28, 28, 1)
    assert loaded.images.dtype == np.uint8
    assert loaded.images.max() == 255
    assert loaded.source.startswith(data.BUNDLED_MNIST_DIR)
    assert "10,000-image" in caplog.text
    assert "--nodownload" in caplog.text


def test_load_images_mnist_uses_keras_cache(isolated_sources):
    _, keras_home = isolated_sources
    cache = keras_home / "datasets" / "mnist.npz"
    cache.parent.mkdir(parents=True)
    np.savez(cache, x_train=np.full((4, 28, 28), 3, np.uint8))

    loaded = data.load_images(_resolved(dataset="mnist", batch_size=2))

    assert loaded.source == str(cache)
    assert loaded.images.shape == (4, 28, 28, 1)


def test_load_images_cifar10_uses_keras3_cache_folder(isolated_sources):
    _, keras_home = isolated_sources
    batches = keras_home / "datasets" / "cifar-10-batches-py-target" / "cifar-10-batches-py"
    batches.mkdir(parents=True)
    with open(batches / "data_batch_1", "wb") as f:
        pickle.dump({b"data": np.zeros((4, 3072), np.uint8)}, f)

    loaded = data.load_images(_resolved(dataset="cifar10", batch_size=2))

    assert loaded.source == str(batches)
    assert loaded.images.shape == (4, 32, 32, 3)


def test_load_images_fashion_without_local_copy_raises_with_apt_hint():
    with pytest.raises(DataError) as raised:
        data.load_images(_resolved(dataset="fashion_mnist"))

    message = str(raised.value)
    assert "--dataset=fashion_mnist" in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert "--nodownload" in message


def test_load_images_fashion_uses_system_dir_holding_idx(isolated_sources, write_idx_images):
    fashion_dir, _ = isolated_sources
    fashion_dir.mkdir(parents=True)
    train = write_idx_images(str(fashion_dir / "train-images-idx3-ubyte.gz"),
                             _constant_images([4] * 3, size=28))

    loaded = data.load_images(_resolved(dataset="fashion_mnist", batch_size=2))

    assert loaded.source == train
    assert loaded.images.shape == (3, 28, 28, 1)


def test_load_images_fashion_empty_system_dir_is_not_used(isolated_sources):
    fashion_dir, _ = isolated_sources
    fashion_dir.mkdir(parents=True)

    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        data.load_images(_resolved(dataset="fashion_mnist"))


def test_load_images_data_dir_is_converted_to_config_shape(tmp_path, write_idx_images):
    write_idx_images(str(tmp_path / "train-images-idx3-ubyte"), _constant_images([6] * 3, 28))

    loaded = data.load_images(_resolved(dataset="mnist", data_dir=str(tmp_path),
                                        image_size=32, channels=3, batch_size=3))

    assert loaded.images.shape == (3, 32, 32, 3)
    np.testing.assert_array_equal(loaded.images, 6)


def test_load_images_fewer_images_than_a_batch_raises_naming_batch_size(
        tmp_path, write_idx_images):
    path = write_idx_images(str(tmp_path / "train-images-idx3-ubyte"),
                            _constant_images([1] * 3, 28))

    with pytest.raises(DataError, match="--batch_size=4") as raised:
        data.load_images(_resolved(dataset="mnist", data_dir=str(tmp_path), batch_size=4))

    assert path in str(raised.value)
    assert "only 3 images" in str(raised.value)


def test_load_images_folder_dataset_reads_images(tmp_path):
    for index in range(3):
        Image.new("RGB", (20, 24), (index, 0, 0)).save(tmp_path / f"{index}.png")

    loaded = data.load_images(_resolved(dataset="folder", data_dir=str(tmp_path),
                                        image_size=32, batch_size=2))

    assert loaded.images.shape == (3, 32, 32, 3)
    assert str(tmp_path) in loaded.source


def test_load_images_folder_missing_raises_naming_it(tmp_path):
    missing = str(tmp_path / "absent")

    with pytest.raises(DataError, match=f"--data_dir={missing}"):
        data.load_images(_resolved(dataset="folder", data_dir=missing))


# --- convert_images and normalize -------------------------------------------------------


def test_convert_images_gray_to_rgb_repeats_channel():
    images = _constant_images([0, 100, 255], size=28)

    converted = data.convert_images(images, 28, 3)

    assert converted.shape == (3, 28, 28, 3)
    np.testing.assert_array_equal(converted, np.repeat(images, 3, axis=-1))


def test_convert_images_rgb_to_gray_uses_luma():
    pixels = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]], np.uint8)
    images = np.broadcast_to(pixels[:, None, None, :], (4, 8, 8, 3))

    converted = data.convert_images(images, 8, 1)

    assert converted.shape == (4, 8, 8, 1)
    assert converted.dtype == np.uint8
    np.testing.assert_array_equal(converted[:, 0, 0, 0], [76, 150, 29, 255])


def test_convert_images_resizes_28_to_32_keeping_values():
    images = _constant_images([0, 128, 255], size=28)

    converted = data.convert_images(images, 32, 1)

    assert converted.shape == (3, 32, 32, 1)
    assert converted.dtype == np.uint8
    np.testing.assert_array_equal(converted[:, :, :, 0].max(axis=(1, 2)), [0, 128, 255])
    np.testing.assert_array_equal(converted[:, :, :, 0].min(axis=(1, 2)), [0, 128, 255])


def test_convert_images_resizes_in_chunks_keeping_order(monkeypatch):
    monkeypatch.setattr(data, "_RESIZE_CHUNK", 3)
    images = _constant_images([10, 20, 30, 40, 50, 60, 70], size=28)

    converted = data.convert_images(images, 32, 1)

    np.testing.assert_array_equal(converted[:, 5, 5, 0], [10, 20, 30, 40, 50, 60, 70])


def test_convert_images_matching_shape_is_unchanged():
    images = _constant_images([3, 4], size=28)

    np.testing.assert_array_equal(data.convert_images(images, 28, 1), images)


def test_convert_images_non_square_raises_data_error():
    with pytest.raises(DataError, match="28x32"):
        data.convert_images(np.zeros((2, 28, 32, 1), np.uint8), 28, 1)


def test_convert_images_four_channels_raises_data_error():
    with pytest.raises(DataError, match="4 channels"):
        data.convert_images(np.zeros((2, 8, 8, 4), np.uint8), 8, 3)


def test_normalize_maps_uint8_range_to_minus_one_one():
    normalized = data.normalize(np.array([0, 255, 127, 128], np.uint8))

    assert normalized.dtype == tf.float32
    np.testing.assert_allclose(normalized.numpy(), [-1.0, 1.0, -1 / 255, 1 / 255], atol=1e-6)


# --- make_dataset ----------------------------------------------------------------------

NUM_IMAGES = 20


def _sorted_images():
    """uint8 [20, 4, 4, 1]; image i is filled with 10 * i, so a batch shows its order."""
    return _constant_images(np.arange(NUM_IMAGES) * 10)


def _order(dataset):
    """The index of every image the dataset yields, batch by batch."""
    return [int(i) for batch in dataset
            for i in np.round((batch[:, 0, 0, 0].numpy() * 127.5 + 127.5) / 10)]


def test_make_dataset_yields_full_float_batches_in_minus_one_one():
    dataset = data.make_dataset(_sorted_images(), batch_size=6, buffer_size=0, seed=0, epoch=0)

    batches = list(dataset)

    assert len(batches) == NUM_IMAGES // 6  # The 2 left over are dropped.
    for batch in batches:
        assert batch.shape == (6, 4, 4, 1)
        assert batch.dtype == tf.float32
        assert -1.0 <= float(tf.reduce_min(batch)) and float(tf.reduce_max(batch)) <= 1.0


def test_make_dataset_epoch_is_a_permutation_of_the_images():
    order = _order(data.make_dataset(_sorted_images(), 5, 0, seed=0, epoch=0))

    assert sorted(order) == list(range(NUM_IMAGES))


def test_make_dataset_accepts_tensor_input():
    images = _sorted_images()

    from_array = _order(data.make_dataset(images, 5, 0, seed=1, epoch=2))
    from_tensor = _order(data.make_dataset(tf.convert_to_tensor(images), 5, 0, seed=1, epoch=2))

    assert from_tensor == from_array


def test_make_dataset_same_seed_and_epoch_gives_same_order():
    first = _order(data.make_dataset(_sorted_images(), 5, 0, seed=3, epoch=1))
    second = _order(data.make_dataset(_sorted_images(), 5, 0, seed=3, epoch=1))

    assert first == second


def test_make_dataset_different_epoch_or_seed_gives_different_order():
    base = _order(data.make_dataset(_sorted_images(), 5, 0, seed=3, epoch=1))

    assert _order(data.make_dataset(_sorted_images(), 5, 0, seed=3, epoch=2)) != base
    assert _order(data.make_dataset(_sorted_images(), 5, 0, seed=4, epoch=1)) != base


@pytest.mark.parametrize("skip_batches", [1, 3])
def test_make_dataset_skip_batches_gives_tail_of_unskipped_epoch(skip_batches):
    full = _order(data.make_dataset(_sorted_images(), 4, 0, seed=5, epoch=2))

    tail = _order(data.make_dataset(_sorted_images(), 4, 0, seed=5, epoch=2,
                                    skip_batches=skip_batches))

    assert tail == full[skip_batches * 4:]


def test_make_dataset_buffer_of_one_keeps_sorted_input_sorted():
    order = _order(data.make_dataset(_sorted_images(), 5, buffer_size=1, seed=0, epoch=0))

    assert order == list(range(NUM_IMAGES))


def test_make_dataset_small_buffer_only_shuffles_locally():
    for epoch in range(4):
        order = _order(data.make_dataset(_sorted_images(), 5, buffer_size=2, seed=0,
                                         epoch=epoch))
        # With 2 images buffered, output j can be at most image j + 1.
        assert all(index <= position + 1 for position, index in enumerate(order)), order


def test_make_dataset_full_buffer_moves_late_images_into_first_batch():
    first_batches = [_order(data.make_dataset(_sorted_images(), 5, buffer_size=0, seed=0,
                                              epoch=epoch))[:5] for epoch in range(4)]

    assert any(max(batch) >= NUM_IMAGES // 2 for batch in first_batches), first_batches


# --- train.py on bad input ---------------------------------------------------------------


@pytest.fixture(scope="module")
def train_py_runs(tmp_path_factory):
    """Runs train.py on three bad inputs at once (each process spends ~5 s importing TF).

    Returns:
        {case: (returncode, stderr, input path, workdir)}.
    """
    root = tmp_path_factory.mktemp("train_py")
    empty = root / "empty_folder"
    empty.mkdir()
    bad_mnist = root / "bad_mnist"
    bad_mnist.mkdir()
    bad_idx = bad_mnist / "train-images-idx3-ubyte"
    bad_idx.write_bytes(b"\x00\x00\x08\x01 this is no IDX image file")
    cases = {
        "empty_folder": (["--dataset=folder", f"--data_dir={empty}"], str(empty)),
        "corrupt_idx": (["--dataset=mnist", f"--data_dir={bad_mnist}"], str(bad_idx)),
        "unknown_dataset": (["--dataset=foo"], "--dataset=foo"),
    }
    env = dict(os.environ, KERAS_HOME=str(root / "keras_home"), CUDA_VISIBLE_DEVICES="")
    processes = {}
    for name, (flags, _) in cases.items():
        workdir = root / f"{name}_run"
        command = [sys.executable, "train.py", *flags, f"--workdir={workdir}", "--nodownload",
                   "--epochs=1", "--batch_size=2"]
        processes[name] = (subprocess.Popen(command, cwd=REPO_ROOT, env=env, text=True,
                                            stdout=subprocess.PIPE, stderr=subprocess.PIPE),
                           workdir)
    results = {}
    for name, (process, workdir) in processes.items():
        _, stderr = process.communicate(timeout=180)
        results[name] = (process.returncode, stderr, cases[name][1], workdir)
    return results


@pytest.mark.parametrize("case", ["empty_folder", "corrupt_idx", "unknown_dataset"])
def test_train_py_bad_input_exits_2_naming_it_without_traceback(train_py_runs, case):
    returncode, stderr, named_input, workdir = train_py_runs[case]

    assert returncode == 2, stderr
    assert named_input in stderr
    assert "Traceback" not in stderr
    assert not workdir.exists()


def test_make_dataset_runs_without_tf_data_autotuning():
    # An autotuned pipeline's iterator waits for the tuning thread's next wake-up
    # when it is deleted: seconds at the end of every epoch (docs/performance.md).
    dataset = data.make_dataset(_sorted_images(), 5, 0, seed=0, epoch=0)

    assert dataset.options().autotune.enabled is False


def test_npz_of_non_square_images_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "wide.npz"
    np.savez(path, x_train=np.zeros((40, 28, 30), np.uint8))
    with pytest.raises(DataError, match=f"{path}: images are 28x30; only squares"):
        data.load_images(data.resolve(Config(dataset="mnist", data_dir=str(path),
                                             batch_size=8)))
