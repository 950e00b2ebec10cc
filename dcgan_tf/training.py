"""The training loop: restore, train epoch by epoch, record progress, export.

Everything that must survive a restart lives in one `tf.train.Checkpoint` (see
`create_state`), and training always restores the latest one first, so running
the same command again continues at the stored step.
"""

import dataclasses
import logging
import shutil
import tempfile

import keras
import numpy as np
import tensorflow as tf
from tqdm import tqdm

from dcgan_tf import (data, distribute, export, history, losses, models, progress, quality_log,
                      run_dir)
from dcgan_tf.errors import InputError
from dcgan_tf.interrupts import StopRequest, TrainingInterrupted
from dcgan_tf.train_step import LossScale, make_train_loop, make_train_step

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


def create_state(config, with_average=None, strategy=None):
    """Builds both models and optimizers, and the checkpoint that holds them.

    Args:
        config: the run's resolved Config.
        with_average: include the generator average; None = when config.ema_decay > 0.
        strategy: the tf.distribute.Strategy to create every variable under;
            None = the current one.

    Returns:
        tf.train.Checkpoint with generator, discriminator, generator_optimizer,
        discriminator_optimizer, step and epoch (int64 counters: steps taken and
        epochs completed), progress_noise (float32 [num_examples_to_generate,
        noise_dim], the fixed noise of every progress frame), noise_rng (the
        tf.random.Generator the train step draws noise from),
        dropout_rng_states (the discriminator's Dropout random states) and, when
        config.ema_decay > 0, ema_generator (the moving average of the
        generator, starting at its initial weights) and, under mixed_float16,
        loss_scales (the generator's and the discriminator's LossScale).
    """
    with (strategy or tf.distribute.get_strategy()).scope():
        trained = _create_trained_state(config, with_average)
    # Outside the strategy: the host reads and sets these, never a replica.
    progress_rng = trained.pop("progress_rng")
    return tf.train.Checkpoint(
        step=tf.Variable(0, dtype=tf.int64),
        epoch=tf.Variable(0, dtype=tf.int64),
        progress_noise=tf.Variable(
            progress_rng.normal([config.num_examples_to_generate, config.noise_dim]),
            trainable=False),
        **trained)


def _create_trained_state(config, with_average):
    generator = models.build_generator(config)
    discriminator = models.build_discriminator(config)
    generator_optimizer = keras.optimizers.Adam(config.learning_rate, beta_1=config.beta_1)
    discriminator_optimizer = keras.optimizers.Adam(config.d_learning_rate,
                                                    beta_1=config.beta_1)
    # Creating the optimizer slots now lets a checkpoint restore into them.
    generator_optimizer.build(generator.trainable_variables)
    discriminator_optimizer.build(discriminator.trainable_variables)
    progress_rng, noise_rng = tf.random.Generator.from_seed(config.seed).split(2)
    optional = {}
    if bool(config.ema_decay) if with_average is None else with_average:
        # Built last, so runs without it draw the same initial weights as before.
        optional["ema_generator"] = new_average(config, generator)
    if config.precision == "mixed_float16":
        optional["loss_scales"] = [LossScale("generator"), LossScale("discriminator")]
    return dict(
        generator=generator,
        discriminator=discriminator,
        generator_optimizer=generator_optimizer,
        discriminator_optimizer=discriminator_optimizer,
        progress_rng=progress_rng,
        noise_rng=noise_rng,
        # Keras keeps each Dropout layer's random state outside its weights; without
        # it a resumed run would replay the first run's dropout masks. (Dropout
        # at rate 0 has none.)
        dropout_rng_states=[layer.seed_generator.state for layer in discriminator.layers
                            if isinstance(layer, keras.layers.Dropout)
                            and hasattr(layer, "seed_generator")],
        **optional)


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
    if overwrite and config.strategy == "multi_worker":
        raise InputError("--overwrite is not supported with --strategy=multi_worker (one "
                         "worker could restore what another is deleting); remove the "
                         f"workdir {config.workdir!r} first, then start every worker.")
    strategy = distribute.create_strategy(config.strategy)  # Before other TF work.
    config = data.resolve(config)
    quality_log.check_supported(config)
    if config.batch_size % strategy.num_replicas_in_sync:
        raise InputError(f"--batch_size={config.batch_size} does not split evenly over "
                         f"--strategy={config.strategy}'s {strategy.num_replicas_in_sync} "
                         "replicas; use a multiple of that.")
    differences = run_dir.differences(config)
    if differences and not overwrite:
        raise run_dir.mismatch_error(config, differences)
    keras.utils.set_random_seed(config.seed)
    image_data = data.load_images(config)
    is_chief = distribute.is_chief(strategy)
    if overwrite:
        run_dir.clear(config)
    if is_chief:
        run_dir.create(config)
    loop = _start_loop(config, len(image_data.images), strategy, is_chief)
    logger.info("Seed %d. Dataset %s: %d images %s from %s. Device: %s. Workdir: %s",
                config.seed, config.dataset, len(image_data.images),
                "x".join(map(str, config.image_shape)), image_data.source,
                _device_name(strategy, config.strategy), config.workdir)
    start_step = int(loop.state.step)
    if start_step >= loop.target_step:
        logger.info("Already at step %d of %d; nothing to train. Raise --epochs to "
                    "train longer.", start_step, loop.target_step)
    images = tf.convert_to_tensor(image_data.images)  # Copied to a tensor once, not per epoch.
    try:
        with StopRequest() as stop:
            while int(loop.state.step) < loop.target_step and not stop.requested:
                _train_epoch(loop, images, stop)
            _save(loop, with_frame=True)
    finally:
        if not is_chief:
            shutil.rmtree(loop.manager.directory, ignore_errors=True)
    generator_path = run_dir.path(config, "generator")
    if is_chief:
        export.export_generator(_exportable(config, sampling_generator(loop.state)),
                                generator_path)
    if stop.requested:
        raise TrainingInterrupted(stop.signal_number, int(loop.state.step))
    if is_chief:
        logger.info("Exported the %sgenerator to %s. Sample from it with: python generate.py "
                    "--model=%s --out=grid.png", "averaged (EMA) " if config.ema_decay else "",
                    generator_path, generator_path)
    else:
        logger.info("Worker done at step %d; the chief wrote the run.", int(loop.state.step))
    return TrainResult(config=config, start_step=start_step, step=int(loop.state.step),
                       steps_per_epoch=loop.steps_per_epoch, num_images=len(image_data.images))


@dataclasses.dataclass
class _Loop:
    """What the training loop works on, restored from the latest checkpoint.

    `pending` holds the metrics of the steps trained since the checkpoint of
    `saved_step`: one dict of [steps] tensors per call of `train_steps`.
    `readings` holds the first of them read back to the host (NumPy), each once.
    """
    config: object
    state: tf.train.Checkpoint
    manager: tf.train.CheckpointManager
    strategy: object  # The tf.distribute.Strategy every variable lives under.
    is_chief: bool  # Whether this process writes the run's artifacts.
    train_steps: object  # train_step.make_train_loop's function.
    writer: object
    losses: dict
    quality_rows: list  # metrics.csv rows (see quality_log).
    reference: object  # evaluation.Reference when --eval_every is on, else None.
    steps_per_epoch: int
    target_step: int
    saved_step: int  # The step of the latest checkpoint.
    frame_step: int  # The step the latest progress frame shows.
    pending: list = dataclasses.field(default_factory=list)
    readings: list = dataclasses.field(default_factory=list)
    consecutive_skips: int = 0


def build_train_steps(config, state, strategy=None):
    """The compiled loop that `train` runs, for `state` from create_state.

    Returns:
        make_train_loop's train_steps(iterator, steps), with the run's loss,
        generator average, loss scales, XLA setting and strategy.
    """
    strategy = strategy or tf.distribute.get_strategy()
    train_step = make_train_step(
        state.generator, state.discriminator, state.generator_optimizer,
        state.discriminator_optimizer, state.noise_rng,
        losses.get(config.loss, config.label_smoothing),
        getattr(state, "ema_generator", None), config.ema_decay,
        loss_scales=getattr(state, "loss_scales", None), jit_compile=config.xla,
        strategy=strategy if distribute.is_distributed(strategy) else None)
    return make_train_loop(train_step)


def _exportable(config, generator):
    """`generator` as a plain float32 model on no strategy: what a user reloads
    should compute in float32 on any device, whatever the run trained with."""
    if config.precision == "float32" and config.strategy == "default":
        return generator
    plain = models.build_generator(dataclasses.replace(config, precision="float32"))
    plain.set_weights(generator.get_weights())
    return plain


def _start_loop(config, num_images, strategy, is_chief):
    latest = tf.train.latest_checkpoint(run_dir.path(config, "checkpoints"))
    # A run resumed with --ema_decay newly on starts its average at the restored
    # generator, not at the fresh initial weights.
    starts_average = bool(config.ema_decay and latest and not _holds_average(latest))
    state = create_state(config, with_average=bool(config.ema_decay) and not starts_average,
                         strategy=strategy)
    # Every worker of a multi-worker run saves (saving may need them all), but
    # only the chief into the run: the others into a folder deleted at the end.
    directory = (run_dir.path(config, "checkpoints") if is_chief
                 else tempfile.mkdtemp(prefix="dcgan_tf_worker_"))
    manager = tf.train.CheckpointManager(state, directory, max_to_keep=CHECKPOINTS_TO_KEEP)
    if latest:
        state.restore(latest).assert_existing_objects_matched()
        logger.info("Resumed from %s at step %d (epoch %d).", latest, int(state.step),
                    int(state.epoch))
    if starts_average:
        with strategy.scope():
            state.ema_generator = new_average(config, state.generator)
        logger.info("The checkpoint has no generator average; it starts here, at step %d.",
                    int(state.step))
    steps_per_epoch = num_images // config.batch_size
    target_step = config.epochs * steps_per_epoch
    if config.max_steps:
        target_step = min(target_step, config.max_steps)
    return _Loop(
        config=config, state=state, manager=manager, strategy=strategy, is_chief=is_chief,
        train_steps=build_train_steps(config, state, strategy),
        writer=(tf.summary.create_file_writer(run_dir.path(config, "tensorboard")) if is_chief
                else tf.summary.create_noop_writer()),
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
    batches = iter(distribute.distribute(loop.strategy, dataset.take(num_steps)))
    end_step = step + num_steps
    bar = tqdm(total=loop.steps_per_epoch, initial=done_in_epoch, unit="step",
               desc=f"Epoch {epoch + 1}/{config.epochs}", dynamic_ncols=True)
    with bar:
        while step < end_step:
            calls = _steps_in_next_call(config, step, end_step)
            loop.pending.append(loop.train_steps(batches, tf.constant(calls, tf.int32)))
            previous, step = step, step + calls
            loop.state.step.assign(step)
            bar.update(calls)
            # Reading values back waits for the device, so it happens only every
            # PROGRESS_UPDATE_STEPS steps (or when they are needed now).
            if (step // PROGRESS_UPDATE_STEPS > previous // PROGRESS_UPDATE_STEPS
                    or step == loop.target_step or stop.requested):
                _check_finite(loop)
                latest = loop.readings[-1]
                bar.set_postfix(g_loss=f"{float(latest['generator_loss'][-1]):.3f}",
                                d_loss=f"{float(latest['discriminator_loss'][-1]):.3f}")
            if stop.requested:
                return
            if (config.checkpoint_every and step % config.checkpoint_every == 0
                    and step % loop.steps_per_epoch):  # Epoch ends save below, with a frame.
                _save(loop, with_frame=False)
    loop.state.epoch.assign(step // loop.steps_per_epoch)
    _save(loop, with_frame=True)


def _steps_in_next_call(config, step, end_step):
    """Up to steps_per_call, stopping at the epoch's end and at --checkpoint_every."""
    calls = min(config.steps_per_call, end_step - step)
    if config.checkpoint_every:
        calls = min(calls, config.checkpoint_every - step % config.checkpoint_every)
    return calls


def _pending_values(loop):
    """The readings as one NumPy array per metric, in step order."""
    if not loop.readings:
        return {}
    return {name: np.concatenate([chunk[name] for chunk in loop.readings])
            for name in loop.readings[0]}


def _check_finite(loop):
    """Reads back the pending steps not yet read and applies nan_policy to them.

    Raises:
        TrainingDiverged: a non-finite step under 'stop', or MAX_CONSECUTIVE_SKIPS
            of them in a row under 'skip'.
    """
    new = [{name: np.asarray(values) for name, values in chunk.items()}
           for chunk in loop.pending[len(loop.readings):]]
    step = int(loop.state.step) - sum(len(chunk["finite"]) for chunk in new)
    for chunk in new:
        for index, finite in enumerate(chunk["finite"]):
            step += 1
            if finite:
                loop.consecutive_skips = 0
                continue
            loop.consecutive_skips += 1
            _on_non_finite_step(loop, step, ", ".join(
                f"{name}={chunk[name][index]:.4g}" for name in history.FIELDS[2:]))
    loop.readings.extend(new)


def _on_non_finite_step(loop, step, shown):
    if loop.config.nan_policy == "stop" or loop.consecutive_skips >= MAX_CONSECUTIVE_SKIPS:
        raise TrainingDiverged(
            f"step {step} had a non-finite loss or gradient ({shown}) and "
            f"--nan_policy={loop.config.nan_policy} stops here"
            + (f" after {loop.consecutive_skips} such steps in a row"
               if loop.config.nan_policy == "skip" else "")
            + ". No weight was updated from it. The last checkpoint "
            f"({loop.manager.latest_checkpoint or 'none yet'}) and the other artifacts "
            "are from the last good save. Try a lower --learning_rate, check the "
            "data, or pass --nan_policy=skip to skip such batches.")
    logger.warning("Step %d: non-finite loss or gradient (%s); skipped that batch "
                   "(--nan_policy=skip).", step, shown)


def _save(loop, with_frame):
    """Writes the pending losses, optionally this epoch's frame, and a checkpoint.

    The checkpoint goes last: an artifact may run ahead of the checkpoint (and is
    trimmed back on resume), never behind it. Only the chief writes artifacts.
    """
    _check_finite(loop)
    step = int(loop.state.step)
    if loop.is_chief:
        _record(loop, step, with_frame)
    loop.pending, loop.readings = [], []
    if step != loop.saved_step:
        loop.manager.save(checkpoint_number=step)
        loop.saved_step = step


def _record(loop, step, with_frame):
    config = loop.config
    if loop.pending:
        progress.record_losses(config, loop.losses, _pending_values(loop), step,
                               loop.steps_per_epoch, loop.writer)
    if with_frame and step != loop.frame_step:
        progress.record_frame(config, sampling_generator(loop.state),
                              loop.state.progress_noise, step, loop.steps_per_epoch, loop.writer)
        loop.frame_step = step
    measured = loop.quality_rows and loop.quality_rows[-1]["step"] == step
    if with_frame and quality_log.is_due(config, step, loop.steps_per_epoch) and not measured:
        quality_log.record(config, sampling_generator(loop.state), loop.reference,
                           loop.quality_rows, step, loop.steps_per_epoch, loop.writer)


def _device_name(strategy, config_strategy):
    gpus = tf.config.list_physical_devices("GPU")
    names = ", ".join(tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
                      for gpu in gpus) or "CPU"
    if distribute.is_distributed(strategy):
        count = strategy.num_replicas_in_sync
        names += f" ({config_strategy}, {count} replica{'s' if count > 1 else ''})"
    return names
