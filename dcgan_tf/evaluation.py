"""Measuring a generator offline: its samples against real test images, beside a floor.

The floor is the same metrics computed for real images the feature network was
trained on (a seeded random subset of the training split, as many as there are
generated images when the split allows) against the same real test images: what a
perfect generator would score at these sample counts. Metric values carry an
estimation bias that depends on the counts, so a value is read against its floor.

    reference = evaluation.load_reference("mnist", num_samples=10000)  # Once.
    report = evaluation.evaluate_images(images, reference)  # float [N, 28, 28, 1] in [-1, 1]
    print(evaluation.format_table(report, reference.floor, reference.class_names))

`run` does all of it for evaluate.py: load a SavedModel, sample, measure, write JSON.
"""

import dataclasses
import json
import logging
import os

import numpy as np

from dcgan_tf import (classifiers, conditioning, export, files, folder_measure, metrics,
                      run_dir, sampling)
from dcgan_tf.errors import InputError
from dcgan_tf.tool_settings import MIN_SAMPLES
from dcgan_tf.tool_settings import EvalConfig  # noqa: F401  Also importable from here.

logger = logging.getLogger(__name__)



@dataclasses.dataclass(frozen=True)
class Report:
    """Every metric for one set of images against the reference.

    Attributes:
        frechet: metrics.FrechetDistance.
        kernel: metrics.KernelDistance (KID).
        precision_recall: metrics.PrecisionRecall.
        coverage: metrics.ClassCoverage.
        consistency: for a conditional generator, metrics.ClassConsistency
            (the classifier's accuracy on the classes asked for); else None.
        class_frechet: for a conditional generator, the Fréchet distance of each
            class's samples to the real images of that class (None where either
            side has fewer than MIN_CLASS_SAMPLES); else None.
    """
    frechet: metrics.FrechetDistance
    kernel: metrics.KernelDistance
    precision_recall: metrics.PrecisionRecall
    coverage: metrics.ClassCoverage
    consistency: metrics.ClassConsistency | None = None
    class_frechet: tuple | None = None


@dataclasses.dataclass(frozen=True)
class Reference:
    """The real side of every comparison, computed once per dataset and count.

    Attributes:
        feature_net: classifiers.FeatureNet used for all features.
        features: float64 [M, 128] of the real test split.
        logits: float64 [M, 10] of the real test split.
        floor: Report for real training images against the test split; its
            consistency is the classifier's accuracy on the test split.
        source: where the test split came from.
        floor_source: where the floor's real images came from.
        labels: int [M], the real images' classes (None for an unlabelled folder).
        class_names: each class's name (a folder's subfolders), or () for numbers.
    """
    feature_net: classifiers.FeatureNet
    features: np.ndarray
    logits: np.ndarray
    floor: Report
    source: str
    floor_source: str
    labels: np.ndarray | None = None
    class_names: tuple = ()


def load_reference(dataset, num_samples, data_dir="", seed=0):
    """Extracts the real test split's features and computes the real-vs-real floor.

    Args:
        dataset: 'mnist' or 'fashion_mnist'.
        num_samples: generated images each later evaluation will use; the floor
            uses as many training images, or all of them if there are fewer.
        data_dir: Fashion-MNIST's IDX files ('' = the usual places).
        seed: picks the floor's subset of training images.

    Returns:
        Reference.
    """
    feature_net = classifiers.load_feature_net(dataset)
    train, test = classifiers.load_splits(dataset, data_dir)
    features, logits = classifiers.extract(feature_net, test.images, description="Real test")
    count = min(num_samples, len(train.images))
    if count < num_samples:
        logger.warning("The real-vs-real floor uses all %d training images of %s, fewer than "
                       "the %d generated: at unequal counts the comparison is approximate.",
                       count, dataset, num_samples)
    # A random subset, not the first rows: MNIST's test split is ordered by writer group.
    chosen = np.sort(np.random.default_rng(seed).choice(len(train.images), count,
                                                        replace=False))
    floor_features, floor_logits = classifiers.extract(
        feature_net, train.images[chosen], description="Real train")
    floor = _with_consistency(compare(floor_features, floor_logits, features, logits, seed),
                              logits, test.labels)
    return Reference(feature_net, features, logits, floor, test.source,
                     f"{count} random images of {train.source}", test.labels)


def load_folder_reference(directory, image_shape, num_samples=0, seed=0, kind=""):
    """The reference of runs on an image folder (see dcgan_tf.folder_measure): half B
    of the folder, and as floor half A against half B.

    Args:
        directory: the folder the generator trained on.
        image_shape: (H, W, C) of the generator's images.
        num_samples: generated images each later evaluation will use (for a hint).
        seed: seeds the feature network and KID's subsets.
        kind: '', 'classifier' or 'random' (folder_measure.KINDS).

    Returns:
        Reference.
    """
    feature_net, half_a, half_b = folder_measure.load_halves(directory, image_shape, seed, kind)
    features, logits = classifiers.extract(feature_net, half_b.images, description="Real B")
    floor_features, floor_logits = classifiers.extract(feature_net, half_a.images,
                                                       description="Real A")
    floor = compare(floor_features, floor_logits, features, logits, seed)
    if half_b.labels is not None:
        floor = _with_consistency(floor, logits, half_b.labels)
    if num_samples and num_samples != len(half_b.images):
        logger.info("The floor compares %d with %d real images; --num=%d measures samples at "
                    "the same counts.", len(half_a.images), len(half_b.images),
                    len(half_b.images))
    return Reference(feature_net, features, logits, floor, half_b.source, half_a.source,
                     half_b.labels, half_b.class_names)


def _with_consistency(floor, logits, labels):
    """The floor with the classifier's accuracy on the reference's real images (held
    out from its training): about the class consistency a generator drawing real
    images of each class would score, as this classifier judges them."""
    return dataclasses.replace(floor, consistency=metrics.class_consistency(
        logits, np.asarray(labels, np.int64)))


def evaluate_images(images, reference, seed=0, labels=None):
    """Measures images against the reference.

    Args:
        images: float [N, 28, 28, 1] in [-1, 1] (generator output), or uint8 in
            [0, 255]; N >= MIN_SAMPLES.
        reference: Reference from load_reference.
        seed: seeds KID's subsets.
        labels: for a conditional generator, int [N]: the class each image was
            generated for; adds class consistency and per-class Fréchet distances.

    Returns:
        Report.

    Raises:
        InputError: images of another shape, too few, or not finite; labels the
            reference's classifier does not know.
    """
    images = np.asarray(images)
    if len(images) < MIN_SAMPLES:
        raise InputError(f"{len(images)} images; the metrics need at least {MIN_SAMPLES}.")
    if images.dtype != np.uint8 and not np.all(np.isfinite(images)):
        raise InputError("the generated images contain NaN or infinity: the generator has "
                         "diverged.")
    features, logits = classifiers.extract(reference.feature_net, images,
                                           description="Generated")
    report = compare(features, logits, reference.features, reference.logits, seed)
    if labels is None:
        return report
    labels = np.asarray(labels)
    return dataclasses.replace(report, consistency=metrics.class_consistency(logits, labels),
                               class_frechet=class_frechet(features, labels, reference))


# Fewer samples of a class than this on either side: no per-class Fréchet distance
# (its 128x128 covariance would be a poor estimate).
MIN_CLASS_SAMPLES = 100


def class_frechet(features, labels, reference):
    """The Fréchet distance of each class's samples to the reference images of that
    class, as a tuple over classes (None where either side is too small)."""
    if reference.labels is None:
        return None
    distances = []
    for k in range(reference.logits.shape[1]):
        ours, theirs = features[labels == k], reference.features[reference.labels == k]
        distances.append(None if min(len(ours), len(theirs)) < MIN_CLASS_SAMPLES
                         else metrics.frechet_distance(ours, theirs).value)
    return tuple(distances)


def compare(features, logits, reference_features, reference_logits, seed=0):
    """Every metric for one feature set against the reference's; returns a Report."""
    return Report(
        frechet=metrics.frechet_distance(features, reference_features),
        kernel=metrics.kernel_distance(features, reference_features, seed=seed),
        precision_recall=metrics.precision_recall(features, reference_features),
        coverage=metrics.class_coverage(logits, reference_logits))


def format_table(report, floor, class_names=()):
    """A plain-text table: metric, value, real-vs-real floor, sample counts; with
    class consistency, a row per class (named by `class_names` when given)."""
    def counts(result):
        return f"{result.num_samples} vs {result.num_reference}"

    def kid(result):
        return f"{result.value:.5f} ± {result.standard_error:.5f}"

    def covered(result):
        return f"{result.classes_covered} of {result.num_classes}"

    rows = [("metric", "generated", "real vs real", "samples vs real (floor)")]
    for name, get, show in (
            ("Fréchet distance (lower)", lambda r: r.frechet, lambda m: f"{m.value:.3f}"),
            ("KID (lower)", lambda r: r.kernel, kid),
            ("precision (higher)", lambda r: r.precision_recall,
             lambda m: f"{m.precision:.4f}"),
            ("recall (higher)", lambda r: r.precision_recall, lambda m: f"{m.recall:.4f}"),
            ("class KL, nats (lower)", lambda r: r.coverage,
             lambda m: f"{m.kl_divergence:.4f}"),
            (f"classes >= {report.coverage.min_fraction:.0%}", lambda r: r.coverage, covered)):
        rows.append((name, show(get(report)), show(get(floor)),
                     f"{counts(get(report))} ({counts(get(floor))})"))
    if report.consistency is not None:
        real = floor.consistency
        rows.append(("class consistency (higher)", f"{report.consistency.accuracy:.4f}",
                     f"{real.accuracy:.4f}" if real else "",
                     f"{report.consistency.num_samples}"))
        for k, accuracy in enumerate(report.consistency.per_class):
            distance = (report.class_frechet or ())[k:k + 1] or (None,)
            name = class_names[k] if k < len(class_names) else f"class {k}"
            rows.append((f"  {name}", f"{accuracy:.4f}",
                         f"{real.per_class[k]:.4f}" if real else "",
                         "" if distance[0] is None else f"Fréchet {distance[0]:.3f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def run(config):
    """Measures `config.num` samples of the generator in `config.model` (or the
    images of `config.images`) against the real reference; writes JSON.

    Args:
        config: a tool_settings.EvalConfig.

    Returns:
        (report, reference, out): Report of the samples, the Reference with its
        floor, and the path of the JSON written.

    Raises:
        InputError: a bad model, a generator of another image shape, an unknown
            dataset, or missing real data.
    """
    loaded = export.load_generator(config.model) if config.model else None
    run_config = _run_config(config.model) if config.model else {}
    dataset = config.dataset or run_config.get("dataset", "")
    if not dataset:
        raise InputError(f"--model={config.model}: no run config.json beside it names the "
                         f"dataset; pass --dataset ({', '.join(classifiers.DATASETS)} or "
                         "folder).")
    data_dir = config.data_dir or (run_config.get("data_dir", "") if dataset == "folder" else "")
    if loaded:
        image_shape = loaded.image_shape
    else:
        image_shape = (classifiers.IMAGE_SHAPE if dataset in classifiers.DATASETS
                       else (config.image_size, config.image_size, 3))
    if dataset != "folder":
        classifiers.check_dataset(dataset)
        if image_shape != classifiers.IMAGE_SHAPE:
            raise InputError(
                f"--model={config.model}: makes {'x'.join(map(str, image_shape))} images; "
                f"the {dataset} feature network takes "
                f"{'x'.join(map(str, classifiers.IMAGE_SHAPE))} only.")
    elif not data_dir:
        raise InputError("--dataset=folder: pass --data_dir, the folder the generator "
                         "trained on.")
    out = config.out or default_out(config.model)
    files.check_writable(out)  # Before measuring, which takes a while at the default --num.
    measured = config.model or config.images
    logger.info("Seed %d. Measuring %d samples of %s against %s.", config.seed, config.num,
                measured, data_dir if dataset == "folder" else dataset)
    if dataset == "folder":
        reference = load_folder_reference(data_dir, image_shape, config.num, config.seed,
                                          config.features)
    else:
        reference = load_reference(dataset, config.num, config.data_dir, config.seed)
    labels = None
    if loaded:
        if loaded.conditional:  # Every class in turn; a file that cannot tell how many
            # classes it has (.tflite outside its run) is asked for the classifier's.
            count = (reference.logits.shape[1] if loaded.num_classes is None
                     else loaded.num_classes)
            labels = conditioning.balanced_labels(config.num, count)
        images = sampling.sample(loaded, config.num, config.seed, config.batch_size, labels)
    else:
        images = folder_measure.read_folder(config.images, image_shape).images
        if len(images) > config.num:
            images = images[np.sort(np.random.default_rng(config.seed).choice(
                len(images), config.num, replace=False))]
    report = evaluate_images(images, reference, config.seed, labels)
    record = {
        "model": config.model, "images": config.images, "dataset": dataset,
        "data_dir": data_dir, "seed": config.seed,
        "generated": dataclasses.asdict(report),
        "real_vs_real_floor": dataclasses.asdict(reference.floor),
        "reference_source": reference.source, "floor_source": reference.floor_source,
        "feature_net": reference.feature_net.info,
    }
    try:
        files.write_text(out, json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    except OSError as e:
        raise InputError(f"--out={out}: cannot write it ({e}).") from e
    logger.info("Wrote %s.", out)
    return report, reference, out


def default_out(model):
    """<model>/../metrics.json: beside the generator, in its run directory."""
    return os.path.join(_run_dir_of(model).workdir, "metrics.json")


def _run_config(model):
    """The run's config.json next to the model folder, as a dict ({} if unreadable)."""
    try:
        with open(_run_dir_of(model).config_json, encoding="utf-8") as f:
            values = json.load(f)
    except (OSError, ValueError):
        return {}
    return values if isinstance(values, dict) else {}


def _run_dir_of(model):
    """The run directory a generator folder or file sits in."""
    return run_dir.RunDir(os.path.dirname(os.path.abspath(model.rstrip(os.sep))))
