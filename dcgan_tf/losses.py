"""GAN losses on discriminator outputs: non-saturating cross-entropy, hinge, least squares.

Every function takes discriminator outputs float32 [B, 1] (raw logits, any real
value: no sigmoid is applied before them) and returns a float32 scalar, the
mean over the batch. `get` picks a matching (generator, discriminator) pair.

    non_saturating  the TF tutorial's binary cross-entropy on logits, with the
                    generator maximising log D(G(z)) (Goodfellow et al., 2014).
    hinge           max(0, 1 - D(x)) + max(0, 1 + D(G(z))) for D, -D(G(z)) for G
                    (Lim & Ye, 2017; Miyato et al., 2018).
    least_squares   LSGAN (Mao et al., 2017) with targets 1 (real) and 0 (fake) on D's
                    raw output: 0.5 (D(x) - 1)^2 + 0.5 D(G(z))^2, and 0.5 (D(G(z)) - 1)^2 for G.
"""

import collections

import tensorflow as tf

from dcgan_tf.config import check_loss

GanLoss = collections.namedtuple("GanLoss", ["generator", "discriminator"])
GanLoss.__doc__ = """generator(fake_logits) and discriminator(real_logits, fake_logits)."""


def discriminator_loss(real_logits, fake_logits, label_smoothing=0.0):
    """-log D(x) - log(1 - D(G(z))): D learns to call real images 1 and fakes 0.

    With label_smoothing s > 0 the real target is 1 - s and fakes stay at 0
    (one-sided smoothing, Salimans et al., 2016): D is not rewarded for ever more
    confident real scores, and G's target is left alone (smoothing the fake side
    too would reward D for putting mass where only G's samples lie).
    """
    real_loss = tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.fill(tf.shape(real_logits), 1.0 - label_smoothing), logits=real_logits)
    fake_loss = tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.zeros_like(fake_logits), logits=fake_logits)
    return tf.reduce_mean(real_loss) + tf.reduce_mean(fake_loss)


def generator_loss(fake_logits):
    """-log D(G(z)), the non-saturating loss.

    Minimising log(1 - D(G(z))) instead (the minimax game as written) gives G
    vanishing gradients exactly when D confidently rejects its samples, which is
    early in training; -log D(G(z)) has strong gradients there
    (Goodfellow et al., 2014, section 3).
    """
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.ones_like(fake_logits), logits=fake_logits))


def hinge_discriminator_loss(real_logits, fake_logits):
    """mean(max(0, 1 - D(x))) + mean(max(0, 1 + D(G(z)))): only margin violations count."""
    return (tf.reduce_mean(tf.nn.relu(1.0 - real_logits))
            + tf.reduce_mean(tf.nn.relu(1.0 + fake_logits)))


def hinge_generator_loss(fake_logits):
    """-mean(D(G(z))): G raises D's raw score of its samples, without a margin."""
    return -tf.reduce_mean(fake_logits)


def least_squares_discriminator_loss(real_logits, fake_logits):
    """0.5 mean((D(x) - 1)^2) + 0.5 mean(D(G(z))^2): targets 1 for real, 0 for fake."""
    return (0.5 * tf.reduce_mean(tf.square(real_logits - 1.0))
            + 0.5 * tf.reduce_mean(tf.square(fake_logits)))


def least_squares_generator_loss(fake_logits):
    """0.5 mean((D(G(z)) - 1)^2): G pulls its samples' scores to the real target.

    Unlike the cross-entropy, the gradient grows with the distance from the
    target, so samples far on the real side of the boundary are still moved.
    """
    return 0.5 * tf.reduce_mean(tf.square(fake_logits - 1.0))


def get(name="non_saturating", label_smoothing=0.0):
    """The (generator, discriminator) loss pair named `name`.

    Args:
        name: one of LOSSES.
        label_smoothing: one-sided smoothing of the real target, in [0, 0.5);
            only defined for 'non_saturating' (the targets of the other losses
            are margins or regression targets, not probabilities).

    Raises:
        InputError: an unknown name, or smoothing with another loss.
    """
    check_loss(name, label_smoothing)
    if name == "hinge":
        return GanLoss(hinge_generator_loss, hinge_discriminator_loss)
    if name == "least_squares":
        return GanLoss(least_squares_generator_loss, least_squares_discriminator_loss)

    def smoothed_discriminator_loss(real_logits, fake_logits):
        return discriminator_loss(real_logits, fake_logits, label_smoothing)

    return GanLoss(generator_loss, smoothed_discriminator_loss)
