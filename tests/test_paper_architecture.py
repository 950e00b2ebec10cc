"""--architecture=dcgan_paper: PyTorch's DCGAN example, layer for layer."""

import dataclasses
import os
import subprocess
import sys
from unittest import mock

import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from conftest import read_log
from dcgan_tf import config, data, losses, models, training
from dcgan_tf.train_step import StepParts, compute_gradients
from dcgan_tf.state import TrainState

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PHOTOS = os.path.join(REPO, "tests", "data", "photos")
NZ, NGF, NDF, NC = 100, 64, 64, 3


def _conv(in_channels, out_channels, kernel=4, bias=False):
    """Parameters of PyTorch's Conv2d / ConvTranspose2d: C_in * C_out * k * k (+ C_out)."""
    return in_channels * out_channels * kernel * kernel + (out_channels if bias else 0)


def _batchnorm(channels):
    """Learnable parameters of PyTorch's BatchNorm2d: weight and bias, C each."""
    return 2 * channels


# PyTorch's DCGAN example (ngf = ndf = 64, nz = 100, nc = 3), module by module.
PYTORCH_GENERATOR = [  # (output shape HWC, parameters)
    ((4, 4, NGF * 8), _conv(NZ, NGF * 8) + _batchnorm(NGF * 8)),
    ((8, 8, NGF * 4), _conv(NGF * 8, NGF * 4) + _batchnorm(NGF * 4)),
    ((16, 16, NGF * 2), _conv(NGF * 4, NGF * 2) + _batchnorm(NGF * 2)),
    ((32, 32, NGF), _conv(NGF * 2, NGF) + _batchnorm(NGF)),
    ((64, 64, NC), _conv(NGF, NC)),
]
PYTORCH_DISCRIMINATOR = [
    ((32, 32, NDF), _conv(NC, NDF)),
    ((16, 16, NDF * 2), _conv(NDF, NDF * 2) + _batchnorm(NDF * 2)),
    ((8, 8, NDF * 4), _conv(NDF * 2, NDF * 4) + _batchnorm(NDF * 4)),
    ((4, 4, NDF * 8), _conv(NDF * 4, NDF * 8) + _batchnorm(NDF * 8)),
    ((1, 1, 1), _conv(NDF * 8, 1)),
]


def _paper(image_size=64, channels=3, **overrides):
    return config.pytorch_preset(image_size=image_size, channels=channels, **overrides)


def _trainable(model):
    return sum(int(np.prod(v.shape)) for v in model.trainable_variables)


def _block_shapes(model, kinds):
    return [tuple(layer.output.shape[1:]) for layer in model.layers
            if type(layer).__name__ in kinds]


def test_generator_64x64x3_matches_pytorch_shapes_and_parameter_count():
    generator = models.build_generator(_paper())
    assert _trainable(generator) == sum(count for _, count in PYTORCH_GENERATOR) == 3_576_704
    # The Dense projection is PyTorch's first ConvTranspose2d on a 1x1 input.
    assert _block_shapes(generator, ("Reshape", "Conv2DTranspose")) == [
        shape for shape, _ in PYTORCH_GENERATOR]
    kinds = {type(layer).__name__ for layer in generator.layers}
    assert "ReLU" in kinds and "LeakyReLU" not in kinds


def test_discriminator_64x64x3_matches_pytorch_shapes_and_parameter_count():
    discriminator = models.build_discriminator(_paper())
    assert _trainable(discriminator) == sum(c for _, c in PYTORCH_DISCRIMINATOR) == 2_765_568
    assert _block_shapes(discriminator, ("Conv2D",)) == [s for s, _ in PYTORCH_DISCRIMINATOR]
    kinds = [type(layer).__name__ for layer in discriminator.layers]
    assert kinds.count("BatchNormalization") == 3 and "Dropout" not in kinds
    assert discriminator.output_shape == (None, 1)  # A logit: no Sigmoid.


def test_batchnorm_uses_pytorch_momentum_and_epsilon():
    for model in (models.build_generator(_paper()), models.build_discriminator(_paper())):
        norms = [layer for layer in model.layers if isinstance(layer, layers.BatchNormalization)]
        assert norms and all((n.momentum, n.epsilon) == (0.9, 1e-5) for n in norms)


@pytest.mark.parametrize("image_size,channels", [(28, 1), (32, 3), (64, 3), (128, 3)])
def test_every_image_size_maps_noise_to_image_to_logit(image_size, channels):
    cfg = _paper(image_size, channels, noise_dim=8, generator_filters=8,
                 discriminator_filters=8)
    images = models.build_generator(cfg)(tf.random.normal([2, 8]), training=False)
    assert images.shape == (2, image_size, image_size, channels)
    assert models.build_discriminator(cfg)(images, training=False).shape == (2, 1)


def test_discriminator_batchnorm_in_training_mode_for_real_and_fake_passes():
    cfg = _paper(32, 3, noise_dim=8, generator_filters=8, discriminator_filters=8)
    state = TrainState.create(cfg)
    discriminator = state.discriminator
    seen = []
    original = layers.BatchNormalization.call

    def recording(layer, inputs, training=None, mask=None):
        if any(layer is l for l in discriminator.layers):
            seen.append(training)
        return original(layer, inputs, training=training, mask=mask)

    parts = StepParts(
        networks=((state.generator, state.generator_optimizer),
                  (discriminator, state.discriminator_optimizer)),
        noise_rng=state.noise_rng, gan_loss=losses.get(), scales=(None, None), statistics=[],
        ema_generator=None, ema_decay=0.0, strategy=tf.distribute.get_strategy())
    with mock.patch.object(layers.BatchNormalization, "call", recording):
        compute_gradients(parts, tf.random.uniform([4, 32, 32, 3], -1, 1))
    norms = [l for l in discriminator.layers if isinstance(l, layers.BatchNormalization)]
    assert len(norms) == 2  # 32x32: D's second and third convolutions.
    assert seen == [True] * 4  # Each BatchNorm layer in the real pass, then the fake pass.


def test_pytorch_preset_trains_on_real_photos_and_exports_both_networks(tmp_path):
    workdir = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "train.py", "--dataset=folder", f"--data_dir={PHOTOS}",
         "--preset=pytorch", f"--workdir={workdir}", "--epochs=2", "--batch_size=32",
         "--generator_filters=16", "--discriminator_filters=16", "--nojit_compile"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "100 images 64x64x3" in result.stderr
    assert [row["step"] for row in read_log(workdir)] == ["1", "2", "3", "4", "5", "6"]
    with open(workdir / "real_vs_fake.png", "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    # Both SavedModels reload without dcgan_tf and agree with the checkpoint.
    generator = tf.saved_model.load(str(workdir / "generator"))
    discriminator = tf.saved_model.load(str(workdir / "discriminator"))
    noise = tf.random.normal([3, 100])
    images = generator.serve(noise)
    logits = discriminator.serve(images)
    assert images.shape == (3, 64, 64, 3) and logits.shape == (3, 1)
    state = TrainState.create(data.resolve(config.Config.from_json(
        (workdir / "config.json").read_text())))
    state.restore(tf.train.latest_checkpoint(str(workdir / "checkpoints")))
    np.testing.assert_allclose(logits, state.discriminator(images, training=False),
                               atol=1e-4)


def test_pytorch_preset_resumes_and_generate_py_samples_it(tmp_path, mnist_npz):
    cfg = config.pytorch_preset(data_dir=mnist_npz(128), workdir=str(tmp_path / "run"),
                                download=False, max_steps=2, generator_filters=8,
                                discriminator_filters=8, noise_dim=16, jit_compile=False)
    training.train(cfg)
    resumed = training.train(dataclasses.replace(cfg, max_steps=3))
    assert (resumed.start_step, resumed.step) == (2, 3)
    out = tmp_path / "grid.png"
    sampled = subprocess.run([sys.executable, "generate.py", f"--model={tmp_path}/run/generator",
                              f"--out={out}", "--num=4"], cwd=REPO, capture_output=True,
                             text=True, timeout=120)
    assert sampled.returncode == 0, sampled.stderr[-2000:]
    assert out.stat().st_size > 0
