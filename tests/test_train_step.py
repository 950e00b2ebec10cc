"""The compiled training step."""

import numpy as np
import pytest
import tensorflow as tf

from dcgan_tf import config, training
from dcgan_tf.train_step import make_train_step


@pytest.fixture
def state():
    return training.create_state(config.Config(image_size=28, channels=1, noise_dim=8))


def _step(state):
    return make_train_step(state.generator, state.discriminator, state.generator_optimizer,
                           state.discriminator_optimizer, state.noise_rng)


def _real_images(batch_size):
    return tf.random.stateless_uniform([batch_size, 28, 28, 1], seed=[1, 2],
                                       minval=-1.0, maxval=1.0)


def _snapshot(model):
    return [variable.numpy().copy() for variable in model.trainable_variables]


def test_train_step_updates_both_networks_weights(state):
    generator_before = _snapshot(state.generator)
    discriminator_before = _snapshot(state.discriminator)
    _step(state)(_real_images(4))
    for before, after in ((generator_before, _snapshot(state.generator)),
                          (discriminator_before, _snapshot(state.discriminator))):
        assert all(not np.array_equal(b, a) for b, a in zip(before, after))


def test_train_step_updates_batchnorm_moving_statistics(state):
    moving_means = [v for v in state.generator.non_trainable_variables if "moving_mean" in v.path]
    before = [v.numpy().copy() for v in moving_means]
    _step(state)(_real_images(4))
    assert all(not np.array_equal(b, v.numpy()) for b, v in zip(before, moving_means))


def test_train_step_returns_finite_losses_and_scores_in_unit_interval(state):
    metrics = _step(state)(_real_images(4))
    assert set(metrics) == {"generator_loss", "discriminator_loss", "real_score", "fake_score",
                            "finite"}
    assert bool(metrics["finite"])
    assert all(np.isfinite(float(value)) for value in metrics.values())
    assert 0 < float(metrics["real_score"]) < 1 and 0 < float(metrics["fake_score"]) < 1


def test_train_step_takes_batch_size_from_the_batch(state):
    step = _step(state)
    step(_real_images(4))
    metrics = step(_real_images(3))  # A smaller batch must get a matching noise batch.
    assert np.isfinite(float(metrics["generator_loss"]))


def test_train_step_draws_noise_from_the_checkpointed_generator(state):
    rng_state = state.noise_rng.state.numpy().copy()
    _step(state)(_real_images(4))
    assert not np.array_equal(rng_state, state.noise_rng.state.numpy())


def test_train_step_non_finite_batch_changes_no_weight_slot_or_statistic(state):
    step = _step(state)
    step(_real_images(4))
    variables = (state.generator.variables + state.discriminator.variables
                 + state.generator_optimizer.variables + state.discriminator_optimizer.variables)
    watched = [v for v in variables if "float" in v.dtype]  # Not the dropout rng states.
    before = [v.numpy().copy() for v in watched]
    metrics = step(_real_images(4) * np.nan)
    assert not bool(metrics["finite"])
    assert not np.isfinite(float(metrics["discriminator_loss"]))
    for variable, value in zip(watched, before):
        np.testing.assert_array_equal(variable.numpy(), value, err_msg=variable.path)
    assert int(state.generator_optimizer.iterations) == 1
