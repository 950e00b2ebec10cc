"""train(): checks, restore, the loop with a recorder, export.

Everything that must survive a restart is the `state.TrainState` in one
checkpoint, and training always restores the latest one first, so running the
same command again continues at the stored step. The loop itself is
`loop.run`, which knows nothing of files; `recorder.Recorder` writes the run.
"""

import dataclasses
import logging
import os
import platform
import re
import signal
import time

import keras
import numpy as np
import tensorflow as tf

import dcgan_tf

from dcgan_tf import (conditioning, data, devices, distribute, export, loop, models,
                      quality_log, run_dir)
from dcgan_tf.errors import InputError
from dcgan_tf.interrupts import StopRequest, TrainingInterrupted
from dcgan_tf.loop import TrainingDiverged
from dcgan_tf.recorder import Recorder
from dcgan_tf.state import TrainState, holds_average, new_average

logger = logging.getLogger(__name__)


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
        TrainingInterrupted: SIGINT or SIGTERM arrived (on any worker of a
            multi-worker run: every worker stops at the same step); everything
            was saved.
        TrainingDiverged: see nan_policy.
        distribute.WorkerLost: another worker of a multi-worker run stopped
            answering; the checkpoints written before are intact.
    """
    strategy, config, changes = _check(config, overwrite)
    try:
        return _train(config, overwrite, strategy, changes)
    except distribute.PEER_ERRORS as error:
        if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
            raise
        raise distribute.WorkerLost(_worker_lost_message(config, error)) from None


def initial_state(config, restore=True, strategy=None):
    """A run's state as `train` makes it, for code that calls `loop.run` itself.

    The config is resolved for its dataset; Python, NumPy and TensorFlow are
    seeded with config.seed; and, with `restore`, the newest checkpoint in
    config.workdir that restores is loaded, with config's learning rates and the
    generator average started if it is newly on. The same config and seed give
    the same state, so what is trained from it repeats.

        cfg, state = training.initial_state(config.preset("dcgan", download=False))
        history = loop.run(state, cfg, data.load_images(cfg).images, until_step=100)

    Returns:
        (the resolved Config, a state.TrainState).

    Raises:
        InputError: the workdir holds a run made with other settings that shape
            the networks or the data (the message names them), or checkpoints
            exist there and none restores.
    """
    config = resolve(config)
    keras.utils.set_random_seed(config.seed)
    strategy = strategy or tf.distribute.get_strategy()
    if not restore:
        return config, TrainState.create(config, strategy=strategy)
    differences, changes = run_dir.compare(config)
    if differences:
        raise run_dir.mismatch_error(config, differences)
    return config, _restore(config, strategy, changes, is_chief=False)


def _train(config, overwrite, strategy, changes):
    keras.utils.set_random_seed(config.seed)
    image_data, reference = _read_inputs(config, overwrite)
    is_chief = distribute.is_chief(strategy)
    distribute.wait_for_workers(strategy)  # Every worker has checked the workdir.
    if overwrite:
        run_dir.clear(config)
    # Seeded again (a folder's feature network for --eval_every may have been trained
    # just now, and the run's randomness must not depend on whether it was cached),
    # then restored before config.json is written again: a workdir whose checkpoints
    # all fail keeps its files exactly as they were.
    keras.utils.set_random_seed(config.seed)
    state = _restore(config, strategy, changes, is_chief)
    if is_chief:
        run_dir.create(config, image_data)
    steps_per_epoch = len(image_data.images) // config.batch_size
    target_step = loop.run_steps(config, steps_per_epoch)
    recorder = Recorder(config, state, steps_per_epoch, is_chief, reference,
                        real_examples=_real_examples(config, image_data))
    logger.info("Seed %d. Dataset %s: %d images %s from %s%s. Device: %s, XLA %s. Workdir: %s",
                config.seed, config.dataset, len(image_data.images),
                "x".join(map(str, config.image_shape)), image_data.source,
                f", conditional on {config.num_classes} classes ({config.conditioning})"
                if config.conditional else "",
                devices.describe(strategy, config.strategy),
                "on" if loop.uses_xla(config) else "off", config.workdir)
    start_step = int(state.step)
    if start_step >= target_step:
        logger.info("Already at step %d of %d; nothing to train. Raise --epochs to "
                    "train longer.", start_step, target_step)
    else:
        run_epochs = loop.epochs(config, steps_per_epoch)
        logger.info("Training steps %d to %d of a run of %d epoch%s x %d steps (%d images, "
                    "batch %d%s)%s.", start_step + 1, target_step, run_epochs,
                    "s" if run_epochs > 1 else "", steps_per_epoch,
                    len(image_data.images), config.batch_size,
                    "" if config.epochs else
                    f"; --epochs=0: about --image_budget={config.image_budget:,} images",
                    f", stopping at --max_steps={config.max_steps}"
                    if target_step == config.max_steps else "")
    began = time.monotonic()
    ending = "diverged or failed"  # Unless the block below finishes.
    try:
        with StopRequest() as stop_request:
            stop = distribute.AgreedStop(strategy, stop_request,
                                         every=loop.PROGRESS_UPDATE_STEPS)
            try:
                _run(state, config, image_data, target_step, recorder, stop, strategy)
                recorder.save(state, with_frame=True)
            finally:
                recorder.close()
            # Inside the deferred-signal block: a Ctrl-C during the export lets it finish.
            _export(config, state, is_chief)
        ending = (signal.Signals(stop.signal_number).name if stop.signal_number
                  else "finished")
    finally:
        if is_chief:
            try:
                run_dir.add_run_info(config, dict(
                    start_step=start_step, step=int(state.step),
                    seconds=round(time.monotonic() - began, 1), ending=ending,
                    device=devices.describe(strategy, config.strategy), xla=loop.uses_xla(config),
                    precision=config.precision, strategy=config.strategy,
                    replicas=strategy.num_replicas_in_sync, images=len(image_data.images),
                    versions=_versions()))
            except OSError:
                if ending == "finished":
                    raise  # A full disk: reported like any other write (exit 4).
    seconds = time.monotonic() - began
    if stop.signal_number:
        raise TrainingInterrupted(stop.signal_number, int(state.step),
                                  elsewhere=not stop_request.requested)
    if is_chief:
        _summarize(config, start_step, int(state.step), seconds, recorder)
    return TrainResult(config=config, start_step=start_step, step=int(state.step),
                       steps_per_epoch=steps_per_epoch, num_images=len(image_data.images))


def resolve(config, log=False, overwrite=False):
    """`config` with every setting left to the dataset (data.resolve) and to the
    machine filled in: --precision=auto becomes the precision of the run in the
    workdir when there is one to resume (not with `overwrite`), else
    devices.choose_precision's. With `log`, says which precision was chosen and why."""
    config = data.resolve(config)
    if config.precision != "auto":
        return config
    stored = None if overwrite else run_dir.stored_config(config)
    if stored is not None and stored.precision != "auto":
        precision, reason = stored.precision, "the run in the workdir was made with it"
    else:
        precision, reason = devices.choose_precision()
    if log:
        logger.info("Precision: %s (--precision=auto: %s; --precision=float32 to choose "
                    "float32).", precision, reason)
    return dataclasses.replace(config, precision=precision)


def _check(config, overwrite):
    """Every check that needs no data: returns (strategy, resolved config, the
    settings changed since the run in the workdir was saved)."""
    if overwrite and config.strategy == "multi_worker":
        raise InputError("--overwrite is not supported with --strategy=multi_worker (one "
                         "worker could restore what another is deleting); remove the "
                         f"workdir {config.workdir!r} first, then start every worker.")
    strategy = distribute.create_strategy(config.strategy)  # Before other TF work.
    config = resolve(config, log=True, overwrite=overwrite)
    quality_log.check_supported(config)
    export.chosen_formats(config.export_formats)  # ONNX asked for but not installed.
    if config.batch_size % strategy.num_replicas_in_sync:
        raise InputError(f"--batch_size={config.batch_size} does not split evenly over "
                         f"--strategy={config.strategy}'s {strategy.num_replicas_in_sync} "
                         "replicas; use a multiple of that.")
    run_dir.check_ours(config)  # Before --overwrite can delete anything.
    differences, changes = run_dir.compare(config)
    if differences and not overwrite:
        raise run_dir.mismatch_error(config, differences)
    return strategy, config, [] if overwrite else changes


def _read_inputs(config, overwrite):
    """What the run reads, checked before the workdir is touched: the images and
    the evaluation reference (--eval_every)."""
    image_data = data.load_images(config)
    if not overwrite:
        run_dir.check_data(config, image_data)
    reference = quality_log.load_reference(config) if config.eval_every else None
    return image_data, reference


def _restore(config, strategy, changes=(), is_chief=True):
    """The TrainState of the latest checkpoint in the workdir, or a fresh one.

    `changes` are the settings that differ from the stored run's (logged); the
    flags' values are the ones that train from here on.
    """
    latest, state = _restore_newest(config, strategy)
    if latest and is_chief:
        _point_checkpoint_index_at(config, latest)
    if latest:
        # Adam keeps its learning rate in the checkpoint; the flags' rate wins
        # (beta_1 is not stored: the optimizer is built with the flag's value).
        state.generator_optimizer.learning_rate = config.learning_rate
        state.discriminator_optimizer.learning_rate = config.d_learning_rate
        logger.info("Resumed from %s at step %d (epoch %d).", latest, int(state.step),
                    int(state.epoch))
        if changes:
            logger.info("Changed since the run was saved, in effect from step %d: %s.",
                        int(state.step), ", ".join(changes))
    if latest and config.ema_decay and state.ema_generator is None:
        # A run resumed with --ema_decay newly on starts its average at the restored
        # generator, not at the fresh initial weights.
        with strategy.scope():
            state.ema_generator = new_average(config, state.generator)
        logger.info("The checkpoint has no generator average; it starts here, at step %d.",
                    int(state.step))
    return state


def _restore_newest(config, strategy):
    """(path, TrainState) of the newest checkpoint in the workdir that restores, or
    (None, a fresh TrainState) when there is none.

    Checkpoints are found by listing checkpoints/, not only through its
    `checkpoint` index file, so a damaged index or a deleted newest checkpoint
    does not send a run back to step 0. A checkpoint that fails to restore (files
    missing, truncated, or failing their checksums) is named in one warning and
    the one before it is tried.

    Raises:
        InputError: checkpoints exist and none of them restores.
    """
    candidates = run_dir.checkpoints_newest_first(config)
    failures = []
    for candidate in candidates:
        try:
            with_average = bool(config.ema_decay) and holds_average(candidate)
            state = TrainState.create(config, with_average=with_average, strategy=strategy)
            state.restore(candidate)
        except Exception as e:  # Damaged files raise many types (OpError, IndexError, ...).
            reason = str(e).strip().splitlines()[0][:200]
            logger.warning("%s cannot be restored (%s: %s); trying the checkpoint before it.",
                           candidate, type(e).__name__, reason)
            failures.append(f"{candidate}: {reason}")
            continue
        if failures:
            logger.warning("Resumed from an older checkpoint, %s: the %d newer one(s) could not "
                           "be restored.", candidate, len(failures))
        return candidate, state
    if failures:
        raise InputError(
            f"--workdir={config.workdir}: none of its {len(failures)} checkpoints restores:\n  "
            + "\n  ".join(failures) + "\nTraining would start again at step 0 and write over "
            "them, so it stops here. Move the checkpoints/ folder away to keep it, or pass "
            "--overwrite to start again.")
    return None, TrainState.create(config, with_average=bool(config.ema_decay),
                                   strategy=strategy)


def _point_checkpoint_index_at(config, restored):
    """Rewrites checkpoints/checkpoint, the index tf.train.CheckpointManager reads,
    when it is damaged or names another checkpoint than the one restored: the
    manager refuses an unreadable index, and must count on from `restored`."""
    directory = run_dir.of(config).checkpoints
    try:
        state = tf.train.get_checkpoint_state(directory)
    except (ValueError, tf.errors.OpError):  # Unparsable or empty text.
        state = None
    if state is not None and state.model_checkpoint_path == restored:
        return
    kept = [candidate for candidate in reversed(run_dir.checkpoints_newest_first(config))
            if _checkpoint_number(candidate) <= _checkpoint_number(restored)]
    tf.compat.v1.train.update_checkpoint_state(directory, restored,
                                               all_model_checkpoint_paths=kept)
    logger.info("%s now names %s as the latest checkpoint.",
                os.path.join(directory, "checkpoint"), restored)


def _checkpoint_number(checkpoint):
    return int(checkpoint.rsplit("-", 1)[1])


def _run(state, config, image_data, target_step, recorder, stop, strategy):
    try:
        loop.run(state, config, image_data.images, target_step, callback=recorder,
                 should_stop=stop, strategy=strategy, labels=image_data.labels)
    except TrainingDiverged as e:
        raise TrainingDiverged(
            f"{e} The last checkpoint ({recorder.latest_checkpoint or 'none yet'}) and the "
            "other artifacts are from the last good save. Try a lower --learning_rate, "
            "check the data, or pass --nan_policy=skip to skip such batches.") from None


def _worker_lost_message(config, error):
    newest = run_dir.checkpoints_newest_first(config)
    return (f"another worker of this multi-worker run {_peer_problem(str(error))}, so this "
            "worker stopped too. "
            + (f"The newest checkpoint, {newest[0]}, is intact: " if newest else
               "No checkpoint was written yet: ")
            + "start every worker again with the same command to "
            + ("resume from it." if newest else "start the run."))


def _peer_problem(message):
    """What TensorFlow's error says happened to the other worker, in a few words."""
    if "unhealthy" in message:
        tasks = sorted(set(re.findall(r"/job:(\w+)/replica:\d+/task:(\d+)", message)))
        named = ", ".join(f"{kind} {index}" for kind, index in tasks) or "a worker"
        return f"stopped sending heartbeats ({named})"
    refused = re.search(r"ipv[46]:(\S+?): Failed to connect", message)
    if refused:
        return f"refuses connections at {refused.group(1)}"
    return "stopped answering"


def _summarize(config, start_step, step, seconds, recorder):
    """One line at the end: what was trained, how fast, where it is, how good."""
    trained = step - start_step
    quality = ""
    if recorder.quality.rows:
        last = recorder.quality.rows[-1]
        quality = (f" Epoch {last['epoch']}: Fréchet distance {last['frechet']:.2f}, "
                   f"{last['classes_covered']} digit classes ({config.eval_samples} samples).")
    logger.info("Done: %d steps (%d to %d) in %d min %02d s, %.0f images/s. Everything is in "
                "%s.%s", trained, start_step, step, seconds // 60, seconds % 60,
                trained * config.batch_size / max(seconds, 1e-9), config.workdir, quality)


def _export(config, state, is_chief):
    generator_path = run_dir.of(config).generator
    if not is_chief:
        logger.info("Worker done at step %d; the chief wrote the run.", int(state.step))
        return
    num_classes = config.num_classes if config.conditional else 0
    export.export_model(exportable(config, state.sampling_generator, models.build_generator),
                        generator_path, num_classes)
    export.export_model(exportable(config, state.discriminator, models.build_discriminator),
                        run_dir.of(config).discriminator, num_classes)
    others = export.export_generator_formats(
        generator_path, export.chosen_formats(config.export_formats), config.noise_dim,
        num_classes=num_classes)
    logger.info("Exported the %sgenerator to %s%s. Sample from it with: python generate.py "
                "--model=%s --out=grid.png", "averaged (EMA) " if config.ema_decay else "",
                generator_path, "".join(
                    f" and {run_dir.of(config).exported(name)} (differs from it "
                    f"by at most {difference:.1g})" for name, difference in others.items()),
                generator_path)


def exportable(config, model, build):
    """`model` as a plain float32 model on no strategy (`build` makes one from a
    Config): what a user reloads should compute in float32 on any device,
    whatever the run trained with."""
    if config.precision == "float32" and config.strategy == "default":
        return model
    plain = build(dataclasses.replace(config, precision="float32"))
    plain.set_weights(model.get_weights())
    return plain


def _versions():
    return dict(dcgan_tf=dcgan_tf.__version__, tensorflow=tf.__version__,
                keras=keras.__version__, numpy=np.__version__, python=platform.python_version())


def _real_examples(config, image_data):
    """The real images of real_vs_fake.png, laid out as the progress frame is."""
    if config.conditional:
        return conditioning.examples_per_class(image_data.images, image_data.labels,
                                               conditioning.frame_columns(config),
                                               config.num_classes)
    return _spread(image_data.images, config.num_examples_to_generate)


def _spread(images, count):
    """`count` images taken evenly across `images` (a folder is read in name order)."""
    return images[np.linspace(0, len(images) - 1, min(count, len(images))).astype(int)]
