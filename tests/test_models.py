"""Shapes and sizes of the generator and discriminator."""

import numpy as np
import pytest

from dcgan_tf import config, models


def _config(image_size, channels, **overrides):
    return config.Config(image_size=image_size, channels=channels, **overrides)


@pytest.mark.parametrize("upsample", ["transpose", "resize"])
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("image_size", [28, 32, 64, 128])
def test_models_any_supported_shape_map_noise_to_image_to_logit(image_size, channels, upsample):
    cfg = _config(image_size, channels, noise_dim=8, upsample=upsample)
    generator = models.build_generator(cfg)
    discriminator = models.build_discriminator(cfg)
    images = generator(np.random.normal(size=(2, 8)).astype("float32"), training=False)
    assert images.shape == (2, image_size, image_size, channels)
    assert float(np.abs(images).max()) <= 1.0  # tanh
    assert discriminator(images, training=False).shape == (2, 1)


def test_models_28x28_tutorial_preset_match_tutorial_parameter_counts():
    # Counts of the TF DCGAN tutorial's make_generator_model/make_discriminator_model;
    # the generator's includes BatchNorm's moving mean and variance.
    cfg = config.tutorial_preset(image_size=28, channels=1)
    assert models.build_generator(cfg).count_params() == 2_330_944
    assert models.build_discriminator(cfg).count_params() == 212_865


def test_generator_28x28_upsamples_7_to_14_to_28_like_the_tutorial():
    generator = models.build_generator(_config(28, 1, upsample="transpose"))
    spatial = [layer.output.shape[1:3] for layer in generator.layers
               if layer.__class__.__name__ == "Conv2DTranspose"]
    assert spatial == [(7, 7), (14, 14), (28, 28)]


def test_default_generator_has_the_tutorials_shapes_with_resize_convolutions():
    generator = models.build_generator(config.Config(image_size=28, channels=1))
    kinds = [layer.__class__.__name__ for layer in generator.layers]
    spatial = [layer.output.shape[1:] for layer in generator.layers
               if layer.__class__.__name__ == "Conv2D"]
    assert "Conv2DTranspose" not in kinds and kinds.count("NearestUpSampling2D") == 2
    assert spatial == [(7, 7, 128), (14, 14, 64), (28, 28, 1)]


def test_generator_64x64_doubles_side_and_halves_filters_from_4x4():
    generator = models.build_generator(_config(64, 3, upsample="transpose"))
    shapes = [tuple(layer.output.shape[1:]) for layer in generator.layers
              if layer.__class__.__name__ == "Conv2DTranspose"]
    assert shapes == [(8, 8, 256), (16, 16, 128), (32, 32, 64), (64, 64, 3)]


def test_discriminator_64x64_downsamples_to_4x4_with_dropout_after_each_conv():
    discriminator = models.build_discriminator(_config(64, 3))
    kinds = [layer.__class__.__name__ for layer in discriminator.layers]
    convs = [layer for layer in discriminator.layers if layer.__class__.__name__ == "Conv2D"]
    assert convs[-1].output.shape[1:] == (4, 4, 512)
    assert kinds.count("Dropout") == len(convs) == 4


def test_generator_resize_mode_uses_nearest_upsampling_and_no_transposed_convs():
    kinds = [layer.__class__.__name__
             for layer in models.build_generator(_config(32, 3, upsample="resize")).layers]
    assert "Conv2DTranspose" not in kinds
    assert kinds.count("NearestUpSampling2D") == 3


def test_dcgan_preset_initialises_kernels_from_normal_0_002():
    generator = models.build_generator(config.dcgan_preset(image_size=64, channels=3))
    kernel = generator.layers[1].kernel.numpy()  # The Dense layer: 100 x 8192 weights.
    assert abs(kernel.mean()) < 0.001
    assert kernel.std() == pytest.approx(0.02, rel=0.02)


def test_tutorial_preset_initialises_kernels_glorot_uniform():
    generator = models.build_generator(config.tutorial_preset(image_size=28, channels=1))
    kernel = generator.layers[1].kernel.numpy()  # 100 x 12544
    limit = np.sqrt(6 / (100 + 12544))
    assert np.abs(kernel).max() <= np.float32(limit)
    assert kernel.std() == pytest.approx(limit / np.sqrt(3), rel=0.02)  # Uniform's std.


def test_models_leaky_relu_slope_comes_from_config():
    generator = models.build_generator(_config(28, 1, leaky_relu_slope=0.2))
    slopes = {layer.negative_slope for layer in generator.layers
              if layer.__class__.__name__ == "LeakyReLU"}
    assert slopes == {0.2}


def test_generator_batchnorm_differs_between_training_and_inference_mode():
    generator = models.build_generator(_config(28, 1, noise_dim=8))
    noise = np.random.default_rng(0).normal(size=(4, 8)).astype("float32")
    training_images = generator(noise, training=True).numpy()
    inference_images = generator(noise, training=False).numpy()
    assert not np.allclose(training_images, inference_images, atol=1e-4)


def test_dropout_with_one_replica_draws_keras_masks_and_is_identity_at_inference():
    import keras  # Only here: the rest of this file needs no Keras directly.

    ones = np.ones((4, 500), "float32")
    ours, keras_own = models.Dropout(0.3, seed=5), keras.layers.Dropout(0.3, seed=5)
    for _ in range(2):  # The second call draws from the advanced seed state.
        np.testing.assert_array_equal(ours(ones, training=True), keras_own(ones, training=True))
    np.testing.assert_array_equal(ours(ones, training=False), ones)
    # Mirrored replicas fold their index into the seed: tests/test_distribute.py.
