"""Shared fixtures: IDX files as MNIST ships them, and small real-digit datasets."""

import csv
import gzip
import os
import struct

import numpy as np
import pytest

IDX_IMAGES_MAGIC = 0x00000803


@pytest.fixture(autouse=True)
def float32_on_every_cpu(monkeypatch):
    """--precision=auto picks float32 in the tests' own process, whatever the CPU, so
    that a test computes the same everywhere (train.py started as a subprocess still
    chooses by the hardware). Tests of the choice itself call monkeypatch.undo()."""
    from dcgan_tf import devices

    monkeypatch.setattr(devices, "choose_precision",
                        lambda: ("float32", "the tests compute in float32"))


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


@pytest.fixture(scope="session")
def tiny_npz(mnist_npz):
    """96 real digits: 3 steps per epoch at batch 32, so epochs end quickly."""
    return mnist_npz(96)


def small_config(data_dir, workdir, **overrides):
    """A Config for a few quick steps on `data_dir`: tiny noise, 4-image frames,
    no download, no XLA (compiling costs more than a few steps train), and the
    SavedModel export only (LiteRT and ONNX have tests of their own). Its
    --precision=auto is float32 here, as every test's (float32_on_every_cpu)."""
    from dcgan_tf import config  # Imported here: TensorFlow loads only for tests using it.

    settings = dict(data_dir=str(data_dir), workdir=str(workdir), download=False,
                    batch_size=32, epochs=2, num_examples_to_generate=4, noise_dim=16,
                    jit_compile=False, ema_decay=0.0,  # Tests that need the average say so.
                    export_formats="saved_model")  # Converting costs seconds; tests ask.
    return config.Config(**{**settings, **overrides})


def read_log(workdir, name="losses.csv"):
    """The rows of a run's CSV log (losses.csv or metrics.csv), as dicts of strings."""
    with open(os.path.join(str(workdir), name), newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))
