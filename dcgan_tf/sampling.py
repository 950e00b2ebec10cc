"""Sampling an exported generator: image grids, raw arrays and latent-space walks.

Everything here works from the SavedModel alone (`export.load_generator`); the
Keras model is never rebuilt, and the run's checkpoints and config are not needed.

    loaded = export.load_generator("runs/mnist/generator")
    images = sampling.sample(loaded, num=64, seed=0, batch_size=256)
    sampling.write_samples("grid.png", images)

Noise comes from NumPy's generator seeded with `seed`, row by row, so the first
k of `num` samples do not depend on `num` or (up to float rounding) on
`batch_size`, and the first frame of `latent_walk` shows the same images as
`sample` with the same seed and num.
"""

import logging
import os

import numpy as np

from dcgan_tf import chunks, conditioning, export, files, visualize
from dcgan_tf.errors import InputError
from dcgan_tf.tool_settings import SAMPLE_FORMATS, WALK_FORMATS
from dcgan_tf.tool_settings import SamplingConfig  # noqa: F401  Also importable from here.

logger = logging.getLogger(__name__)

def run(config):
    """Loads the generator in `config.model` and writes `config.out`.

    Args:
        config: a tool_settings.SamplingConfig.

    Returns:
        The images written, float32 in [-1, 1]: [num, H, W, C], or with
        `interpolate` [points * steps, num, H, W, C].

    Raises:
        InputError: the model is not an exported generator, or `out` cannot be
            written.
    """
    loaded = export.load_generator(config.model)
    files.check_writable(config.out)  # Before generating: --num=10000 can take a while.
    logger.info("Seed %d. Generator %s: noise_dim %d, images %s.", config.seed, config.model,
                loaded.noise_dim, "x".join(map(str, loaded.image_shape)))
    columns = None
    if config.interpolate:
        noise = latent_walk(loaded.noise_dim, config.num, config.points, config.steps,
                            config.seed)
        labels = walk_class(config, loaded)
    elif loaded.conditional and config.label is None:  # A row per class.
        classes = config.label_list() or tuple(range(known_classes(loaded, config.model)))
        noise = np.tile(sample_noise(loaded.noise_dim, config.num, config.seed),
                        (len(classes), 1))
        labels, columns = np.repeat(np.array(classes, np.int32), config.num), config.num
    else:
        noise = sample_noise(loaded.noise_dim, config.num, config.seed)
        labels = requested_class(config, loaded)
    images = generate_images(loaded, noise, config.batch_size, labels)
    try:
        if config.interpolate:
            write_walk(config.out, images, config.fps)
        else:
            write_samples(config.out, images, columns)
    except OSError as e:  # A full disk, or the folder changed since the check.
        raise InputError(f"--out={config.out}: cannot write it ({e}).") from e
    frames = f"{len(images)} frames of " if config.interpolate else ""
    logger.info("Wrote %s%d images to %s.", frames, config.num, config.out)
    return images


def requested_class(config, loaded):
    """--label (or None) after checking that the generator takes labels."""
    if (config.label is not None or config.labels) and not loaded.conditional:
        raise InputError(f"--model={config.model} is not conditional (trained without "
                         "--conditional): it takes no --label or --labels.")
    return config.label


def walk_class(config, loaded):
    """The one class a conditional latent walk stays in, or None (unconditional)."""
    classes = config.label_list() or (() if config.label is None else (config.label,))
    if not loaded.conditional:
        return requested_class(config, loaded)
    if len(classes) != 1:
        raise InputError("--interpolate with a conditional generator walks within one class: "
                         "pass --label=<class>.")
    return classes[0]


def sample_noise(noise_dim, num, seed):
    """Standard normal noise, the generator's training distribution.

    Returns:
        float32 [num, noise_dim]; row i depends only on `seed` and i.
    """
    return np.random.default_rng(seed).standard_normal((num, noise_dim)).astype(np.float32)


def sample(loaded, num, seed, batch_size=256, labels=None):
    """Generates `num` images from seeded noise.

    Args:
        loaded: export.LoadedGenerator.
        num: images to generate, at least 1.
        seed: non-negative int; the same seed gives the same images.
        batch_size: noise vectors per generator call.
        labels: for a conditional generator, int [num] classes; None = every
            class in turn (conditioning.balanced_labels).

    Returns:
        float32 [num, H, W, C] in [-1, 1].
    """
    if loaded.conditional and labels is None:
        labels = conditioning.balanced_labels(num, known_classes(loaded))
    return generate_images(loaded, sample_noise(loaded.noise_dim, num, seed), batch_size,
                           labels)


def known_classes(loaded, model=""):
    """A conditional generator's number of classes.

    Raises:
        InputError: a file that cannot tell (a .tflite file outside its run
            directory), naming `model`.
    """
    if loaded.num_classes is None:
        raise InputError(f"{f'--model={model}: ' if model else ''}this conditional generator "
                         "file does not say how many classes it knows (a .tflite file outside its run directory, "
                         "with no config.json beside it); pass the classes to draw with "
                         "--labels.")
    return loaded.num_classes


def generate_images(loaded, noise, batch_size=256, labels=None):
    """Runs the generator on `noise` in chunks of `batch_size` rows.

    Chunking bounds memory for any number of images; BatchNorm runs on its
    moving averages in the export, so the chunking does not change the images.
    A progress bar shows when there is more than one chunk.

    Args:
        loaded: export.LoadedGenerator.
        noise: float [..., noise_dim], any leading shape.
        batch_size: rows per generator call, at least 1.
        labels: int [...] (noise's leading shape), the class of each image, for
            a conditional generator (and only for one).

    Returns:
        float32 [..., H, W, C] in [-1, 1], the image for each noise vector.

    Raises:
        InputError: labels for an unconditional generator, none for a
            conditional one, or a label outside its classes.
    """
    noise = np.asarray(noise, dtype=np.float32)
    leading_shape = noise.shape[:-1]
    rows = noise.reshape(-1, noise.shape[-1])
    if loaded.conditional != (labels is not None):
        raise InputError("this generator is conditional: say which classes to draw (--label "
                         "or --labels)." if loaded.conditional else
                         "this generator is not conditional (trained without --conditional); "
                         "it takes no --label or --labels.")
    if labels is not None:
        labels = np.broadcast_to(np.asarray(labels, np.int32), leading_shape).reshape(-1)
        if loaded.num_classes and len(labels) and not (
                0 <= labels.min() and labels.max() < loaded.num_classes):
            raise InputError(f"label {labels.min() if labels.min() < 0 else labels.max()} is "
                             f"outside this generator's classes 0 to {loaded.num_classes - 1}.")
        rows = (rows, labels)
    images = chunks.map_in_chunks(loaded.serve, rows, batch_size, "Generating")
    if images is None:
        images = np.zeros((0, *loaded.image_shape))
    return images.astype(np.float32).reshape(*leading_shape, *loaded.image_shape)


def slerp(a, b, t):
    """Spherical linear interpolation between vectors along the last axis.

    Gaussian noise vectors of dimension D lie near the sphere of radius sqrt(D);
    a straight line between two of them cuts inside it (to ~0.7 of the radius
    halfway, for the near-orthogonal vectors high dimensions give), where the
    generator never saw inputs. Slerp follows the great circle instead, and
    keeps the norm constant when |a| = |b| (White, "Sampling Generative
    Networks", 2016).

    Args:
        a, b: float [..., D], broadcastable against each other.
        t: float scalar or array broadcastable against a[..., :1]; 0 gives a,
            1 gives b.

    Returns:
        float [..., D] of the broadcast shape, in the inputs' float dtype.
    """
    dtype = np.result_type(a, b, np.float32)
    a, b = np.asarray(a, dtype), np.asarray(b, dtype)
    t = np.asarray(t, dtype)
    unit_a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    unit_b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    cosine = np.clip(np.sum(unit_a * unit_b, axis=-1, keepdims=True), -1.0, 1.0)
    omega = np.arccos(cosine)
    sine = np.sin(omega)
    # Nearly parallel vectors: the slerp weights are 0/0, and lerp is the limit.
    parallel = sine < 1e-6
    safe_sine = np.where(parallel, 1.0, sine)
    weight_a = np.where(parallel, 1 - t, np.sin((1 - t) * omega) / safe_sine)
    weight_b = np.where(parallel, t, np.sin(t * omega) / safe_sine)
    return weight_a * a + weight_b * b


def latent_walk(noise_dim, num, points=4, steps=16, seed=0):
    """Noise for `num` closed walks through `points` random vectors each.

    Walk j visits its points in order, `steps` frames per leg, along great
    circles (slerp), and its last leg returns to its first point, so a looping
    GIF of the frames has no jump.

    Args:
        noise_dim: length of a noise vector.
        num: walks, i.e. images per frame.
        points: random vectors per walk, at least 2.
        steps: frames per leg, at least 1.
        seed: non-negative int; frame 0 equals sample_noise(noise_dim, num, seed).

    Returns:
        float32 [points * steps, num, noise_dim]; frame k * steps is point k.
    """
    keypoints = (np.random.default_rng(seed)
                 .standard_normal((points, num, noise_dim)).astype(np.float32))
    starts = keypoints[:, np.newaxis]  # [points, 1, num, noise_dim]
    ends = np.roll(keypoints, -1, axis=0)[:, np.newaxis]  # Point k+1; the last leg ends at 0.
    # t stops one step short of 1: that frame is the next leg's first.
    t = (np.arange(steps, dtype=np.float32) / steps)[np.newaxis, :, np.newaxis, np.newaxis]
    walk = slerp(starts, ends, t)  # [points, steps, num, noise_dim]
    return walk.reshape(points * steps, num, noise_dim).astype(np.float32)


def write_samples(path, images, columns=None):
    """Writes images atomically, creating parent folders; the extension decides how.

    Args:
        path: .png for a grid (visualize.image_grid), or .npy for the images as
            uint8 [N, H, W, C] in [0, 255].
        images: float [N, H, W, C] in [-1, 1], C in {1, 3}.
        columns: images per grid row; None = a near-square grid.

    Raises:
        InputError: an extension other than SAMPLE_FORMATS.
    """
    extension = _extension(path)
    if extension == ".png":
        visualize.save_png(path, visualize.image_grid(images, columns=columns))
    elif extension == ".npy":
        with files.atomic_path(path) as temporary:
            with open(temporary, "wb") as f:  # A file object: np.save adds no suffix.
                np.save(f, visualize.to_uint8(images))
    else:
        raise InputError(f"{path}: unsupported file type; use {' or '.join(SAMPLE_FORMATS)}.")


def write_walk(path, frames, fps=10.0):
    """Writes a looping GIF, one image grid per frame, atomically.

    Args:
        path: the .gif to write; parent folders are created.
        frames: float [F, N, H, W, C] in [-1, 1], C in {1, 3}.
        fps: frames per second.
    """
    if _extension(path) not in WALK_FORMATS:
        raise InputError(f"{path}: unsupported file type; use {' or '.join(WALK_FORMATS)}.")
    visualize.save_gif(path, [visualize.image_grid(frame) for frame in frames],
                       seconds_per_frame=1 / fps)


def _extension(path):
    return os.path.splitext(path)[1].lower()
