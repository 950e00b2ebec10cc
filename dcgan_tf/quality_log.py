"""Sample quality measured while training (`train.py --eval_every=N`).

At the end of every N-th epoch the generator (its moving average when
--ema_decay is on) draws `eval_samples` images from the same seeded noise each
time, and `evaluation` measures them against the real reference, which is
loaded once per run. The recorder writes each row to metrics.csv and
TensorBoard (under quality/).
"""

import logging
import os

from dcgan_tf import chunks, classifiers, conditioning, evaluation, sampling
from dcgan_tf.errors import InputError

logger = logging.getLogger(__name__)

FIELDS = ("epoch", "step", "frechet", "kid", "precision", "recall", "class_kl",
          "classes_covered")
# A conditional run adds the classifier's accuracy on the classes asked for.
CONDITIONAL_FIELDS = (*FIELDS, "consistency", "worst_class_consistency")
INTEGER_FIELDS = ("epoch", "step", "classes_covered")


def fields(config):
    """The columns of a run's metrics.csv."""
    return CONDITIONAL_FIELDS if config.conditional else FIELDS
_BATCH_SIZE = 500  # Noise vectors per generator call.


def check_supported(config):
    """Raises InputError if --eval_every is set for data without a feature network.

    MNIST and Fashion-MNIST at 28x28x1 use their shipped classifiers; image
    folders, at any size, a network trained on the folder (dcgan_tf.folder_measure).
    CIFAR-10 has neither offline.

    Args:
        config: a resolved Config (image_size and channels known).
    """
    if not config.eval_every or config.dataset == "folder":
        return
    if (config.dataset not in classifiers.DATASETS
            or config.image_shape != classifiers.IMAGE_SHAPE):
        raise InputError(
            f"--eval_every needs a feature network, which exists for "
            f"{' and '.join(classifiers.DATASETS)} at "
            f"{'x'.join(map(str, classifiers.IMAGE_SHAPE))} and for --dataset=folder; this "
            f"run is {config.dataset} at {'x'.join(map(str, config.image_shape))}. "
            "Leave --eval_every at 0.")


def load_reference(config):
    """The real side of every measurement of this run (slow: call once per run)."""
    logger.info("Loading the %s reference for --eval_every=%d (%d samples per measurement).",
                config.dataset, config.eval_every, config.eval_samples)
    if config.dataset == "folder":
        return evaluation.load_folder_reference(config.data_dir, config.image_shape,
                                                config.eval_samples, config.seed)
    # A training --data_dir may be an .npz; the classifier splits need the IDX folder.
    data_dir = config.data_dir if os.path.isdir(config.data_dir) else ""
    return evaluation.load_reference(config.dataset, config.eval_samples, data_dir, config.seed)


def is_due(config, step, steps_per_epoch):
    """True at the end of every eval_every-th epoch."""
    return bool(config.eval_every and step and step % steps_per_epoch == 0
                and (step // steps_per_epoch) % config.eval_every == 0)


def measure(config, generator, reference, step, steps_per_epoch):
    """Measures `generator` at an epoch end: a metrics.csv row, or None.

    Args:
        config: the run's resolved Config.
        generator: keras.Model, generator inputs -> images [B, H, W, C] in [-1, 1];
            a conditional one is asked for every class in turn.
        reference: evaluation.Reference from load_reference.
        step: the step the generator has trained to, at an epoch end.
        steps_per_epoch: full batches per epoch.

    Returns:
        dict keyed by fields(config), or None when the images could not be measured
        (non-finite: reported, and training goes on).
    """
    noise = sampling.sample_noise(config.noise_dim, config.eval_samples, config.seed)
    labels = (conditioning.balanced_labels(config.eval_samples, config.num_classes)
              if config.conditional else None)
    images = chunks.map_in_chunks(
        lambda *batch: generator(conditioning.generator_inputs(*batch), training=False),
        noise if labels is None else (noise, labels), _BATCH_SIZE)
    try:
        report = evaluation.evaluate_images(images, reference, config.seed, labels)
    except InputError as e:  # Non-finite images: report it, keep training.
        logger.warning("Step %d: not measured: %s", step, e)
        return None
    row = {"epoch": step // steps_per_epoch, "step": step,
           "frechet": report.frechet.value, "kid": report.kernel.value,
           "precision": report.precision_recall.precision,
           "recall": report.precision_recall.recall,
           "class_kl": report.coverage.kl_divergence,
           "classes_covered": report.coverage.classes_covered}
    if report.consistency is not None:
        row["consistency"] = report.consistency.accuracy
        row["worst_class_consistency"] = min(report.consistency.per_class)
    logger.info("Epoch %d: Fréchet %.3f (floor %.3f), KID %.5f, precision %.3f, recall %.3f, "
                "class KL %.4f, %d classes covered (%d samples).", row["epoch"],
                row["frechet"], reference.floor.frechet.value, row["kid"], row["precision"],
                row["recall"], row["class_kl"], row["classes_covered"], config.eval_samples)
    if report.consistency is not None:
        logger.info("Epoch %d: class consistency %.3f (worst class %.3f).", row["epoch"],
                    row["consistency"], row["worst_class_consistency"])
    return row
