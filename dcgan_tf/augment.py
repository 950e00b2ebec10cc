"""Differentiable augmentation of what the discriminator sees (DiffAugment).

With few training images the discriminator memorises them: its score on real
images goes to 1 and on generated ones to 0 within a few hundred steps, and the
generator's gradient carries nothing useful. DiffAugment (Zhao et al., NeurIPS
2020, "Differentiable Augmentation for Data-Efficient GAN Training") transforms
every image the discriminator sees, real and generated, with fresh random
parameters each time, in the training step. The transforms are differentiable in
the image, so the generator still receives gradients through them; they are
applied to both sides, so the generator is not asked to draw augmented images.
The published effect: with 10% of CIFAR-10, FID 36.0 -> 14.5 for StyleGAN2 and
39.8 -> 22.4 for BigGAN.

    augment = augment.make_augment("color,translation,cutout", rng)
    logits = discriminator(augment(images), training=True)

Nothing here touches the generator: sampling and the exported model never augment.
"""

import tensorflow as tf

from dcgan_tf.config import AUGMENTATIONS, augment_names

# Translation moves an image by up to this fraction of its side (zeros, the
# middle grey of [-1, 1], fill the gap); cutout zeroes a square of this fraction
# of the side. The values of Zhao et al.
TRANSLATION_RATIO = 1 / 8
CUTOUT_RATIO = 1 / 2


def make_augment(policy, rng):
    """The augmentation function of a policy.

    Args:
        policy: comma-separated names of TRANSFORMS, applied in that order; '' = none.
        rng: tf.random.Generator the random parameters are drawn from (checkpointed
            with the run, so a resumed run augments as an uninterrupted one).

    Returns:
        augment(images) for float32 [B, H, W, C] in [-1, 1], returning the same
        shape; the identity when the policy is empty.
    """
    transforms = [TRANSFORMS[name] for name in augment_names(policy)]

    def augment(images):
        for transform in transforms:
            images = transform(images, rng)
        return images

    return augment


def color(images, rng):
    """Brightness, saturation and contrast, each with its own random factor per image."""
    batch = tf.shape(images)[0]
    dtype = images.dtype

    def uniform(low, high):
        return tf.cast(rng.uniform([batch, 1, 1, 1], low, high), dtype)

    images = images + uniform(-0.5, 0.5)
    gray = tf.reduce_mean(images, axis=3, keepdims=True)
    images = (images - gray) * uniform(0.0, 2.0) + gray
    mean = tf.reduce_mean(images, axis=[1, 2, 3], keepdims=True)
    return (images - mean) * uniform(0.5, 1.5) + mean


def translation(images, rng):
    """Shifts each image by whole pixels, up to TRANSLATION_RATIO of its side each way."""
    batch, height, width = tf.shape(images)[0], images.shape[1], images.shape[2]
    pad_y = int(height * TRANSLATION_RATIO + 0.5)
    pad_x = int(width * TRANSLATION_RATIO + 0.5)
    shift_y = rng.uniform([batch, 1], -pad_y, pad_y + 1, dtype=tf.int32)
    shift_x = rng.uniform([batch, 1], -pad_x, pad_x + 1, dtype=tf.int32)
    padded = tf.pad(images, [[0, 0], [pad_y, pad_y], [pad_x, pad_x], [0, 0]])
    # Output row y reads padded row y + pad - shift: one gather per axis, per image.
    rows = tf.range(height)[tf.newaxis] + pad_y - shift_y
    columns = tf.range(width)[tf.newaxis] + pad_x - shift_x
    shifted = tf.gather(padded, rows, axis=1, batch_dims=1)
    return tf.gather(shifted, columns, axis=2, batch_dims=1)


def cutout(images, rng):
    """Zeroes a square of CUTOUT_RATIO of the side at a random place in each image
    (it may hang over the edge, as in Zhao et al.)."""
    batch, height, width = tf.shape(images)[0], images.shape[1], images.shape[2]
    size_y, size_x = int(height * CUTOUT_RATIO + 0.5), int(width * CUTOUT_RATIO + 0.5)
    centre_y = rng.uniform([batch, 1, 1], 0, height + (1 - size_y % 2), dtype=tf.int32)
    centre_x = rng.uniform([batch, 1, 1], 0, width + (1 - size_x % 2), dtype=tf.int32)
    y = tf.range(height)[tf.newaxis, :, tf.newaxis]
    x = tf.range(width)[tf.newaxis, tf.newaxis, :]
    inside = ((y >= centre_y - size_y // 2) & (y < centre_y - size_y // 2 + size_y)
              & (x >= centre_x - size_x // 2) & (x < centre_x - size_x // 2 + size_x))
    keep = tf.cast(tf.logical_not(inside), images.dtype)[..., tf.newaxis]
    return images * keep


TRANSFORMS = {"color": color, "translation": translation, "cutout": cutout}
assert tuple(TRANSFORMS) == AUGMENTATIONS
