"""What the generator takes: noise, and for a --conditional run a class label.

Code that moves generator inputs around (the train step, the progress frames,
quality logging, sampling, the export) builds and takes them here and never
looks inside, so an unconditional run passes the noise tensor exactly as before:

    inputs = conditioning.generator_inputs(noise, labels)  # labels None: noise
    images = generator(inputs, training=False)

A conditional generator is a Keras model with two inputs, float32 noise
[B, noise_dim] and int32 labels [B]; a conditional discriminator takes images
and the same labels. Its progress frames have one row per class, with the same
noise in every row of a column, so each column shows one noise vector drawn as
every class.
"""

import math

import numpy as np
import tensorflow as tf


def generator_inputs(noise, labels=None):
    """The generator's input: `noise` alone, or [noise, labels] when labelled."""
    return noise if labels is None else [noise, labels]


def discriminator_inputs(images, labels=None):
    """The discriminator's input: `images` alone, or [images, labels]."""
    return images if labels is None else [images, labels]


def split_batch(batch):
    """(images, labels or None) of a training batch (data.make_dataset's elements)."""
    if isinstance(batch, (tuple, list)):
        return batch[0], batch[1]
    return batch, None


def noise_dim(generator):
    """The length of the noise vector `generator` (a keras.Model) takes."""
    return int(generator.inputs[0].shape[-1])


def frame_columns(config):
    """Images per class in a conditional progress frame: ceil(sqrt(N)) of N =
    --num_examples_to_generate."""
    return math.ceil(math.sqrt(config.num_examples_to_generate))


def progress_noise_shape(config):
    """The shape of the fixed progress noise a run checkpoints: one vector per image
    of a frame, or for a conditional run one per column (shared by every class)."""
    rows = frame_columns(config) if config.conditional else config.num_examples_to_generate
    return [rows, config.noise_dim]


def progress_inputs(config, progress_noise):
    """The generator inputs of a progress frame from the checkpointed noise.

    Returns:
        The noise itself, or for a conditional run [noise, labels] with
        num_classes rows of frame_columns(config) images: row k is class k.
    """
    if not config.conditional:
        return progress_noise
    columns = frame_columns(config)
    noise = tf.tile(progress_noise, [config.num_classes, 1])
    return [noise, tf.repeat(tf.range(config.num_classes, dtype=tf.int32), columns)]


def balanced_labels(count, num_classes):
    """int32 [count] labels 0, 1, ..., num_classes - 1, 0, 1, ...: as many of each
    class as `count` allows (what a measurement of a conditional generator asks for)."""
    return (np.arange(count) % num_classes).astype(np.int32)


def examples_per_class(images, labels, per_class, num_classes):
    """`per_class` images of each class (the first ones, in order), class by class:
    the real rows beside a conditional frame. A class with fewer images gives
    what it has, and a class with none gives black squares."""
    rows = []
    for k in range(num_classes):
        chosen = images[np.flatnonzero(labels == k)[:per_class]]
        blank = np.zeros((per_class - len(chosen), *images.shape[1:]), images.dtype)
        rows.append(np.concatenate([chosen, blank]))
    return np.concatenate(rows)
