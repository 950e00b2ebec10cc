"""A non-finite loss: what --nan_policy does, injected through a poisoned batch."""


import numpy as np
import pytest
import tensorflow as tf

from dcgan_tf import data, loop, training
from conftest import read_log, small_config
from dcgan_tf.state import TrainState

STEPS_PER_EPOCH = 3  # 96 images at batch 32.


@pytest.fixture
def poison_batches(monkeypatch):
    """poison(indices): from now on, batch i of every epoch (for i in indices) is NaN."""

    def poison(indices):
        make_dataset = data.make_dataset

        def poisoned(*args, **kwargs):
            skip = kwargs.get("skip_batches", 0)
            dataset = make_dataset(*args, **kwargs).enumerate(start=skip)
            bad = tf.constant(sorted(indices), tf.int64)
            return dataset.map(lambda index, batch: tf.where(
                tf.reduce_any(tf.equal(index, bad)), batch * np.nan, batch))

        monkeypatch.setattr(data, "make_dataset", poisoned)

    return poison


def _config(mnist_npz, workdir, **overrides):
    return small_config(mnist_npz(96), workdir, **{"jit_compile": None, **overrides})


_losses = read_log


def test_train_nan_stop_raises_and_keeps_last_good_checkpoint_and_artifacts(
        mnist_npz, tmp_path, poison_batches):
    training.train(_config(mnist_npz, tmp_path, max_steps=3))  # Epoch 1, saved.
    kept = {name: (tmp_path / name).read_bytes()
            for name in ("losses.csv", "progress.gif", "checkpoints/checkpoint")}
    poison_batches({1})  # Step 5, in epoch 2.
    with pytest.raises(training.TrainingDiverged, match="step 5 had a non-finite"):
        training.train(_config(mnist_npz, tmp_path))
    assert {name: (tmp_path / name).read_bytes() for name in kept} == kept
    assert tf.train.latest_checkpoint(str(tmp_path / "checkpoints")).endswith("ckpt-3")


def test_train_nan_skip_skips_bad_batches_and_finishes_with_finite_weights(
        mnist_npz, tmp_path, poison_batches, caplog):
    poison_batches({1})  # Steps 2 and 5.
    result = training.train(_config(mnist_npz, tmp_path, nan_policy="skip"))
    assert result.step == 2 * STEPS_PER_EPOCH
    losses = [float(row["discriminator_loss"]) for row in _losses(tmp_path)]
    assert [step for step, loss in enumerate(losses, 1) if not np.isfinite(loss)] == [2, 5]
    assert "Step 2: non-finite" in caplog.text and "Step 5: non-finite" in caplog.text
    state = TrainState.create(result.config)
    state.restore(tf.train.latest_checkpoint(str(tmp_path / "checkpoints")))
    assert all(np.isfinite(v.numpy()).all() for v in state.generator.weights
               if "float" in v.dtype)


def test_train_nan_skip_stops_after_too_many_bad_steps_in_a_row(
        mnist_npz, tmp_path, poison_batches, monkeypatch):
    monkeypatch.setattr(loop, "MAX_CONSECUTIVE_SKIPS", 4)
    poison_batches({0, 1, 2})  # Every batch.
    with pytest.raises(training.TrainingDiverged, match="after 4 such steps in a row"):
        training.train(_config(mnist_npz, tmp_path, nan_policy="skip"))
