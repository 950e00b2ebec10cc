"""How strong the checkerboard is: power at the period-2 frequencies of images.

A transposed convolution whose kernel the stride does not divide (5 and 2, the
tutorial's) adds a period-2 pattern to its output (Odena et al., Distill 2016).
A period of 2 pixels is the Nyquist frequency, so the pattern shows as power at
[size/2, 0], [0, size/2] and [size/2, size/2] of the 2-D spectrum, well above
the median power of natural images there.
"""

import numpy as np


def mean_power_spectrum(images):
    """Mean 2-D power spectrum of float [N, H, W] images (zero frequency at [0, 0])."""
    return (np.abs(np.fft.fft2(images)) ** 2).mean(axis=0)


def nyquist_to_median(spectrum):
    """Mean power at the three Nyquist frequencies over the median power."""
    half = spectrum.shape[0] // 2
    nyquist = [spectrum[half, 0], spectrum[0, half], spectrum[half, half]]
    return float(np.mean(nyquist) / np.median(spectrum[1:, 1:]))


def checkerboard_ratio(images):
    """nyquist_to_median of the images' mean spectrum (channels averaged).

    Args:
        images: [N, H, W, C] uint8 in [0, 255] or float in [-1, 1]; H even.

    Returns:
        float; real MNIST digits give a few, a strong checkerboard hundreds.
    """
    images = np.asarray(images, np.float64).mean(axis=-1)
    return nyquist_to_median(mean_power_spectrum(images - images.mean(axis=(1, 2),
                                                                      keepdims=True)))
