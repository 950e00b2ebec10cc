"""Tests for dcgan_tf.metrics: golden values on hand-made features, and on real MNIST
images through the shipped classifier, that each metric moves the way it should."""

import numpy as np
import pytest
from PIL import Image, ImageFilter

from dcgan_tf import classifiers, data, metrics
from dcgan_tf.errors import InputError

# Few subsets keep KID fast; the real-image tests compare values far apart.
KID_SUBSETS = 10


# --- Fréchet distance: closed forms -----------------------------------------------------


def test_frechet_distance_from_statistics_diagonal_gaussians_matches_closed_form():
    rng = np.random.default_rng(0)
    mean_a, mean_b = rng.standard_normal(6), rng.standard_normal(6)
    variances_a = rng.uniform(0.1, 3.0, 6)
    variances_b = np.array([0.0, 0.5, 1.0, 2.0, 4.0, 0.01])  # One singular direction.
    expected = (np.sum((mean_a - mean_b) ** 2)
                + np.sum((np.sqrt(variances_a) - np.sqrt(variances_b)) ** 2))

    value = metrics.frechet_distance_from_statistics(
        mean_a, np.diag(variances_a), mean_b, np.diag(variances_b))

    assert value == pytest.approx(expected, rel=1e-10)


def test_frechet_distance_from_statistics_rotated_gaussians_matches_closed_form():
    # Covariances sharing eigenvectors commute, so the diagonal formula holds in
    # any rotation; a non-diagonal check of the eigenvalue trick.
    rng = np.random.default_rng(1)
    rotation, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    variances_a, variances_b = rng.uniform(0, 2, 5), rng.uniform(0, 2, 5)
    covariance_a = rotation @ np.diag(variances_a) @ rotation.T
    covariance_b = rotation @ np.diag(variances_b) @ rotation.T
    expected = np.sum((np.sqrt(variances_a) - np.sqrt(variances_b)) ** 2) + 4.0

    value = metrics.frechet_distance_from_statistics(
        np.zeros(5), covariance_a, np.full(5, 2 / np.sqrt(5)), covariance_b)

    assert value == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("rank_b", [8, 3])
def test_frechet_distance_from_statistics_non_commuting_covariances(rank_b):
    """The reference takes the trace of (S_a S_b)^(1/2) from the eigenvalues of the
    non-symmetric product itself (numpy's general eigensolver), not through the
    symmetric S_a^(1/2) S_b S_a^(1/2) the metric uses."""
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((8, 8)), rng.standard_normal((8, rank_b))
    covariance_a, covariance_b = a @ a.T, b @ b.T
    assert not np.allclose(covariance_a @ covariance_b, covariance_b @ covariance_a)
    mean_a, mean_b = rng.standard_normal(8), rng.standard_normal(8)
    eigenvalues = np.linalg.eigvals(covariance_a @ covariance_b)
    assert np.abs(eigenvalues.imag).max() < 1e-8  # Real and >= 0, as theory says.
    trace_root = np.sqrt(np.clip(eigenvalues.real, 0, None)).sum()
    expected = (np.sum((mean_a - mean_b) ** 2) + np.trace(covariance_a) + np.trace(covariance_b)
                - 2 * trace_root)

    value = metrics.frechet_distance_from_statistics(mean_a, covariance_a, mean_b, covariance_b)

    assert value == pytest.approx(expected, rel=1e-8)


def test_frechet_distance_identical_features_is_zero_and_counts_rows():
    features = np.random.default_rng(3).standard_normal((50, 4))

    result = metrics.frechet_distance(features, features)

    assert result.value == pytest.approx(0.0, abs=1e-9)
    assert (result.num_samples, result.num_reference) == (50, 50)


def test_frechet_distance_shifted_features_adds_squared_mean_shift():
    features = np.random.default_rng(4).standard_normal((40, 3))

    result = metrics.frechet_distance(features + [3.0, 0.0, 4.0], features)

    assert result.value == pytest.approx(25.0, rel=1e-9)


# --- KID ---------------------------------------------------------------------------------


def _brute_force_mmd2(x, y):
    """The unbiased MMD^2 with the cubic kernel, written as plainly as possible."""
    def kernel(a, b):
        return (np.dot(a, b) / len(a) + 1) ** 3
    m, n = len(x), len(y)
    xx = sum(kernel(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(kernel(y[i], y[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    xy = sum(kernel(x[i], y[j]) for i in range(m) for j in range(n)) / (m * n)
    return xx + yy - 2 * xy


def test_kernel_distance_whole_set_subsets_match_brute_force_mmd():
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((7, 3)), rng.standard_normal((7, 3)) + 0.5

    # A subset of all rows is a permutation, and the statistic ignores order.
    result = metrics.kernel_distance(x, y, subset_size=7, num_subsets=3)

    assert result.value == pytest.approx(_brute_force_mmd2(x, y), rel=1e-10)
    assert result.std == pytest.approx(0.0, abs=1e-9)
    assert (result.subset_size, result.num_subsets) == (7, 3)


def test_kernel_distance_independent_samples_of_one_gaussian_is_near_zero():
    rng = np.random.default_rng(6)
    x, y = rng.standard_normal((2000, 8)), rng.standard_normal((2000, 8))

    same = metrics.kernel_distance(x, y, subset_size=500, num_subsets=KID_SUBSETS)
    shifted = metrics.kernel_distance(x + 0.3, y, subset_size=500, num_subsets=KID_SUBSETS)

    assert abs(same.value) < 4 * same.std / np.sqrt(same.num_subsets) + 1e-3
    assert shifted.value > 10 * abs(same.value)


def test_kernel_distance_same_seed_repeats_and_caps_subset_size():
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((30, 4)), rng.standard_normal((20, 4))

    first = metrics.kernel_distance(x, y, num_subsets=5, seed=1)

    assert first == metrics.kernel_distance(x, y, num_subsets=5, seed=1)
    assert first.subset_size == 20
    assert first.standard_error == pytest.approx(first.std / np.sqrt(5))


# --- Precision and recall ---------------------------------------------------------------


def test_precision_recall_identical_sets_is_one():
    features = np.random.default_rng(8).standard_normal((30, 2))

    result = metrics.precision_recall(features, features)

    assert (result.precision, result.recall) == (1.0, 1.0)


def test_precision_recall_half_the_samples_far_away_halves_precision():
    reference = np.arange(20, dtype=np.float64)[:, np.newaxis]  # Radius 3 (k = 3).
    samples = np.concatenate([reference[::2] + 0.5, reference[::2] + 1000.0])

    result = metrics.precision_recall(samples, reference, k=3)

    assert result.precision == pytest.approx(0.5)
    # The near samples' radii (4 and more) cover every reference point.
    assert result.recall == pytest.approx(1.0)
    assert (result.k, result.num_samples, result.num_reference) == (3, 20, 20)


def test_precision_recall_samples_on_one_end_miss_the_other_end():
    reference = np.arange(20, dtype=np.float64)[:, np.newaxis]
    # The end sample at 4 has radius 4/3 (its third neighbour), so covers up to 5.
    samples = np.linspace(0, 4, 10)[:, np.newaxis]

    result = metrics.precision_recall(samples, reference, k=3)

    assert result.precision == 1.0
    assert result.recall == pytest.approx(6 / 20)


# --- Class coverage ---------------------------------------------------------------------


def _logits_for(classes, num_classes=10):
    return np.eye(num_classes)[np.asarray(classes)]


def test_class_coverage_two_of_ten_classes_gives_log_five_and_two_covered():
    reference = _logits_for(np.arange(1000) % 10)
    samples = _logits_for([0] * 50 + [1] * 50)

    result = metrics.class_coverage(samples, reference)

    assert result.kl_divergence == pytest.approx(np.log(5.0))
    assert result.classes_covered == 2
    assert result.histogram[:3] == (0.5, 0.5, 0.0)
    assert result.reference_histogram == (0.1,) * 10


def test_class_coverage_counts_a_class_at_exactly_two_percent():
    samples = _logits_for([0] * 98 + [1] * 2)  # Class 1: 2 of 100.
    reference = _logits_for(np.arange(100) % 10)

    result = metrics.class_coverage(samples, reference)

    assert result.classes_covered == 2
    assert metrics.class_coverage(_logits_for([0] * 99 + [1]), reference).classes_covered == 1


def test_class_coverage_equal_histograms_is_zero():
    reference = _logits_for(np.arange(100) % 10)

    assert metrics.class_coverage(reference[::-1], reference).kl_divergence == 0.0


# --- Input checks ------------------------------------------------------------------------


@pytest.mark.parametrize("samples, message", [
    (np.zeros((5, 3)), "features per row"),
    (np.zeros((1, 4)), "at least 2"),
    (np.full((5, 4), np.nan), "NaN"),
    (np.zeros(5), "expected features"),
])
def test_frechet_distance_bad_features_raise_input_error(samples, message):
    with pytest.raises(InputError, match=message):
        metrics.frechet_distance(samples, np.ones((5, 4)))


def test_precision_recall_too_few_rows_for_k_raises_input_error():
    with pytest.raises(InputError, match="at least 4"):
        metrics.precision_recall(np.zeros((3, 2)), np.zeros((10, 2)), k=3)


# --- On real MNIST images through the shipped classifier --------------------------------


@pytest.fixture(scope="module")
def mnist():
    """The shipped MNIST feature net, its splits, and the held-out images' features."""
    net = classifiers.load_feature_net("mnist")
    train, test = classifiers.load_splits("mnist")
    features, logits = classifiers.extract(net, test.images)
    return {"net": net, "train": train, "test": test, "features": features,
            "logits": logits, "images": np.asarray(data.normalize(test.images))}


def _degraded_distances(mnist, degrade, levels):
    """(Fréchet, KID) of degraded copies of the held-out images against the originals."""
    results = []
    for level in levels:
        features, _ = classifiers.extract(mnist["net"], degrade(mnist["images"], level))
        results.append((
            metrics.frechet_distance(features, mnist["features"]).value,
            metrics.kernel_distance(features, mnist["features"],
                                    num_subsets=KID_SUBSETS).value))
    return results


def _add_noise(images, level):
    noise = np.random.default_rng(0).standard_normal(images.shape)
    return np.clip(images + level * noise, -1, 1).astype(np.float32)


def _blur(images, radius):
    uint8 = np.round((images[..., 0] + 1) * 127.5).astype(np.uint8)
    blurred = [np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(radius)))
               for image in uint8]
    return np.stack(blurred)[..., np.newaxis]


def test_metrics_on_identical_real_images_are_near_zero(mnist):
    features = mnist["features"]
    noisy = _degraded_distances(mnist, _add_noise, [0.4])[0]

    frechet = metrics.frechet_distance(features, features)
    kernel = metrics.kernel_distance(features, features, num_subsets=KID_SUBSETS)

    assert frechet.value < 1e-6
    # KID of a set with itself is slightly negative, about -2 (mean k(x, x) -
    # mean k(x, x')) / N: subsets drawn from one finite set share points.
    assert abs(kernel.value) < 0.1 * noisy[1]
    assert frechet.num_samples == len(mnist["test"].images) == 2000


@pytest.mark.parametrize("degrade, levels", [(_add_noise, (0.0, 0.2, 0.4, 0.8)),
                                             (_blur, (0.0, 0.5, 1.0, 1.5))],
                         ids=["gaussian_noise", "blur"])
def test_metrics_on_degraded_real_images_grow_with_degradation(mnist, degrade, levels):
    distances = _degraded_distances(mnist, degrade, levels)
    frechet, kernel = zip(*distances)

    assert all(a < b for a, b in zip(frechet, frechet[1:])), frechet
    assert all(a < b for a, b in zip(kernel, kernel[1:])), kernel


def test_metrics_on_real_images_dropping_classes_raises_kl_and_lowers_recall(mnist):
    train = mnist["train"]
    rng = np.random.default_rng(0)
    all_classes = rng.choice(len(train.labels), 1000, replace=False)
    seven_classes = rng.choice(np.flatnonzero(train.labels < 7), 1000, replace=False)
    results = {}
    for name, chosen in (("all", all_classes), ("seven", seven_classes)):
        features, logits = classifiers.extract(mnist["net"], train.images[chosen])
        results[name] = (metrics.class_coverage(logits, mnist["logits"]),
                         metrics.precision_recall(features, mnist["features"]))

    (coverage_all, pr_all), (coverage_seven, pr_seven) = results["all"], results["seven"]
    assert coverage_all.kl_divergence < 0.05
    assert coverage_seven.kl_divergence > 0.25  # log(10/7) = 0.36 for balanced classes.
    assert (coverage_all.classes_covered, coverage_seven.classes_covered) == (10, 7)
    assert pr_seven.recall < pr_all.recall - 0.1
