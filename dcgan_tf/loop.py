"""The training loop, in memory: no files, no flags.

    state = TrainState.create(config)
    history = loop.run(state, config, images, until_step=300)
    history["generator_loss"]  # float32 [300], one value per step

`training.train` calls this same loop with a `recorder.Recorder` as its
callback, which writes every artifact of a run; a notebook, a benchmark or a
docs figure calls it with no callback, or with one of its own.
"""

import dataclasses

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from dcgan_tf import augment, data, distribute, losses
from dcgan_tf.train_step import METRICS, make_train_loop, make_train_step

# Metrics are read back from the device (a sync point) only this often.
PROGRESS_UPDATE_STEPS = 10
# With nan_policy='skip', this many non-finite steps in a row still stop the run.
MAX_CONSECUTIVE_SKIPS = 20


class TrainingDiverged(Exception):
    """A step produced a non-finite loss or gradient and the policy says stop.

    The bad step changed no weights, and nothing was saved after it.
    """


class Callback:
    """What `run` tells its caller as it trains; every method may be left as is."""

    def on_metrics(self, state, values):
        """Metrics of steps just read back from the device.

        Args:
            state: the TrainState (its step is the last step trained, which may
                be past the last step of `values`).
            values: dict with 'step' (int64 [n]), each of METRICS (float32 [n])
                and 'finite' (bool [n]), for consecutive steps in order.
        """

    def on_checkpoint_due(self, state):
        """config.checkpoint_every steps have passed (not at an epoch end)."""

    def on_epoch_end(self, state):
        """An epoch ended; state.epoch counts it. Every metric was read back."""


def build_train_steps(config, state, strategy=None):
    """The compiled loop for `state`: make_train_loop over the run's train step.

    Returns:
        train_steps(iterator, steps), with the run's loss, generator average,
        loss scales, XLA setting and strategy.
    """
    strategy = strategy or tf.distribute.get_strategy()
    train_step = make_train_step(
        state.generator, state.discriminator, state.generator_optimizer,
        state.discriminator_optimizer, state.noise_rng,
        losses.get(config.loss, config.label_smoothing), state.ema_generator,
        config.ema_decay, loss_scales=state.loss_scales, jit_compile=uses_xla(config),
        strategy=strategy if distribute.is_distributed(strategy) else None,
        augment=(augment.make_augment(config.augment, state.noise_rng)
                 if config.augment else None))
    return make_train_loop(train_step)


def uses_xla(config):
    """Whether the train step is compiled with XLA: config.jit_compile, or when it
    is unset, on with a visible GPU and the default strategy.

    On CPUs XLA's effect depends on the processor (measured, docs/performance.md:
    1.20x the plain step on a 2-core AMD EPYC at batch 64, 0.5x to 0.77x on a
    2-core Intel Xeon), so CPUs get the plain step unless asked.
    """
    if config.jit_compile is not None:
        return config.jit_compile
    return config.strategy == "default" and bool(tf.config.list_physical_devices("GPU"))


def run(state, config, images, until_step, callback=None, should_stop=None,
        train_steps=None, strategy=None, show_progress=True, labels=None):
    """Trains `state` from its step up to `until_step`, epoch by epoch.

    Each epoch reshuffles `images` with config.seed and the epoch number (see
    data.make_dataset), so a state restored mid-epoch continues with the very
    batches an uninterrupted run would have seen.

    Args:
        state: TrainState; trained in place (its step and epoch counters too).
        config: the run's resolved Config (batch_size, buffer_size, seed,
            epochs, steps_per_call, checkpoint_every, nan_policy, ...).
        images: uint8 [N, H, W, C] in [0, 255] (a NumPy array or tensor), as
            data.load_images returns them; batches are normalised to [-1, 1].
        until_step: the total step to stop at.
        callback: a Callback; None = no callback.
        should_stop: a function returning True to stop early (checked after
            every call of the compiled loop); None = never.
        train_steps: from build_train_steps; None = built here. Pass it to
            reuse one compiled loop over several calls.
        strategy: the tf.distribute.Strategy the state lives under.
        show_progress: a tqdm bar per epoch.
        labels: int32 [N], each image's class: needed by a conditional config
            (data.load_images returns them), else None.

    Returns:
        dict of NumPy arrays, 'step' and each of METRICS, one entry per step
        trained in this call.

    Raises:
        TrainingDiverged: a non-finite step under nan_policy 'stop', or
            MAX_CONSECUTIVE_SKIPS of them in a row under 'skip'.
    """
    strategy = strategy or tf.distribute.get_strategy()
    train_steps = train_steps or build_train_steps(config, state, strategy)
    readout = _Readout(config.nan_policy, callback or Callback(), state)
    if config.conditional != (labels is not None):
        raise ValueError("a conditional config needs the images' labels, and only it.")
    images = tf.convert_to_tensor(images)  # Copied to a tensor once, not per epoch.
    labels = None if labels is None else tf.convert_to_tensor(labels, tf.int32)
    steps_per_epoch = int(images.shape[0]) // config.batch_size
    if not steps_per_epoch:
        raise ValueError(f"{images.shape[0]} images are fewer than one batch of "
                         f"{config.batch_size}.")
    stop = should_stop or (lambda: False)
    # One bar for the whole call: steps, the epoch, images/s and the time left.
    first_epoch = min(int(state.step), until_step) // steps_per_epoch + 1
    bar = tqdm(total=until_step, initial=min(int(state.step), until_step), unit="step",
               desc=f"Epoch {first_epoch}/{epochs(config, steps_per_epoch)}", dynamic_ncols=True,
               disable=not show_progress, smoothing=0.05)
    with bar:
        while int(state.step) < until_step and not stop():
            _train_epoch(state, config, (images, labels), steps_per_epoch, until_step,
                         train_steps, strategy, readout, stop, bar)
    readout.read()
    return readout.history()


def _train_epoch(state, config, examples, steps_per_epoch, until_step, train_steps, strategy,
                 readout, stop, bar):
    """From the current step to the end of its epoch, `until_step`, or a stop.
    `examples` is (images, labels or None)."""
    step = int(state.step)
    epoch, done_in_epoch = divmod(step, steps_per_epoch)
    end_step = min(step + steps_per_epoch - done_in_epoch, until_step)
    images, labels = examples
    dataset = data.make_dataset(images, config.batch_size, config.buffer_size, config.seed,
                                epoch, skip_batches=done_in_epoch, labels=labels)
    batches = iter(distribute.distribute(strategy, dataset.take(end_step - step)))
    bar.set_description(f"Epoch {epoch + 1}/{epochs(config, steps_per_epoch)}", refresh=False)
    while step < end_step:
        calls = _steps_in_next_call(config, step, end_step)
        if config.lr_decay != "none":
            (state.generator_optimizer.learning_rate,
             state.discriminator_optimizer.learning_rate) = learning_rates(
                config, step, run_steps(config, steps_per_epoch))
        readout.pending.append(train_steps(batches, tf.constant(calls, tf.int32)))
        previous, step = step, step + calls
        state.step.assign(step)
        bar.update(calls)
        # Reading values back waits for the device, so it happens only every
        # PROGRESS_UPDATE_STEPS steps (or when they are needed now).
        stopping = stop()
        if (step // PROGRESS_UPDATE_STEPS > previous // PROGRESS_UPDATE_STEPS
                or step == until_step or stopping):
            latest = readout.read()
            rate = bar.format_dict.get("rate") or 0.0
            bar.set_postfix(g_loss=f"{latest['generator_loss']:.3f}",
                            d_loss=f"{latest['discriminator_loss']:.3f}",
                            images_per_s=f"{rate * config.batch_size:.0f}")
        if stopping:
            return
        if (config.checkpoint_every and step % config.checkpoint_every == 0
                and step % steps_per_epoch):  # Epoch ends are reported below.
            readout.read()
            readout.callback.on_checkpoint_due(state)
    if step % steps_per_epoch == 0:
        state.epoch.assign(step // steps_per_epoch)
        readout.read()
        readout.callback.on_epoch_end(state)


def epochs(config, steps_per_epoch):
    """--epochs, or with --epochs=0 the epochs of about --image_budget images."""
    if config.epochs:
        return config.epochs
    return max(1, round(config.image_budget / (steps_per_epoch * config.batch_size)))


def run_steps(config, steps_per_epoch):
    """The step a run of `config` ends at: its epochs (see `epochs`), or --max_steps
    if sooner."""
    total = epochs(config, steps_per_epoch) * steps_per_epoch
    return min(total, config.max_steps) if config.max_steps else total


def learning_rates(config, step, total_steps):
    """(G's, D's) learning rate for the step after `step` of a run of `total_steps`:
    constant, or with --lr_decay=linear falling from the flags' values to 0 at the end
    (set before each call of the compiled loop, so with --steps_per_call=N it falls in
    steps of N)."""
    scale = 1.0 if config.lr_decay == "none" else max(0.0, 1.0 - step / total_steps)
    return config.learning_rate * scale, config.d_learning_rate * scale


def _steps_in_next_call(config, step, end_step):
    """Up to steps_per_call, stopping at the epoch's end and at --checkpoint_every."""
    calls = min(config.steps_per_call, end_step - step)
    if config.checkpoint_every:
        calls = min(calls, config.checkpoint_every - step % config.checkpoint_every)
    return calls


@dataclasses.dataclass
class _Readout:
    """Metrics on their way from the device: each call's [steps] tensors are read
    back once, checked against the NaN policy, and handed to the callback."""
    nan_policy: str
    callback: Callback
    state: object
    pending: list = dataclasses.field(default_factory=list)
    chunks: list = dataclasses.field(default_factory=list)
    consecutive_skips: int = 0

    def read(self):
        """Reads back what is pending; returns the last step's metrics (floats)."""
        if self.pending:
            values = {name: np.concatenate([np.asarray(chunk[name]) for chunk in self.pending])
                      for name in (*METRICS, "finite")}
            self.pending = []
            last = int(self.state.step)
            values["step"] = np.arange(last - len(values["finite"]) + 1, last + 1)
            self._apply_nan_policy(values)
            self.chunks.append(values)
            self.callback.on_metrics(self.state, values)
        if not self.chunks:
            return {}
        return {name: float(self.chunks[-1][name][-1]) for name in METRICS}

    def _apply_nan_policy(self, values):
        for index, finite in enumerate(values["finite"]):
            if finite:
                self.consecutive_skips = 0
                continue
            self.consecutive_skips += 1
            shown = ", ".join(f"{name}={values[name][index]:.4g}" for name in METRICS)
            step = int(values["step"][index])
            if self.nan_policy == "stop" or self.consecutive_skips >= MAX_CONSECUTIVE_SKIPS:
                raise TrainingDiverged(
                    f"step {step} had a non-finite loss or gradient ({shown}) and "
                    f"--nan_policy={self.nan_policy} stops here"
                    + (f" after {self.consecutive_skips} such steps in a row"
                       if self.nan_policy == "skip" else "")
                    + ". No weight was updated from it.")
            tf.get_logger().warning("Step %d: non-finite loss or gradient (%s); skipped that "
                                    "batch (--nan_policy=skip).", step, shown)

    def history(self):
        names = ("step", *METRICS)
        if not self.chunks:
            return {name: np.zeros(0) for name in names}
        return {name: np.concatenate([chunk[name] for chunk in self.chunks]) for name in names}
