"""The speed levers: several steps per call, XLA, mixed precision."""

import dataclasses
import functools
import os
import types

import keras
import numpy as np
import pytest
import tensorflow as tf

from dcgan_tf import config, data, loop, models, train_step, training
from dcgan_tf.train_step import LossScale, make_train_step
from conftest import read_log, small_config
from dcgan_tf.state import TrainState

NUM_IMAGES = 96  # With batch_size 16: 6 steps per epoch.


_config = functools.partial(small_config, batch_size=16, epochs=1, max_steps=5,
                            jit_compile=True)


def _losses(workdir):
    rows = read_log(workdir)
    return np.array([[float(row[name]) for name in ("generator_loss", "discriminator_loss")]
                     for row in rows])


def _generator_weights(cfg):
    state = TrainState.create(cfg)
    state.restore(tf.train.latest_checkpoint(os.path.join(cfg.workdir, "checkpoints")))
    return state.generator.get_weights()


def test_steps_per_call_trains_exactly_the_same_steps(tiny_npz, tmp_path):
    one = _config(tiny_npz, tmp_path / "one", checkpoint_every=2, jit_compile=False)
    four = dataclasses.replace(one, workdir=str(tmp_path / "four"), steps_per_call=4)
    one, four = training.train(one).config, training.train(four).config
    np.testing.assert_array_equal(_losses(one.workdir), _losses(four.workdir))
    for a, b in zip(_generator_weights(one), _generator_weights(four)):
        np.testing.assert_array_equal(a, b)
    # Calls stop at --checkpoint_every boundaries: 2 + 2 + 1 steps, not 4 + 1.
    assert sorted(name for name in os.listdir(tmp_path / "four" / "checkpoints")
                  if name.endswith(".index")) == ["ckpt-2.index", "ckpt-4.index",
                                                  "ckpt-5.index"]


@pytest.fixture(scope="module")
def float32_reference(tiny_npz, tmp_path_factory):
    """A 3-step run without any lever: float32, no XLA."""
    reference = _config(tiny_npz, tmp_path_factory.mktemp("reference"), max_steps=3,
                        jit_compile=False)
    training.train(reference)
    return reference


# With XLA: without it, this CPU emulates 16-bit math slowly.
@pytest.mark.parametrize("overrides", [dict(), dict(precision="mixed_bfloat16"),
                                       dict(precision="mixed_float16")])
def test_lever_trains_like_float32_reference(float32_reference, tmp_path, overrides):
    lever = dataclasses.replace(float32_reference, workdir=str(tmp_path),
                                **{"jit_compile": True, **overrides})
    training.train(lever)
    # Not equal: 16-bit rounding, and XLA draws other random numbers (noise, dropout).
    np.testing.assert_allclose(_losses(lever.workdir), _losses(float32_reference.workdir),
                               rtol=3e-2)


@pytest.mark.parametrize("precision, compute_dtype", [("mixed_float16", "float16"),
                                                      ("mixed_bfloat16", "bfloat16")])
def test_mixed_precision_computes_in_16_bits_but_keeps_float32_where_it_matters(
        precision, compute_dtype):
    cfg = config.Config(image_size=28, channels=1, noise_dim=8, precision=precision)
    generator, discriminator = models.build_generator(cfg), models.build_discriminator(cfg)
    convolutions = [layer for layer in generator.layers + discriminator.layers
                    if "conv" in layer.name]
    assert convolutions and all(layer.compute_dtype == compute_dtype for layer in convolutions)
    assert all(variable.dtype == "float32" for variable in generator.weights
               + discriminator.weights)
    assert generator(tf.zeros([2, 8]), training=False).dtype == tf.float32
    assert discriminator(tf.zeros([2, 28, 28, 1]), training=False).dtype == tf.float32
    # The global policy is left as it was.
    assert models.build_generator(config.Config(image_size=28, channels=1, precision="float32")
                                  ).layers[1].compute_dtype == "float32"


def test_mixed_float16_run_exports_a_float32_generator(tiny_npz, tmp_path):
    training.train(_config(tiny_npz, tmp_path, precision="mixed_float16", max_steps=2))
    loaded = tf.saved_model.load(str(tmp_path / "generator"))
    serve = loaded.signatures["serving_default"]
    outputs = serve(tf.zeros([3, 16]))
    (images,) = outputs.values()
    assert images.dtype == tf.float32 and images.shape == (3, 28, 28, 1)
    ops = {op.type for function in loaded.signatures.values()
           for op in function.graph.get_operations()}
    assert "Cast" not in ops  # No float16 compute left in the artifact.


def _float16_state():
    return TrainState.create(config.Config(image_size=28, channels=1, noise_dim=8,
                                               precision="mixed_float16"))


def _float16_step(state):
    return make_train_step(state.generator, state.discriminator, state.generator_optimizer,
                           state.discriminator_optimizer, state.noise_rng,
                           loss_scales=state.loss_scales)


def _real_images():
    return tf.random.stateless_uniform([4, 28, 28, 1], seed=[1, 2], minval=-1, maxval=1)


def test_float16_overflow_skips_the_step_halves_that_scale_and_is_not_a_failure():
    state = _float16_state()
    step = _float16_step(state)
    generator_scale, discriminator_scale = state.loss_scales
    generator_scale.scale.assign(3e38)  # Scaled gradients overflow float16 and float32.
    before = [v.numpy().copy() for v in state.generator.trainable_variables
              + state.discriminator.trainable_variables]
    metrics = step(_real_images())
    assert bool(metrics["finite"])
    assert float(generator_scale.scale) == pytest.approx(1.5e38)
    assert float(discriminator_scale.scale) == 2.0**15  # Its gradients did not overflow.
    after = state.generator.trainable_variables + state.discriminator.trainable_variables
    for variable, value in zip(after, before):
        np.testing.assert_array_equal(variable.numpy(), value)
    assert int(state.generator_optimizer.iterations) == 0
    generator_scale.scale.assign(1024.0)
    step(_real_images())
    assert int(state.generator_optimizer.iterations) == 1


def test_float16_gradients_are_unscaled_before_the_update():
    """With plain SGD (which, unlike Adam, shows a gradient's size) the float16
    step moves the weights as the float32 step does, not 2^15 times as far."""
    deltas = {}
    for precision in ("float32", "mixed_float16"):
        keras.utils.set_random_seed(0)  # Same initial weights and noise.
        # No dropout: its masks are drawn in the compute dtype, so they would differ.
        state = TrainState.create(config.Config(image_size=28, channels=1, noise_dim=8,
                                                    dropout_rate=0.0, precision=precision))
        optimizers = [keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1)]
        before = [v.numpy().copy() for v in state.generator.trainable_variables]
        make_train_step(state.generator, state.discriminator, *optimizers, state.noise_rng,
                        loss_scales=getattr(state, "loss_scales", None))(_real_images())
        deltas[precision] = np.concatenate([
            (v.numpy() - b).ravel() for v, b in zip(state.generator.trainable_variables,
                                                    before)])
    full, half = deltas["float32"], deltas["mixed_float16"]
    assert np.linalg.norm(half) / np.linalg.norm(full) == pytest.approx(1.0, rel=0.05)
    assert np.dot(half, full) / (np.linalg.norm(half) * np.linalg.norm(full)) > 0.99


@pytest.mark.parametrize("scale, finite", [(4.0, True), (2.0, True), (1.0, False)])
def test_float16_overflow_is_a_failure_only_once_the_scale_falls_below_one(scale, finite):
    """Finite losses, overflowing generator gradients: the scale halves, and the
    step fails only when that leaves no scaling to lower (below 1)."""
    generator_scale, discriminator_scale = LossScale("generator"), LossScale("discriminator")
    generator_scale.scale.assign(scale)
    parts = types.SimpleNamespace(scales=[generator_scale, discriminator_scale])

    result = train_step.step_finite(parts, bad_losses=tf.constant(False),
                                    overflows=[tf.constant(True), tf.constant(False)])

    assert bool(result) is finite
    assert float(generator_scale.scale) == scale / 2


def test_train_loop_traces_once_for_new_epochs_and_step_counts(tiny_npz):
    cfg = config.Config(image_size=28, channels=1, noise_dim=8, batch_size=16,
                        jit_compile=False)
    state = TrainState.create(cfg)
    train_steps = loop.build_train_steps(cfg, state)
    images = tf.zeros([64, 28, 28, 1], tf.uint8)
    for epoch, steps in ((0, 1), (1, 3), (2, 2)):  # A new iterator, another count.
        batches = iter(data.make_dataset(images, 16, 0, seed=0, epoch=epoch))
        metrics = train_steps(batches, tf.constant(steps, tf.int32))
        assert metrics["generator_loss"].shape == (steps,)
    assert train_steps.experimental_get_tracing_count() == 1


@pytest.mark.parametrize("flags, gpus, expected", [
    ({"amx_bf16", "avx512_bf16"}, [], "mixed_bfloat16"),
    ({"avx512_bf16"}, [], "mixed_bfloat16"),
    ({"avx512f"}, [], "float32"),
    ({"amx_bf16"}, ["GPU:0"], "float32"),
])
def test_auto_precision_is_bfloat16_only_on_cpus_with_bfloat16_units(monkeypatch, flags, gpus,
                                                                   expected):
    from dcgan_tf import devices
    monkeypatch.undo()  # The real choice, not conftest's float32.
    monkeypatch.setattr(devices, "cpu_flags", lambda: flags)
    monkeypatch.setattr(tf.config, "list_physical_devices",
                        lambda kind=None: gpus if kind == "GPU" else [])

    precision, reason = devices.choose_precision()

    assert precision == expected
    assert ("GPU is visible" in reason) == bool(gpus)


def test_auto_precision_is_logged_and_stored_and_a_resume_keeps_the_stored_one(
        tiny_npz, tmp_path, monkeypatch, caplog):
    from dcgan_tf import devices
    monkeypatch.setattr(devices, "choose_precision",
                        lambda: ("mixed_bfloat16", "this CPU has bfloat16 matrix units (AMX)"))
    made_in_float32 = _config(tiny_npz, tmp_path / "old", jit_compile=False, max_steps=1,
                              precision="float32")
    training.train(made_in_float32)
    auto = dict(precision="auto", jit_compile=False)

    with caplog.at_level("INFO"):
        training.train(_config(tiny_npz, tmp_path / "new", max_steps=1, **auto))
        resumed = training.train(_config(tiny_npz, tmp_path / "old", max_steps=2, **auto))

    assert config.Config.from_json(open(tmp_path / "new" / "config.json").read()).precision \
        == "mixed_bfloat16"
    assert resumed.config.precision == "float32"
    assert resumed.step == 2
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Precision")]
    assert "mixed_bfloat16" in lines[0] and "AMX" in lines[0]
    assert "float32" in lines[1] and "made with it" in lines[1]


def test_the_presets_measured_in_float32_keep_float32_and_the_default_is_auto():
    assert config.preset("dcgan").precision == "auto"
    assert {config.preset(name).precision for name in ("tutorial", "pytorch", "colour")} \
        == {"float32"}


def test_a_model_built_from_an_unresolved_config_gets_the_machines_precision(monkeypatch):
    from dcgan_tf import devices
    monkeypatch.setattr(devices, "choose_precision", lambda: ("mixed_bfloat16", "test"))
    cfg = config.Config(image_size=28, channels=1, noise_dim=8)

    generator = models.build_generator(cfg)

    assert generator.layers[1].compute_dtype == "bfloat16"
    assert generator.output.dtype == "float32"
