"""The training loop: restore, train epoch by epoch, record progress, export.

Everything that must survive a restart lives in one `tf.train.Checkpoint` (see
`create_state`), and training always restores the latest one first, so running
the same command again continues at the stored step.
"""

import dataclasses
import logging
import os

import keras
import numpy as np
import tensorflow as tf
from tqdm import tqdm

from dcgan_tf import data, export, history, models, run_dir, visualize
from dcgan_tf.train_step import make_train_step

logger = logging.getLogger(__name__)

CHECKPOINTS_TO_KEEP = 3
PROGRESS_UPDATE_STEPS = 10  # Reading losses back from the device is a sync point.


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


def create_state(config):
    """Builds both models and optimizers, and the checkpoint that holds them.

    Returns:
        tf.train.Checkpoint with generator, discriminator, generator_optimizer,
        discriminator_optimizer, step and epoch (int64 counters: steps taken and
        epochs completed), progress_noise (float32 [num_examples_to_generate,
        noise_dim], the fixed noise of every progress frame), noise_rng (the
        tf.random.Generator the train step draws noise from) and
        dropout_rng_states (the discriminator's Dropout random states).
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
                            if isinstance(layer, keras.layers.Dropout)])


def train(config):
    """Trains (or resumes) the run described by `config` and exports the generator.

    Args:
        config: a Config; settings left to the dataset are resolved here.

    Returns:
        TrainResult.

    Raises:
        InputError: bad data, or a workdir made by another configuration. Both
            are checked before anything in the workdir is written.
    """
    config = data.resolve(config)
    run_dir.check_compatible(config)
    keras.utils.set_random_seed(config.seed)
    image_data = data.load_images(config)
    run_dir.create(config)
    num_images = len(image_data.images)
    steps_per_epoch = num_images // config.batch_size
    target_step = config.epochs * steps_per_epoch
    if config.max_steps:
        target_step = min(target_step, config.max_steps)
    logger.info("Seed %d. Dataset %s: %d images %s from %s. Device: %s. Workdir: %s",
                config.seed, config.dataset, num_images, "x".join(map(str, config.image_shape)),
                image_data.source, _device_name(), config.workdir)

    state = create_state(config)
    manager = tf.train.CheckpointManager(state, run_dir.path(config, "checkpoints"),
                                         max_to_keep=CHECKPOINTS_TO_KEEP)
    if manager.latest_checkpoint:
        state.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        logger.info("Resumed from %s at step %d (epoch %d).", manager.latest_checkpoint,
                    int(state.step), int(state.epoch))
    start_step = int(state.step)
    losses = history.read_history(run_dir.path(config, "losses.csv"), start_step)
    writer = tf.summary.create_file_writer(run_dir.path(config, "tensorboard"))
    train_step = make_train_step(state.generator, state.discriminator,
                                 state.generator_optimizer, state.discriminator_optimizer,
                                 state.noise_rng)
    images = tf.convert_to_tensor(image_data.images)  # Copied to a tensor once, not per epoch.

    if start_step >= target_step:
        logger.info("Already at step %d of %d; nothing to train. Raise --epochs to "
                    "train longer.", start_step, target_step)
    while int(state.step) < target_step:
        _train_epoch(config, state, train_step, images, steps_per_epoch, target_step,
                     losses, writer, manager)
        _record_progress(config, state, writer, steps_per_epoch)
        manager.save(checkpoint_number=int(state.step))

    generator_path = run_dir.path(config, "generator")
    export.export_generator(state.generator, generator_path)
    logger.info("Exported the generator to %s. Sample from it with: python generate.py "
                "--model=%s --out=grid.png", generator_path, generator_path)
    return TrainResult(config=config, start_step=start_step, step=int(state.step),
                       steps_per_epoch=steps_per_epoch, num_images=num_images)


def _train_epoch(config, state, train_step, images, steps_per_epoch, target_step,
                 losses, writer, manager):
    """Trains from state.step to the end of its epoch (or to target_step)."""
    step = int(state.step)
    epoch = step // steps_per_epoch
    done_in_epoch = step % steps_per_epoch
    num_steps = min(steps_per_epoch - done_in_epoch, target_step - step)
    dataset = data.make_dataset(images, config.batch_size, config.buffer_size,
                                config.seed, epoch, skip_batches=done_in_epoch)
    pending = []  # Metrics as tensors; converted in bulk when they are recorded.
    progress = tqdm(total=steps_per_epoch, initial=done_in_epoch, unit="step",
                    desc=f"Epoch {epoch + 1}/{config.epochs}", dynamic_ncols=True)
    with progress:
        for real_images in dataset.take(num_steps):
            pending.append(train_step(real_images))
            step = int(state.step.assign_add(1))
            progress.update(1)
            if step % PROGRESS_UPDATE_STEPS == 0 or step == target_step:
                progress.set_postfix({"g_loss": f"{float(pending[-1]['generator_loss']):.3f}",
                                      "d_loss": f"{float(pending[-1]['discriminator_loss']):.3f}"})
            if config.checkpoint_every and step % config.checkpoint_every == 0:
                _record_losses(config, losses, pending, step, steps_per_epoch, writer)
                pending = []
                manager.save(checkpoint_number=step)
    state.epoch.assign(step // steps_per_epoch)
    _record_losses(config, losses, pending, step, steps_per_epoch, writer)


def _record_losses(config, losses, pending, last_step, steps_per_epoch, writer):
    """Appends the metrics of steps (last_step - len(pending), last_step] to
    losses.csv, losses.png and TensorBoard."""
    if not pending:
        return
    values = {name: np.array([float(m[name]) for m in pending]) for name in pending[0]}
    steps = np.arange(last_step - len(pending) + 1, last_step + 1)
    losses["step"].extend(steps.tolist())
    # Epochs are numbered from 1 in every artifact a person reads.
    losses["epoch"].extend(((steps - 1) // steps_per_epoch + 1).tolist())
    for name, series in values.items():
        losses[name].extend(series.tolist())
    history.write_history(run_dir.path(config, "losses.csv"), losses)
    visualize.plot_losses(run_dir.path(config, "losses.png"), losses, steps_per_epoch)
    with writer.as_default():
        for index, step in enumerate(steps):
            for name, series in values.items():
                tf.summary.scalar(name, series[index], step=int(step))
    writer.flush()


def _record_progress(config, state, writer, steps_per_epoch):
    """Writes this epoch's frame from the fixed noise, and rewrites the GIF."""
    step = int(state.step)
    epoch_number = (step - 1) // steps_per_epoch + 1  # The epoch just trained in.
    # training=False: BatchNorm uses its moving averages, as the export does.
    samples = state.generator(state.progress_noise, training=False).numpy()
    grid = visualize.image_grid(samples)
    visualize.save_png(_frame_path(config, epoch_number), grid)
    frame_paths = [_frame_path(config, number) for number in range(1, epoch_number + 1)]
    frames = [visualize.read_png(path) for path in frame_paths if os.path.exists(path)]
    visualize.save_gif(run_dir.path(config, "progress.gif"), frames)
    with writer.as_default():
        tf.summary.image("samples", grid[np.newaxis], step=step)
    writer.flush()


def _frame_path(config, epoch_number):
    return run_dir.path(config, "samples", f"epoch_{epoch_number:04d}.png")


def _device_name():
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "CPU"
    return ", ".join(tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name)
                     for gpu in gpus)
