"""One DCGAN training step: two GradientTapes, one per network."""

import tensorflow as tf

from dcgan_tf import losses


def make_train_step(generator, discriminator, generator_optimizer,
                    discriminator_optimizer, noise_rng):
    """Builds the compiled step for these models and optimizers.

    Everything the step touches is passed in here, not read from globals, and the
    batch size comes from each batch, so a smaller final batch needs no retrace
    of the noise shape.

    Args:
        generator: keras.Model, noise [B, noise_dim] -> images [B, H, W, C].
        discriminator: keras.Model, images [B, H, W, C] -> logits [B, 1].
        generator_optimizer, discriminator_optimizer: built keras optimizers.
        noise_rng: tf.random.Generator; its state is checkpointed, so a resumed
            run draws the same noise as an uninterrupted one.

    Returns:
        train_step(real_images) for float32 [B, H, W, C] in [-1, 1], returning a
        dict of float32 scalars: generator_loss, discriminator_loss, real_score
        (mean D(x)) and fake_score (mean D(G(z))).
    """
    noise_dim = generator.input_shape[-1]

    @tf.function
    def train_step(real_images):
        noise = noise_rng.normal([tf.shape(real_images)[0], noise_dim])
        with tf.GradientTape() as generator_tape, tf.GradientTape() as discriminator_tape:
            fake_images = generator(noise, training=True)
            real_logits = discriminator(real_images, training=True)
            fake_logits = discriminator(fake_images, training=True)
            generator_loss = losses.generator_loss(fake_logits)
            discriminator_loss = losses.discriminator_loss(real_logits, fake_logits)
        generator_gradients = generator_tape.gradient(
            generator_loss, generator.trainable_variables)
        discriminator_gradients = discriminator_tape.gradient(
            discriminator_loss, discriminator.trainable_variables)
        generator_optimizer.apply_gradients(
            zip(generator_gradients, generator.trainable_variables))
        discriminator_optimizer.apply_gradients(
            zip(discriminator_gradients, discriminator.trainable_variables))
        return {
            "generator_loss": generator_loss,
            "discriminator_loss": discriminator_loss,
            "real_score": tf.reduce_mean(tf.sigmoid(real_logits)),
            "fake_score": tf.reduce_mean(tf.sigmoid(fake_logits)),
        }

    return train_step
