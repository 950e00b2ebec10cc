"""DiffAugment: what the discriminator sees, real and generated (dcgan_tf.augment)."""

import numpy as np
import pytest
import tensorflow as tf

from dcgan_tf import augment, config
from dcgan_tf.errors import InputError
from dcgan_tf.state import TrainState
from dcgan_tf.train_step import make_train_step


def _images(shape=(8, 32, 32, 3), seed=0):
    return tf.random.stateless_uniform(shape, seed=[seed, 1], minval=-1.0, maxval=1.0)


@pytest.mark.parametrize("policy", ["color", "translation", "cutout", "color,translation,cutout"])
@pytest.mark.parametrize("shape", [(8, 28, 28, 1), (4, 64, 64, 3)])
def test_augment_keeps_shape_and_dtype(policy, shape):
    images = _images(shape)
    out = augment.make_augment(policy, tf.random.Generator.from_seed(0))(images)
    assert out.shape == images.shape and out.dtype == images.dtype
    assert not np.allclose(out.numpy(), images.numpy())


@pytest.mark.parametrize("policy", ["color", "translation", "cutout"])
def test_augment_passes_gradients_to_the_images(policy):
    images = _images()
    with tf.GradientTape() as tape:
        tape.watch(images)
        out = augment.make_augment(policy, tf.random.Generator.from_seed(0))(images)
        loss = tf.reduce_sum(out * _images(seed=7))
    gradient = tape.gradient(loss, images).numpy()
    assert np.all(np.isfinite(gradient))
    assert np.count_nonzero(gradient) > 0.4 * gradient.size


def test_augment_draws_new_parameters_per_call_and_repeats_from_the_seed():
    images = _images()
    first = augment.make_augment("color,translation", tf.random.Generator.from_seed(3))
    again = augment.make_augment("color,translation", tf.random.Generator.from_seed(3))
    a, b = first(images).numpy(), first(images).numpy()
    assert not np.allclose(a, b)
    np.testing.assert_array_equal(a, again(images).numpy())


def test_translation_moves_a_dot_by_at_most_an_eighth_of_the_side_and_fills_with_zeros():
    images = np.full((64, 32, 32, 1), -1.0, np.float32)
    images[:, 16, 16, 0] = 1.0
    out = augment.translation(tf.constant(images), tf.random.Generator.from_seed(0)).numpy()
    rows, columns = np.nonzero(out[..., 0] == 1.0)[1:]
    assert len(rows) == 64  # The dot stays inside every image.
    assert np.abs(rows - 16).max() <= 4 and np.abs(columns - 16).max() <= 4
    assert len(set(zip(rows, columns))) > 10  # Shifts differ between images.
    assert np.any(out == 0.0)  # The uncovered border is zero (mid grey).


def test_cutout_zeroes_at_most_a_quarter_of_each_image():
    images = np.ones((64, 32, 32, 3), np.float32)
    out = augment.cutout(tf.constant(images), tf.random.Generator.from_seed(0)).numpy()
    zeroed = (out == 0).all(axis=-1).mean(axis=(1, 2))
    assert zeroed.max() <= 0.25 and zeroed.mean() > 0.05


def test_step_applies_augment_to_real_and_generated_images():
    state = TrainState.create(config.Config(image_size=28, channels=1, noise_dim=8))
    seen = []

    def blank(images):  # D sees only zeros: real and fake must then score alike.
        seen.append(images)
        return images * 0.0  # Still connected: G gets a (zero) gradient, not None.

    step = make_train_step(state.generator, state.discriminator, state.generator_optimizer,
                           state.discriminator_optimizer, state.noise_rng, augment=blank)
    metrics = step(_images((8, 28, 28, 1)))
    assert len(seen) == 2  # Traced once each: the real batch and the generated batch.
    assert float(metrics["real_score"]) == pytest.approx(float(metrics["fake_score"]), abs=1e-6)

    plain = make_train_step(state.generator, state.discriminator, state.generator_optimizer,
                            state.discriminator_optimizer, state.noise_rng)
    metrics = plain(_images((8, 28, 28, 1)))
    assert float(metrics["real_score"]) != pytest.approx(float(metrics["fake_score"]), abs=1e-6)


@pytest.mark.parametrize("policy, message", [("colour", "unknown transform 'colour'"),
                                             ("color,color", "twice")])
def test_config_bad_augment_is_refused_naming_the_flag(policy, message):
    with pytest.raises(InputError, match=message) as error:
        config.Config(augment=policy)
    assert "--augment" in str(error.value)


def test_a_run_with_augment_exports_a_generator_that_never_augments(tiny_npz, tmp_path):
    from conftest import small_config
    from dcgan_tf import export, training

    training.train(small_config(tiny_npz, tmp_path, epochs=1,
                                augment="color,translation,cutout"))
    loaded = export.load_generator(str(tmp_path / "generator"))
    noise = tf.random.stateless_normal([8, loaded.noise_dim], seed=[4, 2])
    first, second = loaded.serve(noise).numpy(), loaded.serve(noise).numpy()

    np.testing.assert_array_equal(first, second)  # No random transform in the export.
    assert '"augment": "color,translation,cutout"' in (tmp_path / "config.json").read_text()
