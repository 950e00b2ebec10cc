"""One DCGAN training step: two GradientTapes, one per network."""

import tensorflow as tf

from dcgan_tf import losses


def make_train_step(generator, discriminator, generator_optimizer,
                    discriminator_optimizer, noise_rng, gan_loss=None, ema_generator=None,
                    ema_decay=0.0):
    """Builds the compiled step for these models and optimizers.

    Everything the step touches is passed in here, not read from globals, and the
    batch size comes from each batch, so a smaller final batch gets a matching
    noise batch.

    A step whose losses or gradients are not all finite changes nothing: no
    weight, optimizer slot or BatchNorm statistic is updated, and the step
    reports `finite` = False. The caller decides whether to stop or go on.

    Args:
        generator: keras.Model, noise [B, noise_dim] -> images [B, H, W, C].
        discriminator: keras.Model, images [B, H, W, C] -> logits [B, 1].
        generator_optimizer, discriminator_optimizer: built keras optimizers.
        noise_rng: tf.random.Generator; its state is checkpointed, so a resumed
            run draws the same noise as an uninterrupted one.
        gan_loss: losses.GanLoss; None = the non-saturating loss.
        ema_generator: None, or a keras.Model of the generator's architecture
            holding the exponential moving average of every float variable of
            `generator` (weights and BatchNorm moving statistics), updated after
            each applied step and never on a skipped one.
        ema_decay: the average's decay in (0, 1), used when ema_generator is set.

    Returns:
        train_step(real_images) for float32 [B, H, W, C] in [-1, 1], returning a
        dict of float32 scalars generator_loss, discriminator_loss, real_score
        (mean D(x)), fake_score (mean D(G(z))), and the bool scalar finite.
    """
    noise_dim = generator.input_shape[-1]
    gan_loss = gan_loss or losses.get()
    # BatchNorm's moving statistics change during the forward pass, before the
    # losses can be checked, so they are copied first and put back on a bad step.
    statistics = [variable for variable in (generator.non_trainable_variables
                                            + discriminator.non_trainable_variables)
                  if "float" in variable.dtype]

    @tf.function
    def train_step(real_images):
        saved_statistics = [tf.identity(v) for v in statistics]
        noise = noise_rng.normal([tf.shape(real_images)[0], noise_dim])
        with tf.GradientTape() as generator_tape, tf.GradientTape() as discriminator_tape:
            fake_images = generator(noise, training=True)
            real_logits = discriminator(real_images, training=True)
            fake_logits = discriminator(fake_images, training=True)
            generator_loss = gan_loss.generator(fake_logits)
            discriminator_loss = gan_loss.discriminator(real_logits, fake_logits)
        generator_gradients = generator_tape.gradient(
            generator_loss, generator.trainable_variables)
        discriminator_gradients = discriminator_tape.gradient(
            discriminator_loss, discriminator.trainable_variables)
        finite = _all_finite([generator_loss, discriminator_loss, *generator_gradients,
                              *discriminator_gradients])
        if finite:
            generator_optimizer.apply_gradients(
                zip(generator_gradients, generator.trainable_variables))
            discriminator_optimizer.apply_gradients(
                zip(discriminator_gradients, discriminator.trainable_variables))
            if ema_generator is not None:
                update_average(ema_generator, generator, ema_decay,
                               generator_optimizer.iterations)
        else:
            for variable, value in zip(statistics, saved_statistics):
                variable.assign(value)
        return {
            "generator_loss": generator_loss,
            "discriminator_loss": discriminator_loss,
            "real_score": tf.reduce_mean(tf.sigmoid(real_logits)),
            "fake_score": tf.reduce_mean(tf.sigmoid(fake_logits)),
            "finite": finite,
        }

    return train_step


def update_average(ema_generator, generator, decay, num_updates):
    """ema <- d * ema + (1 - d) * current, for every float variable of the generator.

    The decay is warmed up as in tf.train.ExponentialMovingAverage,
    d = min(decay, (1 + n) / (10 + n)) after n applied updates: with a fixed 0.999 a
    run of a few hundred steps would still be mostly its random initial weights.
    BatchNorm's moving statistics are averaged with the same decay as the
    weights, so the averaged network normalises with statistics that lag like
    its weights do (they are not recomputed for the averaged weights).
    """
    updates = tf.cast(num_updates, tf.float32)
    decay = tf.minimum(tf.constant(decay, tf.float32), (1.0 + updates) / (10.0 + updates))
    for average, variable in zip(ema_generator.variables, generator.variables):
        if "float" in average.dtype:
            average.assign(decay * average + (1.0 - decay) * variable)


def _all_finite(tensors):
    return tf.reduce_all([tf.reduce_all(tf.math.is_finite(t)) for t in tensors])
