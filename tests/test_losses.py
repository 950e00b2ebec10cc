"""Golden values for the GAN losses."""

import math

import numpy as np
import pytest
import tensorflow as tf

from dcgan_tf import losses


def test_losses_at_zero_logits_are_log_2_per_term():
    zeros = tf.zeros([8, 1])
    assert float(losses.generator_loss(zeros)) == pytest.approx(math.log(2), rel=1e-6)
    assert float(losses.discriminator_loss(zeros, zeros)) == pytest.approx(
        2 * math.log(2), rel=1e-6)


def test_losses_match_hand_computed_binary_cross_entropy():
    real = np.array([[2.0], [-1.0], [0.5]], np.float32)
    fake = np.array([[-3.0], [1.0], [0.0]], np.float32)

    def sigmoid(x):
        return 1 / (1 + np.exp(-x))

    expected_d = (-np.log(sigmoid(real)).mean() - np.log(1 - sigmoid(fake)).mean())
    expected_g = -np.log(sigmoid(fake)).mean()
    assert float(losses.discriminator_loss(real, fake)) == pytest.approx(expected_d, rel=1e-5)
    assert float(losses.generator_loss(fake)) == pytest.approx(expected_g, rel=1e-5)
    # Golden numbers, worked by hand with softplus(x) = -log(sigmoid(-x)):
    # D: mean(0.126928, 1.313262, 0.474077) + mean(0.048587, 1.313262, 0.693147)
    # G: mean(3.048587, 0.313262, 0.693147)
    assert float(losses.discriminator_loss(real, fake)) == pytest.approx(1.323088, abs=2e-6)
    assert float(losses.generator_loss(fake)) == pytest.approx(1.351665, abs=2e-6)


def test_losses_stay_finite_for_extreme_logits():
    big = tf.constant([[1e4], [-1e4]])
    assert np.isfinite(float(losses.discriminator_loss(big, big)))
    assert np.isfinite(float(losses.generator_loss(big)))


def test_discriminator_loss_small_when_it_separates_real_from_fake():
    confident = losses.discriminator_loss(tf.fill([4, 1], 10.0), tf.fill([4, 1], -10.0))
    fooled = losses.discriminator_loss(tf.fill([4, 1], -10.0), tf.fill([4, 1], 10.0))
    assert float(confident) < 1e-3 < 10 < float(fooled)
