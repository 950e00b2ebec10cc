"""The training loop: restore, train epoch by epoch, record progress, export.

Everything that must survive a restart lives in one `tf.train.Checkpoint` (see
`create_state`), and training always restores the latest one first, so running
the same command again continues at the stored step.
"""

import dataclasses
import logging

import keras
import tensorflow as tf
from tqdm import tqdm

from dcgan_tf import data, export, history, losses, models, progress, quality_log, run_dir
from dcgan_tf.interrupts import StopRequest, TrainingInterrupted
from dcgan_tf.train_step import make_train_step

logger = logging.getLogger(__name__)

CHECKPOINTS_TO_KEEP = 3
# Losses are read back from the device (a sync point) only this often.
PROGRESS_UPDATE_STEPS = 10
# With nan_policy='skip', this many non-finite steps in a row still stop the run.
MAX_CONSECUTIVE_SKIPS = 20


class TrainingDiverged(Exception):
    """A step produced a non-finite loss or gradient and the policy says stop.

    The bad step changed no weights, and nothing was saved after it: the last
    checkpoint and every artifact are those of the last good save.
    """


@dataclasses.dataclass(frozen=True)
class TrainResult:
    """What a call to `train` did.

    Attributes:
        config: the resolved Config the run used.
        start_step: the step training resumed from (0 for a new run).
        step: the step training stopped at.
        steps_per_epoch: full batches per epoch.
        num_images: training images loaded.
    """
    config: object
    start_step: int
    step: int
    steps_per_epoch: int
    num_images: int


def create_state(config, with_average=None):
    """Builds both models and optimizers, and the checkpoint that holds them.

    Args:
        config: the run's resolved Config.
        with_average: include the generator average; None = when config.ema_decay > 0.

    Returns:
        tf.train.Checkpoint with generator, discriminator, generator_optimizer,
        discriminator_optimizer, step and epoch (int64 counters: steps taken and
        epochs completed), progress_noise (float32 [num_examples_to_generate,
        noise_dim], the fixed noise of every progress frame), noise_rng (the
        tf.random.Generator the train step draws noise from),
        dropout_rng_states (the discriminator's Dropout random states) and, when
        config.ema_decay > 0, ema_generator (the moving average of the
        generator, starting at its initial weights).
    """
    generator = models.build_generator(config)
    discriminator = models.build_discriminator(config)
    generator_optimizer = keras.optimizers.Adam(config.learning_rate, beta_1=config.beta_1)
    discriminator_optimizer = keras.optimizers.Adam(config.learning_rate,
                                                    beta_1=config.beta_1)
    # Creating the optimizer slots now lets a checkpoint restore into them.
    generator_optimizer.build(generator.trainable_variables)
    discriminator_optimizer.build(discriminator.trainable_variables)
    progress_rng, noise_rng = tf.random.Generator.from_seed(config.seed).split(2)
    progress_noise = progress_rng.normal([config.num_examples_to_generate, config.noise_dim])
    averaged = {}
    if bool(config.ema_decay) if with_average is None else with_average:
        # Built last, so runs without it draw the same initial weights as before.
        averaged["ema_generator"] = new_average(config, generator)
    return tf.train.Checkpoint(
        generator=generator,
        discriminator=discriminator,
        generator_optimizer=generator_optimizer,
        discriminator_optimizer=discriminator_optimizer,
        step=tf.Variable(0, dtype=tf.int64),
        epoch=tf.Variable(0, dtype=tf.int64),
        progress_noise=tf.Variable(progress_noise, trainable=False),
        noise_rng=noise_rng,
        # Keras keeps each Dropout layer's random state outside its weights; without
        # it a resumed run would replay the first run's dropout masks.
        dropout_rng_states=[layer.seed_generator.state for layer in discriminator.layers
                            if isinstance(layer, keras.layers.Dropout)],
        **averaged)


def new_average(config, generator):
    """A generator-shaped keras.Model holding a copy of `generator`'s variables."""
    average = models.build_generator(config)
    average.set_weights(generator.get_weights())
    return average


def sampling_generator(state):
    """The generator to show, measure and export: the moving average when on."""
    average = getattr(state, "ema_generator", None)
    return state.generator if average is None else average


def train(config, overwrite=False):
    """Trains (or resumes) the run described by `config` and exports the generator.

    Args:
        config: a Config; settings left to the dataset are resolved here.
        overwrite: discard what the workdir holds and start from step 0, even if
            it was made by another configuration.

    Returns:
        TrainResult.

    Raises:
        InputError: bad data, or a workdir made by another configuration. Both
            are checked before anything in the workdir is written.
        TrainingInterrupted: SIGINT or SIGTERM arrived; everything was saved.
        TrainingDiverged: see nan_policy.
    """
    config = data.resolve(config)
    quality_log.check_supported(config)
    differences = run_dir.differences(config)
    if differences and not overwrite:
        raise run_dir.mismatch_error(config, differences)
    keras.utils.set_random_seed(config.seed)
    image_data = data.load_images(config)
    if overwrite:
        run_dir.clear(config)
    run_dir.create(config)
    loop = _start_loop(config, len(image_data.images))
    logger.info("Seed %d. Dataset %s: %d images %s from %s. Device: %s. Workdir: %s",
                config.seed, config.dataset, len(image_data.images),
                "x".join(map(str, config.image_shape)), image_data.source, _device_name(),
                config.workdir)
    start_step = int(loop.state.step)
    if start_step >= loop.target_step:
        logger.info("Already at step %d of %d; nothing to train. Raise --epochs to "
                    "train longer.", start_step, loop.target_step)
    images = tf.convert_to_tensor(image_data.images)  # Copied to a tensor once, not per epoch.
    with StopRequest() as stop:
        while int(loop.state.step) < loop.target_step and not stop.requested:
            _train_epoch(loop, images, stop)
        _save(loop, with_frame=True)
    generator_path = run_dir.path(config, "generator")
    export.export_generator(sampling_generator(loop.state), generator_path)
    if stop.requested:
        raise TrainingInterrupted(stop.signal_number, int(loop.state.step))
    logger.info("Exported the %sgenerator to %s. Sample from it with: python generate.py "
                "--model=%s --out=grid.png", "averaged (EMA) " if config.ema_decay else "",
                generator_path, generator_path)
    return TrainResult(config=config, start_step=start_step, step=int(loop.state.step),
                       steps_per_epoch=loop.steps_per_epoch, num_images=len(image_data.images))


@dataclasses.dataclass
class _Loop:
    """What the training loop works on, restored from the latest checkpoint.

    `pending` holds the metrics (scalar tensors) of the steps trained since the
    checkpoint of `saved_step`.
    """
    config: object
    state: tf.train.Checkpoint
    manager: tf.train.CheckpointManager
    train_step: object
    writer: object
    losses: dict
    quality_rows: list  # metrics.csv rows (see quality_log).
    reference: object  # evaluation.Reference when --eval_every is on, else None.
    steps_per_epoch: int
    target_step: int
    saved_step: int  # The step of the latest checkpoint.
    frame_step: int  # The step the latest progress frame shows.
    pending: list = dataclasses.field(default_factory=list)
    checked: int = 0  # Entries of pending already checked for non-finite values.
    consecutive_skips: int = 0


def _start_loop(config, num_images):
    latest = tf.train.latest_checkpoint(run_dir.path(config, "checkpoints"))
    # A run resumed with --ema_decay newly on starts its average at the restored
    # generator, not at the fresh initial weights.
    starts_average = bool(config.ema_decay and latest and not _holds_average(latest))
    state = create_state(config, with_average=bool(config.ema_decay) and not starts_average)
    manager = tf.train.CheckpointManager(state, run_dir.path(config, "checkpoints"),
                                         max_to_keep=CHECKPOINTS_TO_KEEP)
    if latest:
        state.restore(latest).assert_existing_objects_matched()
        logger.info("Resumed from %s at step %d (epoch %d).", latest, int(state.step),
                    int(state.epoch))
    if starts_average:
        state.ema_generator = new_average(config, state.generator)
        logger.info("The checkpoint has no generator average; it starts here, at step %d.",
                    int(state.step))
    steps_per_epoch = num_images // config.batch_size
    target_step = config.epochs * steps_per_epoch
    if config.max_steps:
        target_step = min(target_step, config.max_steps)
    return _Loop(
        config=config, state=state, manager=manager,
        train_step=make_train_step(state.generator, state.discriminator,
                                   state.generator_optimizer, state.discriminator_optimizer,
                                   state.noise_rng, losses.get(config.loss,
                                                               config.label_smoothing),
                                   getattr(state, "ema_generator", None), config.ema_decay),
        writer=tf.summary.create_file_writer(run_dir.path(config, "tensorboard")),
        losses=history.read_history(run_dir.path(config, "losses.csv"), int(state.step)),
        quality_rows=quality_log.read_rows(run_dir.path(config, "metrics.csv"),
                                           int(state.step)),
        reference=quality_log.load_reference(config) if config.eval_every else None,
        steps_per_epoch=steps_per_epoch, target_step=target_step,
        saved_step=int(state.step), frame_step=int(state.step))


def _holds_average(checkpoint_path):
    stored = tf.train.load_checkpoint(checkpoint_path).get_variable_to_shape_map()
    return any(name.startswith("ema_generator/") for name in stored)


def _train_epoch(loop, images, stop):
    """Trains from the current step to the end of its epoch, the target step, or
    a stop request, then saves."""
    config = loop.config
    step = int(loop.state.step)
    epoch, done_in_epoch = divmod(step, loop.steps_per_epoch)
    num_steps = min(loop.steps_per_epoch - done_in_epoch, loop.target_step - step)
    dataset = data.make_dataset(images, config.batch_size, config.buffer_size, config.seed,
                                epoch, skip_batches=done_in_epoch)
    bar = tqdm(total=loop.steps_per_epoch, initial=done_in_epoch, unit="step",
               desc=f"Epoch {epoch + 1}/{config.epochs}", dynamic_ncols=True)
    with bar:
        for real_images in dataset.take(num_steps):
            loop.pending.append(loop.train_step(real_images))
            step += 1
            loop.state.step.assign(step)
            bar.update(1)
            if step % PROGRESS_UPDATE_STEPS == 0 or step == loop.target_step or stop.requested:
                _check_finite(loop)
                latest = loop.pending[-1]
                bar.set_postfix(g_loss=f"{float(latest['generator_loss']):.3f}",
                                d_loss=f"{float(latest['discriminator_loss']):.3f}")
            if stop.requested:
                return
            if (config.checkpoint_every and step % config.checkpoint_every == 0
                    and step % loop.steps_per_epoch):  # Epoch ends save below, with a frame.
                _save(loop, with_frame=False)
    loop.state.epoch.assign(step // loop.steps_per_epoch)
    _save(loop, with_frame=True)


def _check_finite(loop):
    """Applies nan_policy to the steps in loop.pending not yet checked.

    Raises:
        TrainingDiverged: a non-finite step under 'stop', or MAX_CONSECUTIVE_SKIPS
            of them in a row under 'skip'.
    """
    first_step = int(loop.state.step) - len(loop.pending) + 1
    for index in range(loop.checked, len(loop.pending)):
        metrics = loop.pending[index]
        if bool(metrics["finite"]):
            loop.consecutive_skips = 0
            continue
        loop.consecutive_skips += 1
        step = first_step + index
        values = ", ".join(f"{name}={float(metrics[name]):.4g}" for name in history.FIELDS[2:])
        if loop.config.nan_policy == "stop" or loop.consecutive_skips >= MAX_CONSECUTIVE_SKIPS:
            raise TrainingDiverged(
                f"step {step} had a non-finite loss or gradient ({values}) and "
                f"--nan_policy={loop.config.nan_policy} stops here"
                + (f" after {loop.consecutive_skips} such steps in a row"
                   if loop.config.nan_policy == "skip" else "")
                + ". No weight was updated from it. The last checkpoint "
                f"({loop.manager.latest_checkpoint or 'none yet'}) and the other artifacts "
                "are from the last good save. Try a lower --learning_rate, check the "
                "data, or pass --nan_policy=skip to skip such batches.")
        logger.warning("Step %d: non-finite loss or gradient (%s); skipped that batch "
                       "(--nan_policy=skip).", step, values)
    loop.checked = len(loop.pending)


def _save(loop, with_frame):
    """Writes the pending losses, optionally this epoch's frame, and a checkpoint.

    The checkpoint goes last: an artifact may run ahead of the checkpoint (and is
    trimmed back on resume), never behind it.
    """
    _check_finite(loop)
    step = int(loop.state.step)
    config = loop.config
    if loop.pending:
        progress.record_losses(config, loop.losses, loop.pending, step, loop.steps_per_epoch,
                               loop.writer)
        loop.pending, loop.checked = [], 0
    if with_frame and step != loop.frame_step:
        progress.record_frame(config, sampling_generator(loop.state),
                              loop.state.progress_noise, step, loop.steps_per_epoch, loop.writer)
        loop.frame_step = step
    measured = loop.quality_rows and loop.quality_rows[-1]["step"] == step
    if with_frame and quality_log.is_due(config, step, loop.steps_per_epoch) and not measured:
        quality_log.record(config, sampling_generator(loop.state), loop.reference,
                           loop.quality_rows, step, loop.steps_per_epoch, loop.writer)
    if step != loop.saved_step:
        loop.manager.save(checkpoint_number=step)
        loop.saved_step = step


def _device_name():
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "CPU"
    return ", ".join(tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
                     for gpu in gpus)
