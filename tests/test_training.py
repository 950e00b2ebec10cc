"""The training loop, in process: artifacts, resume, repeatability, workdir checks."""

import dataclasses
import os

import numpy as np
import pytest
import tensorflow as tf

from dcgan_tf import config, data, loop, run_dir, training, visualize
from dcgan_tf.errors import InputError
from conftest import read_log, small_config
from dcgan_tf.state import TrainState

NUM_IMAGES = 96  # With batch_size 32: 3 steps per epoch, so epochs end quickly.


_config = small_config  # No XLA unless a test asks for it (jit_compile=True).
_losses = read_log


def _restored_state(cfg):
    state = TrainState.create(cfg)
    state.restore(tf.train.latest_checkpoint(os.path.join(cfg.workdir, "checkpoints")))
    return state


def test_train_new_run_writes_every_artifact(tiny_npz, tmp_path):
    result = training.train(_config(tiny_npz, tmp_path))
    assert (result.step, result.steps_per_epoch, result.num_images) == (6, 3, NUM_IMAGES)
    for name in ("config.json", "progress.gif", "losses.csv", "losses.png",
                 "samples/epoch_0001.png", "samples/epoch_0002.png",
                 "generator/saved_model.pb", "discriminator/saved_model.pb",
                 "real_vs_fake.png", "checkpoints/checkpoint"):
        assert (tmp_path / name).is_file(), name
    assert any(name.startswith("events.out.tfevents")
               for name in os.listdir(tmp_path / "tensorboard"))
    rows = _losses(tmp_path)
    assert [int(row["step"]) for row in rows] == [1, 2, 3, 4, 5, 6]
    assert [int(row["epoch"]) for row in rows] == [1, 1, 1, 2, 2, 2]
    saved = config.Config.from_json((tmp_path / "config.json").read_text())
    assert (saved.image_size, saved.channels, saved.seed) == (28, 1, 0)


def test_real_vs_fake_shows_real_images_left_and_the_latest_frame_right(tiny_npz, tmp_path):
    training.train(_config(tiny_npz, tmp_path))
    picture = visualize.read_png(str(tmp_path / "real_vs_fake.png"))
    frame = visualize.read_png(str(tmp_path / "samples" / "epoch_0002.png"))
    height, width = frame.shape[:2]
    # The right-hand grid is the last frame, under a header; the left one is real digits.
    np.testing.assert_array_equal(picture[-height:, -width:], frame)
    real = data.load_images(data.resolve(_config(tiny_npz, tmp_path))).images
    real_grid = visualize.image_grid(data.normalize(real[[0, 31, 63, 95]]).numpy())
    np.testing.assert_array_equal(picture[-height:, :real_grid.shape[1]], real_grid)


def test_exported_discriminator_reloads_and_scores_like_the_checkpoint(tiny_npz, tmp_path):
    result = training.train(_config(tiny_npz, tmp_path))
    reloaded = tf.saved_model.load(str(tmp_path / "discriminator"))
    images = tf.random.uniform([5, 28, 28, 1], -1.0, 1.0)
    state = _restored_state(result.config)
    np.testing.assert_allclose(reloaded.serve(images), state.discriminator(images, training=False),
                               atol=1e-5)


def test_train_checkpoint_holds_models_optimizers_counters_and_noise(tiny_npz, tmp_path):
    result = training.train(_config(tiny_npz, tmp_path))
    state = _restored_state(result.config)
    assert (int(state.step), int(state.epoch)) == (6, 2)
    assert int(state.generator_optimizer.iterations) == 6
    assert int(state.discriminator_optimizer.iterations) == 6
    fresh = TrainState.create(result.config)
    np.testing.assert_array_equal(state.progress_noise.numpy(), fresh.progress_noise.numpy())


def test_train_progress_frame_is_generator_on_fixed_noise_in_inference_mode(tiny_npz, tmp_path):
    result = training.train(_config(tiny_npz, tmp_path))
    state = _restored_state(result.config)
    expected = visualize.image_grid(state.generator(state.progress_noise, training=False))
    frame = visualize.read_png(str(tmp_path / "samples" / "epoch_0002.png"))
    np.testing.assert_array_equal(frame, expected)


def test_train_rerun_resumes_at_stored_step_without_repeating_steps(tiny_npz, tmp_path):
    training.train(_config(tiny_npz, tmp_path, max_steps=4))  # Stops inside epoch 2.
    result = training.train(_config(tiny_npz, tmp_path, epochs=3))
    assert (result.start_step, result.step) == (4, 9)
    assert [int(row["step"]) for row in _losses(tmp_path)] == list(range(1, 10))
    attempts = run_dir.read_run_info(str(tmp_path))  # One record per call, for benchmarks.
    assert [(a["start_step"], a["step"]) for a in attempts] == [(0, 4), (4, 9)]
    assert attempts[-1]["xla"] is False and attempts[-1]["ending"] == "finished"
    assert attempts[-1]["versions"]["tensorflow"] == tf.__version__
    assert attempts[-1]["seconds"] > 0 and "CPU" in attempts[-1]["device"]


def test_train_interrupted_then_resumed_matches_uninterrupted_run(tiny_npz, tmp_path):
    xla = dict(jit_compile=True)  # Resuming is exact under XLA too.
    straight = training.train(_config(tiny_npz, tmp_path / "straight", **xla))
    training.train(_config(tiny_npz, tmp_path / "resumed", max_steps=4, **xla))
    resumed = training.train(_config(tiny_npz, tmp_path / "resumed", **xla))
    straight_losses = [row["generator_loss"] for row in _losses(tmp_path / "straight")]
    resumed_losses = [row["generator_loss"] for row in _losses(tmp_path / "resumed")]
    np.testing.assert_allclose(np.float64(resumed_losses), np.float64(straight_losses),
                               rtol=1e-5)
    for a, b in zip(_restored_state(straight.config).generator.weights,
                    _restored_state(resumed.config).generator.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-6)


def test_train_finished_run_rerun_trains_nothing(tiny_npz, tmp_path):
    training.train(_config(tiny_npz, tmp_path))
    result = training.train(_config(tiny_npz, tmp_path))
    assert result.start_step == result.step == 6
    assert len(_losses(tmp_path)) == 6


def test_train_same_seed_repeats_losses_and_other_seed_does_not(tiny_npz, tmp_path):
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        training.train(_config(tiny_npz, tmp_path / name, seed=seed, max_steps=3,
                               jit_compile=True))  # Under XLA as well.
    a, b, c = ([row["discriminator_loss"] for row in _losses(tmp_path / name)]
               for name in "abc")
    assert a == b
    assert a != c


def test_train_workdir_of_other_configuration_refused_and_left_untouched(tiny_npz, tmp_path):
    training.train(_config(tiny_npz, tmp_path, max_steps=3))
    before = {path: os.path.getmtime(path) for path in _all_files(tmp_path)}
    with pytest.raises(InputError) as error:
        training.train(_config(tiny_npz, tmp_path, noise_dim=32, upsample="transpose"))
    assert "noise_dim: 16 -> 32" in str(error.value)
    assert "upsample: 'resize' -> 'transpose'" in str(error.value)
    assert "To resume it, add --noise_dim=16 --upsample=resize to the command." in str(
        error.value)
    assert str(tmp_path) in str(error.value)
    assert {path: os.path.getmtime(path) for path in _all_files(tmp_path)} == before


def test_run_made_before_a_default_changed_resumes_with_the_flags_the_refusal_names(
        tiny_npz, tmp_path):
    # A run started when Conv2DTranspose was the default, then resumed with the
    # new defaults: refused, naming the flag that resumes it; that flag does.
    training.train(_config(tiny_npz, tmp_path, upsample="transpose", init_stddev=None,
                           max_steps=3))
    with pytest.raises(InputError) as error:
        training.train(_config(tiny_npz, tmp_path))
    suggested = str(error.value).split("To resume it, add ")[1].split(" to the command.")[0]
    assert suggested == "--upsample=transpose --init_stddev=0"
    result = training.train(_config(tiny_npz, tmp_path, upsample="transpose", init_stddev=None))
    assert (result.start_step, result.step) == (3, 6)
    assert [int(row["step"]) for row in _losses(tmp_path)] == [1, 2, 3, 4, 5, 6]


def test_train_checkpoint_every_saves_inside_an_epoch(tiny_npz, tmp_path):
    training.train(_config(tiny_npz, tmp_path, checkpoint_every=2, max_steps=5))
    saved = sorted(name for name in os.listdir(tmp_path / "checkpoints")
                   if name.endswith(".index"))
    # Step 4 is inside epoch 2 (steps 4-6); step 3 ends epoch 1; the oldest (2) is pruned.
    assert saved == ["ckpt-3.index", "ckpt-4.index", "ckpt-5.index"]


def _all_files(root):
    return sorted(os.path.join(folder, name)
                  for folder, _, names in os.walk(root) for name in names)


def test_train_with_ema_interrupted_then_resumed_matches_uninterrupted_run(tiny_npz, tmp_path):
    straight = training.train(_config(tiny_npz, tmp_path / "straight", ema_decay=0.9))
    training.train(_config(tiny_npz, tmp_path / "resumed", ema_decay=0.9, max_steps=4))
    resumed = training.train(_config(tiny_npz, tmp_path / "resumed", ema_decay=0.9))
    straight_state = _restored_state(straight.config)
    resumed_state = _restored_state(resumed.config)
    for a, b in zip(straight_state.ema_generator.variables,
                    resumed_state.ema_generator.variables):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-6, err_msg=a.path)
    # The average is not the generator itself: it lags behind the latest weights.
    assert any(not np.allclose(a.numpy(), g.numpy()) for a, g in
               zip(straight_state.ema_generator.weights, straight_state.generator.weights))


def test_train_with_ema_exports_and_shows_the_average_not_the_generator(tiny_npz, tmp_path):
    result = training.train(_config(tiny_npz, tmp_path, ema_decay=0.9))
    state = _restored_state(result.config)
    noise = state.progress_noise
    loaded = tf.saved_model.load(str(tmp_path / "generator"))  # Owns serve's variables.
    served = loaded.serve(noise).numpy()
    np.testing.assert_allclose(served, state.ema_generator(noise, training=False).numpy(),
                               atol=1e-5)
    assert not np.allclose(served, state.generator(noise, training=False).numpy(), atol=1e-3)
    frame = visualize.read_png(str(tmp_path / "samples" / "epoch_0002.png"))
    np.testing.assert_array_equal(
        frame, visualize.image_grid(state.ema_generator(noise, training=False)))


def test_train_ema_turned_on_when_resuming_starts_at_restored_generator(tiny_npz, tmp_path):
    training.train(_config(tiny_npz, tmp_path, max_steps=3))
    result = training.train(_config(tiny_npz, tmp_path, max_steps=4, ema_decay=0.5))
    before = TrainState.create(dataclasses.replace(result.config, ema_decay=0.0))
    before.restore(str(tmp_path / "checkpoints" / "ckpt-3")).expect_partial()
    after = _restored_state(result.config)
    # One update from the step-3 generator, after n = 4 applied updates:
    # decay = min(0.5, (1 + 4) / (10 + 4)) = 5 / 14.
    decay = 5 / 14
    for average, old, new in zip(after.ema_generator.trainable_variables,
                                 before.generator.trainable_variables,
                                 after.generator.trainable_variables):
        np.testing.assert_allclose(average.numpy(),
                                   decay * old.numpy() + (1 - decay) * new.numpy(),
                                   rtol=1e-4, atol=1e-6, err_msg=average.path)


def test_initial_state_is_seeded_and_restores_what_train_left(tiny_npz, tmp_path):
    cfg = _config(tiny_npz, tmp_path, max_steps=2)
    images = data.load_images(data.resolve(cfg)).images
    histories = []
    for _ in range(2):  # Seeded inside: the same losses both times, whatever ran before.
        resolved, state = training.initial_state(cfg, restore=False)
        tf.random.normal([7])  # Randomness used in between does not matter.
        histories.append(loop.run(state, resolved, images, until_step=2, show_progress=False))
    np.testing.assert_array_equal(histories[0]["generator_loss"], histories[1]["generator_loss"])

    training.train(cfg)
    _, restored = training.initial_state(cfg)
    assert int(restored.step) == 2
    trained = TrainState.create(data.resolve(cfg))
    trained.restore(os.path.join(str(tmp_path), "checkpoints", "ckpt-2")).expect_partial()
    for a, b in zip(restored.generator.weights, trained.generator.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
