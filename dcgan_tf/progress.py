"""What a run records as it trains: losses (CSV, plot, TensorBoard) and frames.

Every file is written atomically (see `files`), so a run killed at any moment
leaves each artifact either at its previous complete version or at the new one.
"""

import os

import numpy as np
import tensorflow as tf

from dcgan_tf import history, run_dir, visualize


def record_losses(config, losses, pending, last_step, steps_per_epoch, writer):
    """Appends the metrics of the steps up to `last_step` to every loss record.

    Args:
        config: the run's resolved Config.
        losses: the run's history (dict of lists, see `history`), extended in place.
        pending: metric name -> 1-D array of its values for steps
            last_step - n + 1 ... last_step (extra names are ignored).
        last_step: the step of the last values.
        steps_per_epoch: full batches per epoch.
        writer: TensorBoard summary writer.
    """
    values = {name: np.asarray(pending[name], np.float64) for name in history.FIELDS
              if name in pending}
    count = len(next(iter(values.values()), ()))
    if not count:
        return
    steps = np.arange(last_step - count + 1, last_step + 1)
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


def record_frame(config, generator, progress_noise, step, steps_per_epoch, writer):
    """Writes the frame of the epoch that `step` falls in, and rewrites the GIF.

    The frame is the generator in inference mode (BatchNorm's moving averages,
    as in the export) on the fixed progress noise, so frames differ only by
    what the generator learned.
    """
    epoch_number = (step - 1) // steps_per_epoch + 1
    samples = generator(progress_noise, training=False).numpy()
    grid = visualize.image_grid(samples)
    visualize.save_png(frame_path(config, epoch_number), grid)
    frame_paths = [frame_path(config, number) for number in range(1, epoch_number + 1)]
    frames = [visualize.read_png(path) for path in frame_paths if os.path.exists(path)]
    visualize.save_gif(run_dir.path(config, "progress.gif"), frames)
    with writer.as_default():
        tf.summary.image("samples", grid[np.newaxis], step=step)
    writer.flush()


def frame_path(config, epoch_number):
    return run_dir.path(config, "samples", f"epoch_{epoch_number:04d}.png")
