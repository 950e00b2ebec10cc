"""Golden values for the GAN losses."""

import math

import numpy as np
import pytest
import tensorflow as tf

from dcgan_tf import losses
from dcgan_tf.errors import InputError


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


# The three-example batch of the golden test above, for the other losses.
_REAL = np.array([[2.0], [-1.0], [0.5]], np.float32)
_FAKE = np.array([[-3.0], [1.0], [0.0]], np.float32)


def test_hinge_losses_match_hand_computed_values():
    gan_loss = losses.get("hinge")
    # D: mean(max(0, 1 - real)) + mean(max(0, 1 + fake))
    #    = mean(0, 2, 0.5) + mean(0, 2, 1) = 0.833333 + 1 = 1.833333
    # G: -mean(fake) = -(-3 + 1 + 0) / 3 = 0.666667
    assert float(gan_loss.discriminator(_REAL, _FAKE)) == pytest.approx(1.833333, abs=2e-6)
    assert float(gan_loss.generator(_FAKE)) == pytest.approx(0.666667, abs=2e-6)


def test_least_squares_losses_match_hand_computed_values():
    gan_loss = losses.get("least_squares")
    # D: 0.5 mean((real - 1)^2) + 0.5 mean(fake^2)
    #    = 0.5 mean(1, 4, 0.25) + 0.5 mean(9, 1, 0) = 0.875 + 1.666667 = 2.541667
    # G: 0.5 mean((fake - 1)^2) = 0.5 mean(16, 0, 1) = 2.833333
    assert float(gan_loss.discriminator(_REAL, _FAKE)) == pytest.approx(2.541667, abs=2e-6)
    assert float(gan_loss.generator(_FAKE)) == pytest.approx(2.833333, abs=2e-6)


def test_label_smoothing_raises_real_term_by_smoothing_times_mean_real_logit():
    # With target y the cross-entropy on logit x is softplus(x) - x y, so lowering the
    # real target from 1 to 0.9 adds 0.1 x to each real term: 0.1 mean(2, -1, 0.5) = 0.05
    # on top of the unsmoothed 1.323088 (golden test above). Fakes are unchanged.
    smoothed = losses.get("non_saturating", label_smoothing=0.1)
    assert float(smoothed.discriminator(_REAL, _FAKE)) == pytest.approx(1.373088, abs=2e-6)
    assert float(smoothed.generator(_FAKE)) == pytest.approx(1.351665, abs=2e-6)


def test_label_smoothing_minimum_is_at_the_smoothed_target_not_at_certainty():
    # Real logit log(0.9 / 0.1) (D(x) = 0.9) beats a more confident 10 once smoothed.
    smoothed = losses.get("non_saturating", label_smoothing=0.1).discriminator
    fake = tf.fill([2, 1], -20.0)
    at_target = float(smoothed(tf.fill([2, 1], math.log(9.0)), fake))
    confident = float(smoothed(tf.fill([2, 1], 10.0), fake))
    assert at_target < confident


@pytest.mark.parametrize("name", ["hinge", "least_squares"])
def test_get_label_smoothing_with_other_loss_raises_input_error(name):
    with pytest.raises(InputError, match="--label_smoothing"):
        losses.get(name, label_smoothing=0.1)


def test_get_unknown_loss_raises_input_error_naming_it():
    with pytest.raises(InputError, match="wasserstein"):
        losses.get("wasserstein")


@pytest.mark.parametrize("name, real_target, fake_target", [("hinge", 1.0, -1.0),
                                                          ("least_squares", 1.0, 0.0)])
def test_other_losses_zero_at_targets_larger_when_fooled_finite_when_extreme(
        name, real_target, fake_target):
    gan_loss = losses.get(name)
    at_targets = gan_loss.discriminator(tf.fill([4, 1], real_target), tf.fill([4, 1], fake_target))
    fooled = gan_loss.discriminator(tf.fill([4, 1], -1.0), tf.fill([4, 1], 1.0))
    assert float(at_targets) == pytest.approx(0.0, abs=1e-7)
    assert float(fooled) > 1.0
    big = tf.constant([[1e4], [-1e4]])
    assert np.isfinite(float(gan_loss.discriminator(big, big)))
    assert np.isfinite(float(gan_loss.generator(big)))
