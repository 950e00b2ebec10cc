"""One DCGAN training step: two GradientTapes, one per network.

`make_train_step` builds the step for one batch; `make_train_loop` wraps it in a
compiled loop that runs several steps per call. Both work under any
`tf.distribute` strategy: the step is written in two phases, because a
synchronisation point (the optimizer's gradient all-reduce) may not sit inside
control flow that runs per replica.

  1. On every replica: forward pass, losses, gradients, and whether they are
     all finite.
  2. Across replicas: if every replica's values were finite, apply the
     gradients (the optimizers all-reduce them); else put back the BatchNorm
     statistics the forward pass changed. Every replica takes the same branch.
"""

import dataclasses
import functools

import tensorflow as tf

from dcgan_tf import conditioning, losses

METRICS = ("generator_loss", "discriminator_loss", "real_score", "fake_score")
# Dynamic loss scaling for float16 (as in Micikevicius et al., 2018): start high,
# halve on an overflow, double after this many applied steps in a row.
INITIAL_LOSS_SCALE = 2.0**15
LOSS_SCALE_GROWTH_STEPS = 2000


class LossScale(tf.Module):
    """A dynamic loss scale for one network's gradients (float16 only).

    Each network has its own: the two losses have different magnitudes, so one
    network's gradients can overflow while the other's do not.
    """

    def __init__(self, name):
        super().__init__(name=f"{name}_loss_scale")
        self.scale = tf.Variable(INITIAL_LOSS_SCALE, trainable=False, dtype=tf.float32,
                                 name=f"{name}_loss_scale")
        self.good_steps = tf.Variable(0, trainable=False, dtype=tf.int64,
                                      name=f"{name}_good_steps")

    def update(self, overflowed):
        """Halves the scale after an overflow, doubles it after enough good steps."""
        good_steps = tf.where(overflowed, tf.constant(0, tf.int64), self.good_steps + 1)
        grow = good_steps >= LOSS_SCALE_GROWTH_STEPS
        scale = tf.where(overflowed, self.scale / 2.0,
                         tf.where(grow, self.scale * 2.0, self.scale))
        self.scale.assign(scale)
        self.good_steps.assign(tf.where(grow, tf.constant(0, tf.int64), good_steps))


@dataclasses.dataclass(frozen=True)
class StepParts:
    """Everything one training step touches, passed in explicitly (no globals).

    Attributes:
        networks: ((generator, generator_optimizer), (discriminator,
            discriminator_optimizer)).
        noise_rng: tf.random.Generator the step draws its noise from.
        gan_loss: losses.GanLoss.
        scales: (generator, discriminator) LossScale under float16, else (None, None).
        statistics: the float non-trainable variables (BatchNorm's moving
            statistics) a forward pass changes, put back after a bad step.
        ema_generator: None, or the generator average (see update_average).
        ema_decay: the average's decay.
        strategy: the tf.distribute.Strategy the variables live under.
        augment: images -> images, applied to everything the discriminator
            sees, real and generated (augment.make_augment); the identity when off.
    """
    networks: tuple
    noise_rng: tf.random.Generator
    gan_loss: losses.GanLoss
    scales: tuple
    statistics: list
    ema_generator: object
    ema_decay: float
    strategy: tf.distribute.Strategy
    augment: object = None

    @property
    def generator(self):
        return self.networks[0][0]


def make_train_step(generator, discriminator, generator_optimizer,
                    discriminator_optimizer, noise_rng, gan_loss=None, ema_generator=None,
                    ema_decay=0.0, loss_scales=None, jit_compile=False, strategy=None,
                    augment=None):
    """Builds the step for these models and optimizers.

    Everything the step touches is passed in here, not read from globals, and the
    batch size comes from each batch, so a smaller final batch gets a matching
    noise batch.

    A step whose losses or gradients are not all finite changes nothing: no
    weight, optimizer slot or BatchNorm statistic is updated, and the step
    reports `finite` = False. The caller decides whether to stop or go on. Under
    float16 loss scaling, non-finite gradients with finite losses are an
    overflow: the step is skipped the same way, the overflowing network's loss
    scale is halved, and `finite` stays True (while that scale is above 1).

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
        loss_scales: None, or (generator, discriminator) LossScale for float16.
        jit_compile: compile the step with XLA (not with a `strategy`).
        strategy: the tf.distribute.Strategy the variables were created under;
            None = the default (no distribution). The batch is that strategy's distributed
            batch (per-replica values); losses are averaged over the global batch.
        augment: None, or a function applied to every batch of images, real and
            generated, before the discriminator sees it (see dcgan_tf.augment).

    Returns:
        train_step(batch) for a batch of float32 images [B, H, W, C] in [-1, 1]
        (with a conditional generator: (images, int32 labels [B]), and the
        generated images are drawn for the real batch's labels), returning a
        dict of float32 scalars generator_loss, discriminator_loss, real_score
        (mean D(x)), fake_score (mean D(G(z))), each averaged over replicas, and
        the bool scalar finite.
    """
    if strategy is not None and jit_compile:
        raise ValueError("jit_compile works with the default strategy only.")
    parts = StepParts(
        networks=((generator, generator_optimizer), (discriminator, discriminator_optimizer)),
        noise_rng=noise_rng, gan_loss=gan_loss or losses.get(),
        scales=tuple(loss_scales or (None, None)),
        # BatchNorm's moving statistics change during the forward pass, before the
        # losses can be checked, so they are copied first and put back on a bad step.
        statistics=[variable for variable in (generator.non_trainable_variables
                                              + discriminator.non_trainable_variables)
                    if "float" in variable.dtype],
        ema_generator=ema_generator, ema_decay=ema_decay,
        strategy=strategy or tf.distribute.get_strategy(), augment=augment)
    return tf.function(functools.partial(train_step, parts), jit_compile=jit_compile or None)


def train_step(parts, batch):
    """One step on a (distributed) batch: phase 1 on every replica, then phase 2."""
    strategy = parts.strategy
    metrics, gradients, saved_statistics, flags = strategy.run(
        compute_gradients, args=(parts, batch))
    bad_losses, *overflows = [strategy.reduce("SUM", flag, axis=None) > 0 for flag in flags]
    if tf.logical_not(bad_losses | tf.reduce_any(overflows)):
        strategy.run(apply_gradients, args=(parts, gradients))
        if parts.ema_generator is not None:
            generator_optimizer = parts.networks[0][1]
            update_average(parts.ema_generator, parts.generator, parts.ema_decay,
                           generator_optimizer.iterations)
    else:
        put_back_statistics(parts, saved_statistics)
    result = {name: strategy.reduce("MEAN", metrics[name], axis=None) for name in METRICS}
    result["finite"] = step_finite(parts, bad_losses, overflows)
    return result


def compute_gradients(parts, batch):
    """Phase 1, per replica: forward pass, losses, gradients, and failure flags.

    Returns:
        (metrics, gradients, saved_statistics, flags): the METRICS scalars, one
        gradient list per network (unscaled), the statistics before the forward
        pass, and float32 flags [non-finite losses, generator overflow,
        discriminator overflow], floats so that a sum over replicas says whether
        any replica had one.
    """
    (generator, _), (discriminator, _) = parts.networks
    saved_statistics = [tf.identity(v) for v in parts.statistics]
    real_images, labels = conditioning.split_batch(batch)
    noise = parts.noise_rng.normal([tf.shape(real_images)[0], conditioning.noise_dim(generator)])
    with tf.GradientTape() as generator_tape, tf.GradientTape() as discriminator_tape:
        fake_images = generator(conditioning.generator_inputs(noise, labels), training=True)
        if parts.augment is not None:  # Both sides, so G is not taught to draw augmentations.
            real_images, fake_images = parts.augment(real_images), parts.augment(fake_images)
        real_logits = tf.cast(discriminator(conditioning.discriminator_inputs(
            real_images, labels), training=True), tf.float32)
        fake_logits = tf.cast(discriminator(conditioning.discriminator_inputs(
            fake_images, labels), training=True), tf.float32)
        generator_loss = parts.gan_loss.generator(fake_logits)
        discriminator_loss = parts.gan_loss.discriminator(real_logits, fake_logits)
        # Each replica's loss is a mean over its share of the batch; the
        # optimizers sum gradients over replicas, so this makes the sum the
        # gradient of the mean over the global batch.
        replicas = tf.distribute.get_replica_context().num_replicas_in_sync
        scaled = [loss / replicas * (scale.scale if scale else 1.0)
                  for loss, scale in zip((generator_loss, discriminator_loss), parts.scales)]
    gradients = []
    for tape, loss, (model, _), scale in zip((generator_tape, discriminator_tape), scaled,
                                              parts.networks, parts.scales):
        grads = tape.gradient(loss, model.trainable_variables)
        gradients.append([g / scale.scale for g in grads] if scale else grads)
    losses_finite = _all_finite([generator_loss, discriminator_loss])
    metrics = {
        "generator_loss": generator_loss,
        "discriminator_loss": discriminator_loss,
        "real_score": tf.reduce_mean(tf.sigmoid(real_logits)),
        "fake_score": tf.reduce_mean(tf.sigmoid(fake_logits)),
    }
    flags = [tf.cast(tf.logical_not(losses_finite), tf.float32)] + [
        tf.cast(tf.logical_not(_all_finite(grads)), tf.float32) for grads in gradients]
    return metrics, gradients, saved_statistics, flags


def apply_gradients(parts, gradients):
    """Phase 2, per replica: the optimizers all-reduce the gradients and apply them."""
    for (model, optimizer), grads in zip(parts.networks, gradients):
        optimizer.apply_gradients(zip(grads, model.trainable_variables))


def put_back_statistics(parts, saved_statistics):
    """After a bad step: BatchNorm's statistics as they were before its forward pass."""
    for variable, value in zip(parts.statistics, saved_statistics):
        # The tf.Variable inside the Keras variable (a distributed one under a
        # strategy), restored replica by replica.
        parts.strategy.extended.update(variable.value, _assign, args=(value,))


def step_finite(parts, bad_losses, overflows):
    """Whether the step counts as finite, updating float16 loss scales on the way.

    An overflow is expected now and then under float16 loss scaling and only
    lowers the scale; with no scaling left to lower, it is a real failure.
    """
    finite = tf.logical_not(bad_losses)
    for scale, overflow in zip(parts.scales, overflows):
        if scale is None:
            finite &= tf.logical_not(overflow)
        else:
            scale.update(overflow & tf.logical_not(bad_losses))
            finite &= tf.logical_not(overflow) | (scale.scale >= 1.0)
    return finite


def _assign(variable, value):
    return variable.assign(value)


def make_train_loop(train_step):
    """Compiles `steps` calls of `train_step` into one call.

    Python and the launch of the compiled function are paid once per call rather
    than once per step, and nothing is read back to the host in between.

    Args:
        train_step: from make_train_step.

    Returns:
        train_steps(iterator, steps): runs `steps` (an int32 scalar tensor, so
        that another count does not retrace) steps on batches from `iterator`
        and returns a dict of [steps] tensors, one entry per step, with the keys
        of train_step's result.
    """
    @tf.function
    def train_steps(iterator, steps):
        results = {name: tf.TensorArray(tf.float32, size=steps) for name in METRICS}
        results["finite"] = tf.TensorArray(tf.bool, size=steps)
        for index in tf.range(steps):
            metrics = train_step(next(iterator))
            results = {name: array.write(index, metrics[name])
                       for name, array in results.items()}
        return {name: array.stack() for name, array in results.items()}

    return train_steps


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
