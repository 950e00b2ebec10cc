"""Everything a run writes as it trains, in one place: the `loop.Callback` of train().

    losses.csv, losses.png   every step's losses and D's mean outputs
    samples/epoch_NNNN.png   the fixed progress noise through the generator, per epoch
    progress.gif             those frames in order
    real_vs_fake.png         real training images beside the latest frame
    metrics.csv              sample quality every --eval_every epochs
    tensorboard/             the same scalars, and the frames as images
    checkpoints/             the TrainState, at every epoch end and --checkpoint_every

The checkpoint is always written last: an artifact may run ahead of the
checkpoint (and is trimmed back on resume), never behind it. Every file is
written atomically (see `files`), so a run killed at any moment leaves each
artifact at its previous complete version or at the new one.
"""

import logging
import os
import shutil
import tempfile

import numpy as np
import tensorflow as tf

from dcgan_tf import conditioning, data, files, quality_log, run_dir, visualize
from dcgan_tf.csv_log import CsvLog
from dcgan_tf.loop import Callback
from dcgan_tf.train_step import METRICS

logger = logging.getLogger(__name__)

CHECKPOINTS_TO_KEEP = 3
LOSS_FIELDS = ("step", "epoch", *METRICS)


def losses_log(config):
    """losses.csv of the run in config.workdir (not yet read)."""
    return CsvLog(run_dir.of(config).losses_csv, LOSS_FIELDS, kind="dcgan_tf losses file")


def metrics_log(config):
    """metrics.csv of the run in config.workdir (not yet read)."""
    return CsvLog(run_dir.of(config).metrics_csv, quality_log.fields(config),
                  integer_fields=quality_log.INTEGER_FIELDS, float_format="{:.6g}",
                  kind="dcgan_tf metrics file")


class Recorder(Callback):
    """Writes a run's artifacts and checkpoints from the loop's callbacks.

    Args:
        config: the run's resolved Config.
        state: the TrainState being trained (already restored).
        steps_per_epoch: full batches per epoch.
        is_chief: whether this process writes the run; the other workers of a
            multi-worker run checkpoint into a temporary folder (saving may need
            every worker) and write nothing else.
        reference: evaluation.Reference for --eval_every, else None.
        real_examples: uint8 [n, H, W, C] training images shown beside the
            fakes in real_vs_fake.png (conditional: frame_columns of each class,
            class by class); None = no such picture.
    """

    def __init__(self, config, state, steps_per_epoch, is_chief=True, reference=None,
                 real_examples=None):
        self.config = config
        self.columns = conditioning.frame_columns(config) if config.conditional else None
        self.real_grid = (None if real_examples is None
                          else visualize.image_grid(data.normalize(real_examples).numpy(),
                                                    columns=self.columns))
        self.steps_per_epoch = steps_per_epoch
        self.is_chief = is_chief
        self.reference = reference
        step = int(state.step)
        self.losses = losses_log(config).load(step)
        self.quality = metrics_log(config).load(step)
        self.new_rows = []  # Loss rows read back since the last save.
        directory = (run_dir.of(config).checkpoints if is_chief
                     else tempfile.mkdtemp(prefix="dcgan_tf_worker_"))
        self.manager = tf.train.CheckpointManager(state.checkpoint(), directory,
                                                  max_to_keep=CHECKPOINTS_TO_KEEP)
        self.writer = (tf.summary.create_file_writer(run_dir.of(config).tensorboard)
                       if is_chief else tf.summary.create_noop_writer())
        self.saved_step = step  # The step of the latest checkpoint.
        self.frame_step = step  # The step the latest progress frame shows.

    def on_metrics(self, state, values):
        steps = values["step"]
        # Epochs are numbered from 1 in every artifact a person reads.
        epochs = (steps - 1) // self.steps_per_epoch + 1
        floats = {name: np.asarray(values[name], np.float64).tolist() for name in METRICS}
        for index, (step, epoch) in enumerate(zip(steps.tolist(), epochs.tolist())):
            self.new_rows.append({"step": step, "epoch": epoch,
                                  **{name: floats[name][index] for name in METRICS}})

    def on_checkpoint_due(self, state):
        self.save(state, with_frame=False)

    def on_epoch_end(self, state):
        self.save(state, with_frame=True)

    def save(self, state, with_frame):
        """Writes what is new, optionally this epoch's frame, then a checkpoint."""
        step = int(state.step)
        if self.is_chief:
            self._write_losses()
            if with_frame and step != self.frame_step:
                self._write_frame(state, step)
            if (with_frame and quality_log.is_due(self.config, step, self.steps_per_epoch)
                    and self.quality.last_step != step):
                self._write_quality(state, step)
        self.new_rows = []
        if step != self.saved_step:
            saved = self.manager.save(checkpoint_number=step)
            if self.is_chief:
                _flush_checkpoint(saved)
            self.saved_step = step

    def close(self):
        """Removes a non-chief worker's temporary checkpoints."""
        if not self.is_chief:
            shutil.rmtree(self.manager.directory, ignore_errors=True)

    @property
    def latest_checkpoint(self):
        return self.manager.latest_checkpoint

    def _write_losses(self):
        if not self.new_rows:
            return
        self.losses.rows.extend(self.new_rows)
        self.losses.write()
        columns = {name: self.losses.column(name) for name in LOSS_FIELDS}
        visualize.plot_losses(run_dir.of(self.config).losses_png, columns,
                              self.steps_per_epoch)
        with self.writer.as_default():
            for row in self.new_rows:
                for name in METRICS:
                    tf.summary.scalar(name, row[name], step=row["step"])
        self.writer.flush()

    def _write_frame(self, state, step):
        """The frame of the epoch `step` falls in, and the GIF of every frame so far.

        The frame is the generator in inference mode (BatchNorm's moving
        averages, as in the export) on the fixed progress noise, so frames
        differ only by what the generator learned. A conditional run's frame
        has a row per class.
        """
        epoch_number = (step - 1) // self.steps_per_epoch + 1
        inputs = conditioning.progress_inputs(self.config, state.progress_noise)
        samples = state.sampling_generator(inputs, training=False).numpy()
        grid = visualize.image_grid(samples, columns=self.columns)
        visualize.save_png(run_dir.of(self.config).frame(epoch_number), grid)
        frame_paths = [run_dir.of(self.config).frame(n) for n in range(1, epoch_number + 1)]
        frames = _readable_frames([path for path in frame_paths if os.path.exists(path)],
                                  grid.shape)
        visualize.save_gif(run_dir.of(self.config).progress_gif, frames)
        if self.real_grid is not None:
            visualize.save_png(run_dir.of(self.config).real_vs_fake,
                               visualize.side_by_side(self.real_grid, grid))
        with self.writer.as_default():
            tf.summary.image("samples", grid[np.newaxis], step=step)
        self.writer.flush()
        self.frame_step = step

    def _write_quality(self, state, step):
        row = quality_log.measure(self.config, state.sampling_generator, self.reference, step,
                                  self.steps_per_epoch)
        if row is None:
            return
        self.quality.rows.append(row)
        self.quality.write()
        with self.writer.as_default():
            for name in quality_log.fields(self.config)[2:]:
                tf.summary.scalar(f"quality/{name}", row[name], step=step)
        self.writer.flush()


def _readable_frames(paths, shape):
    """The frames at `paths` of the given shape; a damaged or foreign one is left
    out of the GIF and named in a warning, and the run goes on."""
    frames, left_out = [], []
    for path in paths:
        try:
            frame = visualize.read_png(path)
        except Exception as e:  # Pillow raises OSError, SyntaxError, ValueError, ...
            left_out.append(f"{path} ({type(e).__name__})")
            continue
        if frame.shape != shape:
            left_out.append(f"{path} ({'x'.join(map(str, frame.shape))}, not "
                            f"{'x'.join(map(str, shape))})")
            continue
        frames.append(frame)
    if left_out:
        logger.warning("progress.gif leaves out %d unreadable frame(s): %s", len(left_out),
                       ", ".join(left_out))
    return frames


def _flush_checkpoint(prefix):
    """fsync of the checkpoint saved at `prefix`, the index naming it, and the
    folder: TensorFlow writes them without flushing them to disk."""
    directory, name = os.path.split(prefix)
    for file_name in os.listdir(directory):
        if file_name.startswith(name + ".") or file_name == "checkpoint":
            files.fsync(os.path.join(directory, file_name))
    files.fsync(directory)

