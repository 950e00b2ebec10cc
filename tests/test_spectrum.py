"""The checkerboard measure: power at the period-2 frequencies."""

import numpy as np

from dcgan_tf import spectrum


def test_checkerboard_ratio_period_2_pattern_scores_far_above_smooth_images():
    rng = np.random.default_rng(0)
    smooth = np.cumsum(np.cumsum(rng.normal(size=(50, 28, 28, 1)), axis=1), axis=2)
    checker = (np.indices((28, 28)).sum(axis=0) % 2)[np.newaxis, ..., np.newaxis]
    striped = smooth + 5.0 * checker
    assert spectrum.checkerboard_ratio(striped) > 10 * spectrum.checkerboard_ratio(smooth)


def test_checkerboard_ratio_ignores_brightness_and_accepts_uint8():
    rng = np.random.default_rng(1)
    images = rng.integers(0, 200, size=(20, 28, 28, 1)).astype(np.uint8)
    np.testing.assert_allclose(spectrum.checkerboard_ratio(images),
                               spectrum.checkerboard_ratio(images + np.uint8(40)), rtol=1e-9)
