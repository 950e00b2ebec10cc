"""The public loop, in memory: dcgan_tf.loop.run."""

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import read_log, small_config
from dcgan_tf import config, data, loop, training
from dcgan_tf.state import TrainState
from dcgan_tf.train_step import METRICS


class Events(loop.Callback):
    def __init__(self):
        self.calls = []

    def on_metrics(self, state, values):
        self.calls.append(("metrics", values["step"].tolist()))

    def on_checkpoint_due(self, state):
        self.calls.append(("checkpoint", int(state.step)))

    def on_epoch_end(self, state):
        self.calls.append(("epoch", int(state.epoch)))


def _images(cfg):
    return data.load_images(data.resolve(cfg)).images


def test_run_trains_in_memory_and_writes_nothing(tiny_npz, tmp_path):
    cfg = data.resolve(small_config(tiny_npz, tmp_path / "run"))
    state = TrainState.create(cfg)
    history = loop.run(state, cfg, _images(cfg), until_step=4, show_progress=False)
    assert history["step"].tolist() == [1, 2, 3, 4]
    assert set(history) == {"step", *METRICS}
    assert all(np.isfinite(history[name]).all() for name in METRICS)
    assert int(state.step) == 4 and int(state.epoch) == 1  # 3 steps per epoch.
    assert not (tmp_path / "run").exists()


def test_run_gives_the_losses_train_writes(tiny_npz, tmp_path):
    cfg = small_config(tiny_npz, tmp_path / "run", max_steps=5)
    result = training.train(cfg)
    written = read_log(tmp_path / "run")
    resolved = dataclasses.replace(result.config, workdir=str(tmp_path / "unused"))
    keras.utils.set_random_seed(resolved.seed)  # As train() does first.
    history = loop.run(TrainState.create(resolved), resolved, _images(resolved), 5,
                       show_progress=False)
    for name in METRICS:
        np.testing.assert_allclose(history[name], [float(row[name]) for row in written],
                                   rtol=1e-6)


def test_run_resumes_mid_epoch_with_the_batches_of_an_unbroken_run(tiny_npz, tmp_path):
    cfg = data.resolve(small_config(tiny_npz, tmp_path))
    images = _images(cfg)
    keras.utils.set_random_seed(cfg.seed)
    unbroken = loop.run(TrainState.create(cfg), cfg, images, 5, show_progress=False)
    keras.utils.set_random_seed(cfg.seed)  # The same initial weights.
    state = TrainState.create(cfg)
    first = loop.run(state, cfg, images, 2, show_progress=False)
    second = loop.run(state, cfg, images, 5, show_progress=False)
    np.testing.assert_array_equal(np.concatenate([first["step"], second["step"]]), [1, 2, 3, 4, 5])
    np.testing.assert_allclose(second["generator_loss"], unbroken["generator_loss"][2:],
                               rtol=1e-5)


def test_run_tells_the_callback_metrics_checkpoints_and_epoch_ends(tiny_npz, tmp_path):
    cfg = data.resolve(small_config(tiny_npz, tmp_path, checkpoint_every=2))
    events = Events()
    loop.run(TrainState.create(cfg), cfg, _images(cfg), 6, callback=events,
             show_progress=False)
    steps = [step for kind, values in events.calls if kind == "metrics" for step in values]
    assert steps == [1, 2, 3, 4, 5, 6]  # Each step read back once, in order.
    assert [call for call in events.calls if call[0] != "metrics"] == [
        ("checkpoint", 2), ("epoch", 1), ("checkpoint", 4), ("epoch", 2)]


def test_run_should_stop_ends_after_the_current_call(tiny_npz, tmp_path):
    cfg = data.resolve(small_config(tiny_npz, tmp_path))
    state = TrainState.create(cfg)
    history = loop.run(state, cfg, _images(cfg), 6, should_stop=lambda: int(state.step) >= 2,
                       show_progress=False)
    assert history["step"].tolist() == [1, 2] and int(state.step) == 2


def test_run_fewer_images_than_a_batch_is_an_error(tiny_npz, tmp_path):
    cfg = data.resolve(small_config(tiny_npz, tmp_path))
    with pytest.raises(ValueError, match="fewer than one batch"):
        loop.run(TrainState.create(cfg), cfg, _images(cfg)[:10], 2, show_progress=False)


@pytest.mark.parametrize("jit_compile, strategy, expected", [
    (True, "default", True), (False, "default", False),
    (None, "default", False),  # Unset on a machine without GPU: the plain step.
    (None, "mirrored", False)])
def test_uses_xla_only_when_asked_or_on_a_gpu(jit_compile, strategy, expected):
    assert not tf.config.list_physical_devices("GPU")  # The test machines have none.
    settings = config.Config(jit_compile=jit_compile, strategy=strategy)
    assert loop.uses_xla(settings) is expected


def test_uses_xla_unset_with_a_gpu_compiles(monkeypatch):
    monkeypatch.setattr(tf.config, "list_physical_devices",
                        lambda kind=None: ["/physical_device:GPU:0"] if kind == "GPU" else [])
    assert loop.uses_xla(config.Config()) is True
    assert loop.uses_xla(config.Config(strategy="mirrored")) is False


def test_linear_lr_decay_falls_to_zero_at_the_runs_last_step():
    cfg = config.Config(learning_rate=2e-4, discriminator_learning_rate=4e-4,
                            lr_decay="linear", epochs=2, max_steps=0)
    total = loop.run_steps(cfg, steps_per_epoch=5)

    assert total == 10
    assert loop.learning_rates(cfg, 0, total) == (2e-4, 4e-4)
    assert loop.learning_rates(cfg, 5, total) == pytest.approx((1e-4, 2e-4))
    assert loop.learning_rates(cfg, 10, total) == (0.0, 0.0)
    constant = config.Config(learning_rate=2e-4)
    assert loop.learning_rates(constant, 7, total) == (2e-4, 2e-4)


def test_linear_lr_decay_reaches_the_optimizers(tiny_npz, tmp_path):
    cfg, state = training.initial_state(small_config(tiny_npz, tmp_path, lr_decay="linear",
                                                     epochs=2), restore=False)
    images = data.load_images(cfg).images  # 96 images: 3 steps per epoch, 6 in all.

    loop.run(state, cfg, images, until_step=4, show_progress=False)

    # The last call trained step 4, from step 3 of 6: half the rate.
    assert float(state.generator_optimizer.learning_rate) == pytest.approx(1e-4)
    assert float(state.discriminator_optimizer.learning_rate) == pytest.approx(1e-4)


@pytest.mark.parametrize("images, batch_size, budget, expected", [
    (10_000, 32, 500_000, 50),   # The bundled sample: 312 steps an epoch.
    (60_000, 32, 500_000, 8),    # The full training split: about as many steps.
    (3_786, 64, 300_000, 79),    # The emoji under the colour preset's budget.
    (100_000_000, 32, 500_000, 1),  # At least one epoch.
])
def test_epochs_unset_follow_the_image_budget(images, batch_size, budget, expected):
    cfg = config.Config(epochs=0, batch_size=batch_size, image_budget=budget)
    steps_per_epoch = images // batch_size

    assert loop.epochs(cfg, steps_per_epoch) == expected
    assert loop.run_steps(cfg, steps_per_epoch) == expected * steps_per_epoch
    assert loop.epochs(dataclasses.replace(cfg, epochs=3), steps_per_epoch) == 3


def test_a_run_with_epochs_unset_trains_the_budget_and_says_so(tiny_npz, tmp_path, caplog):
    cfg = small_config(tiny_npz, tmp_path, epochs=0, image_budget=200)  # 96 images: 2 epochs.

    with caplog.at_level("INFO"):
        result = training.train(cfg)

    assert result.step == 2 * 3
    assert len(read_log(tmp_path)) == 6
    start = next(r.getMessage() for r in caplog.records
                 if r.getMessage().startswith("Training steps"))
    assert "run of 2 epochs x 3 steps" in start and "--image_budget=200" in start
