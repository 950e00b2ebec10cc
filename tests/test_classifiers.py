"""Tests for dcgan_tf.classifiers: the shipped feature networks and their data."""

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from dcgan_tf import classifiers, data
from dcgan_tf.errors import InputError

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
# Measured: 0.9850 (MNIST, 2,000 held out) and 0.8966 (Fashion-MNIST, 10,000).
MIN_ACCURACY = {"mnist": 0.98, "fashion_mnist": 0.89}
HAS_FASHION_MNIST = os.path.isdir(data.DATASET_TABLE["fashion_mnist"].system_dir)


@pytest.fixture(scope="module")
def mnist_net():
    return classifiers.load_feature_net("mnist")


@pytest.mark.parametrize("dataset", [
    "mnist",
    pytest.param("fashion_mnist", marks=pytest.mark.skipif(
        not HAS_FASHION_MNIST, reason="dataset-fashion-mnist is not installed")),
])
def test_shipped_classifier_classifies_held_out_images_as_recorded(dataset):
    net = classifiers.load_feature_net(dataset)
    _, test = classifiers.load_splits(dataset)

    _, logits = classifiers.extract(net, test.images)
    accuracy = float(np.mean(logits.argmax(axis=1) == test.labels))

    assert accuracy > MIN_ACCURACY[dataset]
    # The JSON shipped beside the weights describes these very weights.
    assert accuracy == pytest.approx(net.info["test_accuracy"], abs=1e-6)
    assert net.info["test_images"] == len(test.images)


@pytest.mark.parametrize("dataset", classifiers.DATASETS)
def test_shipped_classifier_files_are_under_one_megabyte(dataset):
    size = os.path.getsize(os.path.join(classifiers.CLASSIFIER_DIR, f"{dataset}.keras"))

    assert 0 < size < 1_000_000


def test_shipped_mnist_record_states_the_sample_limitation(mnist_net):
    assert "8,000" in mnist_net.info["limitation"]
    assert mnist_net.info["train_images"] == 8000


def test_load_splits_mnist_holds_out_every_fifth_bundled_image():
    train, test = classifiers.load_splits("mnist")

    assert (len(train.images), len(test.images)) == (8000, 2000)
    assert train.images.shape[1:] == test.images.shape[1:] == (28, 28, 1)
    # Interleaved, so both writer groups of the test split are in both parts.
    bundled = classifiers.readers.read_idx_images(
        os.path.join(data.BUNDLED_MNIST_DIR, "t10k-images-idx3-ubyte.gz"))
    np.testing.assert_array_equal(test.images, bundled[4::5])
    np.testing.assert_array_equal(train.images[:4], bundled[:4])


def test_extract_returns_float64_penultimate_features_and_logits(mnist_net):
    _, test = classifiers.load_splits("mnist")
    images = test.images[:7]

    features, logits = classifiers.extract(mnist_net, images, batch_size=3)

    assert features.shape == (7, classifiers.FEATURE_DIM) and logits.shape == (7, 10)
    assert features.dtype == logits.dtype == np.float64
    assert features.min() >= 0  # ReLU units.
    # The logits are the last Dense layer applied to exactly these features.
    kernel, bias = mnist_net.model.get_layer("logits").get_weights()
    np.testing.assert_allclose(features @ kernel + bias, logits, rtol=1e-4, atol=1e-4)


def test_extract_uint8_and_tanh_range_floats_give_same_features(mnist_net):
    _, test = classifiers.load_splits("mnist")
    images = test.images[:5]

    from_uint8, _ = classifiers.extract(mnist_net, images)
    from_float, _ = classifiers.extract(mnist_net, np.asarray(data.normalize(images)))

    np.testing.assert_allclose(from_uint8, from_float, atol=1e-5)


def test_extract_rgb_32x32_images_raises_input_error(mnist_net):
    with pytest.raises(InputError, match="32x32x3.*28x28x1"):
        classifiers.extract(mnist_net, np.zeros((2, 32, 32, 3), np.float32))


@pytest.mark.parametrize("dataset", ["cifar10", "folder"])
def test_load_feature_net_dataset_without_network_raises_input_error(dataset):
    with pytest.raises(InputError, match=f"--dataset={dataset}: no feature network"):
        classifiers.load_feature_net(dataset)


def test_load_feature_net_missing_files_raises_input_error_naming_script(tmp_path):
    with pytest.raises(InputError, match="scripts/train_classifiers.py"):
        classifiers.load_feature_net("mnist", directory=str(tmp_path))


def test_build_classifier_is_small_with_named_128_unit_features():
    model = classifiers.build_classifier()

    assert model.count_params() < 250_000
    assert model.get_layer("features").units == classifiers.FEATURE_DIM
    assert model.output.shape[-1] == classifiers.NUM_CLASSES


TRAIN_TWICE = """
import numpy as np
from dcgan_tf import classifiers
train, test = classifiers.load_splits("mnist")
small = classifiers.LabelledSplit(train.images[:512], train.labels[:512], "first 512")
config = classifiers.TrainingConfig(dataset="mnist", epochs=1, batch_size=16, seed=3)
runs = [classifiers.train_classifier(config, small, test) for _ in range(2)]
(first, info), (second, _) = runs
print("DIFF", max(float(np.abs(a - b).max())
                  for a, b in zip(first.get_weights(), second.get_weights())))
print("ACCURACY", info["test_accuracy"])
"""


def test_train_classifier_same_seed_repeats_weights_exactly(tmp_path):
    # In a subprocess: train_classifier turns on TensorFlow's global op determinism.
    result = subprocess.run([sys.executable, "-c", TRAIN_TWICE], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=300)

    assert result.returncode == 0, result.stderr[-3000:]
    values = dict(line.split() for line in result.stdout.splitlines()
                  if line.startswith(("DIFF", "ACCURACY")))
    assert float(values["DIFF"]) == 0.0
    assert float(values["ACCURACY"]) > 0.5  # Chance is 0.1: 32 steps already learn.


def test_train_classifiers_script_dataset_without_network_exits_2(tmp_path):
    result = subprocess.run(
        [sys.executable, "scripts/train_classifiers.py", "--datasets=cifar10",
         f"--out_dir={tmp_path}"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)

    assert result.returncode == 2
    assert "no feature network" in result.stderr
    assert "Traceback" not in result.stderr
    assert not os.listdir(tmp_path)

