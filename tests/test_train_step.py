"""The compiled training step."""

import numpy as np
import pytest
import tensorflow as tf

from dcgan_tf import config, losses
from dcgan_tf.train_step import make_train_step
from dcgan_tf.state import TrainState


@pytest.fixture
def state():
    return TrainState.create(config.Config(image_size=28, channels=1, noise_dim=8))


def _step(state, jit_compile=False):
    return make_train_step(state.generator, state.discriminator, state.generator_optimizer,
                           state.discriminator_optimizer, state.noise_rng,
                           jit_compile=jit_compile)


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


@pytest.mark.parametrize("jit_compile", [False, True], ids=["plain", "xla"])
def test_train_step_non_finite_batch_changes_no_weight_slot_or_statistic(state, jit_compile):
    step = _step(state, jit_compile)
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


@pytest.fixture
def ema_state():
    return TrainState.create(config.Config(image_size=28, channels=1, noise_dim=8,
                                               ema_decay=0.999))


def _ema_step(state, decay=0.999):
    return make_train_step(state.generator, state.discriminator, state.generator_optimizer,
                           state.discriminator_optimizer, state.noise_rng,
                           ema_generator=state.ema_generator, ema_decay=decay)


def test_train_step_ema_moves_average_by_warmed_up_decay_toward_new_weights(ema_state):
    before = [v.numpy().copy() for v in ema_state.ema_generator.variables]
    _ema_step(ema_state)(_real_images(4))
    # After the first applied update (n = 1) the warmed-up decay is min(0.999, 2 / 11).
    decay = 2 / 11
    for average, variable, old in zip(ema_state.ema_generator.variables,
                                      ema_state.generator.variables, before):
        np.testing.assert_allclose(average.numpy(), decay * old + (1 - decay) * variable.numpy(),
                                   rtol=1e-5, atol=1e-6, err_msg=average.path)
    moving_means = [v for v in ema_state.ema_generator.variables if "moving_mean" in v.path]
    assert moving_means and all(np.any(v.numpy() != 0) for v in moving_means)


def test_train_step_ema_not_updated_on_non_finite_batch(ema_state):
    step = _ema_step(ema_state)
    step(_real_images(4))
    before = [v.numpy().copy() for v in ema_state.ema_generator.variables]
    assert not bool(step(_real_images(4) * np.nan)["finite"])
    for variable, value in zip(ema_state.ema_generator.variables, before):
        np.testing.assert_array_equal(variable.numpy(), value, err_msg=variable.path)


def test_train_step_uses_the_given_loss(state):
    hinge = make_train_step(state.generator, state.discriminator, state.generator_optimizer,
                            state.discriminator_optimizer, state.noise_rng,
                            gan_loss=losses.get("hinge"))
    metrics = hinge(_real_images(4))
    # Hinge's D loss is at least 2 - |margin terms| near D's initial outputs ~0, far
    # from the cross-entropy's 2 log 2 = 1.386; its G loss is -mean(D(G(z))), near 0.
    assert float(metrics["discriminator_loss"]) > 1.6
    assert abs(float(metrics["generator_loss"])) < 0.5
