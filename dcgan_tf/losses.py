"""GAN losses on logits: the non-saturating binary cross-entropy of the tutorial.

All functions take discriminator logits float32 [B, 1] (any real value; the
sigmoid is applied inside the cross-entropy, which is numerically stable for
large logits) and return a float32 scalar, the mean over the batch.
"""

import tensorflow as tf


def discriminator_loss(real_logits, fake_logits):
    """-log D(x) - log(1 - D(G(z))): D learns to call real images 1 and fakes 0."""
    real_loss = tf.nn.sigmoid_cross_entropy_with_logits(
        labels=tf.ones_like(real_logits), logits=real_logits)
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
