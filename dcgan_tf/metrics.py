"""Sample-quality statistics on feature vectors and class logits, in float64.

Each function compares `samples` (generated images, or for the real-vs-real floor
held-out real images) with `reference` (real test images), both as rows of
features from `classifiers.extract`, and returns a frozen result that records how
many rows each side had: every one of these statistics depends on the counts, so
values are only comparable at equal counts.

  frechet_distance  FID-style: Fréchet distance between Gaussians fitted to the
                    two feature sets (Heusel et al., 2017). 0 for equal sets.
  kernel_distance   KID: unbiased MMD^2 with the cubic polynomial kernel, averaged
                    over random subsets (Binkowski et al., 2018). ~0, possibly
                    slightly negative, when both sets come from one distribution.
  precision_recall  k-nearest-neighbour manifolds (Kynkäänniemi et al., 2019):
                    the fraction of samples that look real, and of real images the
                    samples cover.
  class_coverage    KL divergence between predicted-class histograms, and the
                    number of classes holding at least 2% of samples.

Nothing here needs TensorFlow, so the functions work on any features.
"""

import dataclasses
import math

import numpy as np

from dcgan_tf.errors import InputError

# Rows per block of a pairwise-distance matrix: 1,000 x 10,000 float64 is 80 MB.
_DISTANCE_CHUNK = 1000


@dataclasses.dataclass(frozen=True)
class FrechetDistance:
    """Attributes: value (>= 0, lower is better) and the rows of each side."""
    value: float
    num_samples: int
    num_reference: int


@dataclasses.dataclass(frozen=True)
class KernelDistance:
    """KID: the mean unbiased MMD^2 over subsets, lower is better.

    Attributes:
        value: mean over subsets; near 0 (either sign) for matching distributions.
        standard_error: std over subsets / sqrt(num_subsets). Subsets share rows,
            so this understates the uncertainty of `value`; `std` is the spread.
        std: standard deviation of the per-subset values.
        subset_size: rows drawn (without replacement) from each side per subset.
        num_subsets: subsets averaged.
        num_samples, num_reference: rows of each side.
    """
    value: float
    standard_error: float
    std: float
    subset_size: int
    num_subsets: int
    num_samples: int
    num_reference: int


@dataclasses.dataclass(frozen=True)
class PrecisionRecall:
    """Attributes: precision and recall in [0, 1], higher is better; k; row counts."""
    precision: float
    recall: float
    k: int
    num_samples: int
    num_reference: int


@dataclasses.dataclass(frozen=True)
class ClassCoverage:
    """Class balance of the samples against the reference, as the classifier sees it.

    Attributes:
        kl_divergence: KL(samples' class histogram || reference's) in nats, >= 0.
        classes_covered: classes predicted for at least `min_fraction` of samples.
        num_classes: classes the classifier knows.
        min_fraction: the threshold for `classes_covered`.
        histogram: fraction of samples predicted as each class.
        reference_histogram: the same for the reference.
        num_samples, num_reference: rows of each side.
    """
    kl_divergence: float
    classes_covered: int
    num_classes: int
    min_fraction: float
    histogram: tuple
    reference_histogram: tuple
    num_samples: int
    num_reference: int


@dataclasses.dataclass(frozen=True)
class ClassConsistency:
    """Whether a conditional generator draws the class it is asked for.

    Attributes:
        accuracy: the fraction of samples the classifier assigns to the class
            they were generated for, in [0, 1], higher is better.
        per_class: the same fraction for each requested class (NaN for a class
            never requested).
        num_samples: rows measured.
    """
    accuracy: float
    per_class: tuple
    num_samples: int


def class_consistency(logits, labels):
    """The classifier's accuracy on generated images against the labels they were
    generated for: overall and per requested class.

    Args:
        logits: float [N, C] class logits of the samples (C classes).
        labels: int [N], the class each sample was generated for, in [0, C).

    Returns:
        ClassConsistency.
    """
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels)
    if logits.ndim != 2 or labels.shape != (len(logits),) or not len(labels):
        raise InputError(f"expected logits [N, C] and N labels, got {logits.shape} and "
                         f"{labels.shape}.")
    if labels.min() < 0 or labels.max() >= logits.shape[1]:
        raise InputError(f"labels must lie in [0, {logits.shape[1]}), the classifier's "
                         f"classes; got {labels.min()} to {labels.max()}.")
    correct = logits.argmax(axis=1) == labels
    per_class = tuple(float(correct[labels == k].mean()) if np.any(labels == k) else math.nan
                      for k in range(logits.shape[1]))
    return ClassConsistency(float(correct.mean()), per_class, len(labels))


def frechet_distance(samples, reference):
    """Fréchet distance between Gaussians fitted to two feature sets.

    Args:
        samples: float [N, D] features, N >= 2.
        reference: float [M, D] features, M >= 2.

    Returns:
        FrechetDistance.
    """
    samples, reference = _check_pair(samples, reference, minimum=2)
    value = frechet_distance_from_statistics(*feature_statistics(samples),
                                             *feature_statistics(reference))
    return FrechetDistance(value, len(samples), len(reference))


def feature_statistics(features):
    """Mean and covariance (N - 1 denominator) of float [N, D] features.

    Returns:
        (mean float64 [D], covariance float64 [D, D]).
    """
    features = np.asarray(features, dtype=np.float64)
    return features.mean(axis=0), np.cov(features, rowvar=False).reshape(
        features.shape[1], features.shape[1])


def frechet_distance_from_statistics(mean_a, covariance_a, mean_b, covariance_b):
    """||mean_a - mean_b||^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2)), in float64.

    The trace of the matrix square root needs no general `sqrtm`: S_a S_b has the
    same eigenvalues as the symmetric positive semi-definite matrix
    S_a^(1/2) S_b S_a^(1/2) (AB and BA share their eigenvalues, with A = S_a^(1/2)
    and B = S_a^(1/2) S_b), so tr((S_a S_b)^(1/2)) is the sum of the square roots of
    that matrix's eigenvalues. Two symmetric eigendecompositions are exact up to
    rounding, real-valued, and need neither scipy nor the regularisation that
    `scipy.linalg.sqrtm` needs when a covariance is singular (ReLU features with
    dead units make it so). Eigenvalues below 0 are rounding error and are
    clipped to 0.

    Args:
        mean_a, mean_b: float [D].
        covariance_a, covariance_b: float [D, D], symmetric positive semi-definite.

    Returns:
        float, >= 0 up to rounding.
    """
    mean_a, mean_b = np.asarray(mean_a, np.float64), np.asarray(mean_b, np.float64)
    covariance_a = np.asarray(covariance_a, np.float64)
    covariance_b = np.asarray(covariance_b, np.float64)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance_a)
    root_a = (eigenvectors * np.sqrt(np.clip(eigenvalues, 0, None))) @ eigenvectors.T
    product = root_a @ covariance_b @ root_a
    product = (product + product.T) / 2  # Symmetric in exact arithmetic; make it so.
    trace_root = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh(product), 0, None)))
    value = (np.sum((mean_a - mean_b) ** 2) + np.trace(covariance_a)
             + np.trace(covariance_b) - 2 * trace_root)
    return float(max(value, 0.0))


def kernel_distance(samples, reference, subset_size=1000, num_subsets=100, seed=0):
    """KID: unbiased MMD^2 with kernel k(x, y) = (x.y / D + 1)^3, over random subsets.

    Args:
        samples: float [N, D] features.
        reference: float [M, D] features.
        subset_size: rows per subset; capped at min(N, M), at least 2 must remain.
        num_subsets: subsets to average (100 as in Binkowski et al.).
        seed: seeds the subset draws; the same seed gives the same value.

    Returns:
        KernelDistance.
    """
    samples, reference = _check_pair(samples, reference, minimum=2)
    size = min(subset_size, len(samples), len(reference))
    rng = np.random.default_rng(seed)
    values = np.array([
        _unbiased_mmd2(samples[rng.choice(len(samples), size, replace=False)],
                       reference[rng.choice(len(reference), size, replace=False)])
        for _ in range(num_subsets)])
    std = float(values.std(ddof=1)) if num_subsets > 1 else 0.0
    return KernelDistance(float(values.mean()), float(std / np.sqrt(num_subsets)), std, size,
                          num_subsets, len(samples), len(reference))


def precision_recall(samples, reference, k=3):
    """Improved precision and recall (Kynkäänniemi et al., 2019).

    Each set's manifold is the union of balls around its points, each ball's
    radius the distance to that point's k-th nearest neighbour within the set.
    Precision: the fraction of samples inside the reference manifold. Recall: the
    fraction of reference points inside the samples' manifold.

    Args:
        samples: float [N, D] features, N > k.
        reference: float [M, D] features, M > k.
        k: neighbour defining the radii (3 in the paper).

    Returns:
        PrecisionRecall.
    """
    samples, reference = _check_pair(samples, reference, minimum=k + 1)
    precision = _fraction_inside(samples, reference, _kth_neighbour_radii(reference, k))
    recall = _fraction_inside(reference, samples, _kth_neighbour_radii(samples, k))
    return PrecisionRecall(precision, recall, k, len(samples), len(reference))


def class_coverage(logits, reference_logits, min_fraction=0.02):
    """Compares the arg-max class histograms of samples and reference.

    KL(samples || reference) is 0 for equal histograms and grows as samples
    over-produce some classes and drop others (log(10/7) = 0.36 nats when 3 of 10
    balanced classes vanish). Reference classes never predicted would make it
    infinite; they are floored at 1e-12.

    Args:
        logits: float [N, C] class logits of the samples.
        reference_logits: float [M, C] class logits of the reference.
        min_fraction: a class is covered when at least this fraction of samples
            is predicted as it.

    Returns:
        ClassCoverage.
    """
    logits, reference_logits = _check_pair(logits, reference_logits, minimum=1)
    num_classes = logits.shape[1]
    histogram = np.bincount(logits.argmax(axis=1), minlength=num_classes) / len(logits)
    reference_histogram = (np.bincount(reference_logits.argmax(axis=1), minlength=num_classes)
                           / len(reference_logits))
    present = histogram > 0  # 0 log 0 = 0.
    kl = np.sum(histogram[present] * np.log(
        histogram[present] / np.maximum(reference_histogram[present], 1e-12)))
    # The small tolerance keeps exactly 2% of samples counted despite float division.
    covered = int(np.sum(histogram >= min_fraction - 1e-12))
    return ClassCoverage(float(kl), covered, num_classes, min_fraction,
                         tuple(float(h) for h in histogram),
                         tuple(float(h) for h in reference_histogram),
                         len(logits), len(reference_logits))


def _unbiased_mmd2(x, y):
    m = len(x)
    # Unbiased: a point's kernel with itself is left out of the within-set means.
    within = ((_polynomial_kernel(x, x).sum() - np.sum(_polynomial_kernel_diagonal(x)))
              + (_polynomial_kernel(y, y).sum() - np.sum(_polynomial_kernel_diagonal(y))))
    return within / (m * (m - 1)) - 2 * _polynomial_kernel(x, y).mean()


def _polynomial_kernel(x, y):
    """(x.y / D + 1)^3 for every pair of rows: [len(x), len(y)]."""
    kernel = x @ y.T
    kernel /= x.shape[1]
    kernel += 1
    # In place and by multiplication: `** 3` calls pow() per element, 5x slower here.
    cube = kernel * kernel
    cube *= kernel
    return cube


def _polynomial_kernel_diagonal(x):
    return (np.sum(x * x, axis=1) / x.shape[1] + 1) ** 3


def _squared_distances(a, b):
    """float64 [len(a), len(b)] squared Euclidean distances."""
    squared = (np.sum(a ** 2, axis=1)[:, np.newaxis] + np.sum(b ** 2, axis=1)[np.newaxis]
               - 2 * a @ b.T)
    return np.maximum(squared, 0)  # Cancellation can leave tiny negatives.


def _kth_neighbour_radii(points, k):
    """Squared distance from each point to its k-th nearest other point."""
    radii = []
    for start in range(0, len(points), _DISTANCE_CHUNK):
        distances = _squared_distances(points[start:start + _DISTANCE_CHUNK], points)
        # Column k of the partition, not k - 1: column 0 is the point itself.
        radii.append(np.partition(distances, k, axis=1)[:, k])
    return np.concatenate(radii)


def _fraction_inside(queries, points, radii):
    """Fraction of `queries` within some point's radius (squared distances)."""
    inside = [np.any(_squared_distances(queries[start:start + _DISTANCE_CHUNK], points)
                     <= radii[np.newaxis], axis=1)
              for start in range(0, len(queries), _DISTANCE_CHUNK)]
    return float(np.mean(np.concatenate(inside)))


def _check_pair(samples, reference, minimum):
    """float64 copies of two [rows, D] arrays with equal D and >= `minimum` rows."""
    samples = np.asarray(samples, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    for name, array in (("samples", samples), ("reference", reference)):
        if array.ndim != 2:
            raise InputError(f"{name}: expected features [rows, D], got shape {array.shape}.")
        if len(array) < minimum:
            raise InputError(f"{name}: {len(array)} rows; this metric needs at least "
                             f"{minimum}.")
        if not np.all(np.isfinite(array)):
            raise InputError(f"{name}: features contain NaN or infinity (a diverged "
                             "generator makes NaN images).")
    if samples.shape[1] != reference.shape[1]:
        raise InputError(f"samples have {samples.shape[1]} features per row, reference "
                         f"{reference.shape[1]}.")
    return samples, reference
