"""Tests for dcgan_tf.config: presets, validation, JSON and the resume check."""

import dataclasses
import math

import pytest

from dcgan_tf import config as config_lib
from dcgan_tf.config import Config
from dcgan_tf.errors import InputError


def test_preset_tutorial_gives_tf_tutorial_hyperparameters():
    config = config_lib.preset("tutorial")

    assert config.learning_rate == 1e-4
    assert config.beta_1 == 0.9
    assert config.init_stddev is None
    assert config.leaky_relu_slope == 0.3


def test_preset_dcgan_gives_paper_hyperparameters():
    config = config_lib.preset("dcgan")

    assert config.learning_rate == 2e-4
    assert config.beta_1 == 0.5
    assert config.init_stddev == 0.02
    assert config.leaky_relu_slope == 0.2


def test_preset_dcgan_equals_config_defaults():
    assert config_lib.preset("dcgan") == Config()


def test_preset_tutorial_learning_rate_override_beats_preset():
    config = config_lib.preset("tutorial", learning_rate=3e-4)

    assert config.learning_rate == 3e-4
    assert config.beta_1 == 0.9  # The rest of the preset stays.


def test_preset_overrides_beat_preset_for_every_preset_field():
    overrides = dict(learning_rate=5e-4, beta_1=0.7, init_stddev=0.05, leaky_relu_slope=0.1)

    for name in config_lib.PRESETS:
        config = config_lib.preset(name, **overrides)
        assert {key: getattr(config, key) for key in overrides} == overrides, name


def test_preset_overrides_set_non_preset_fields():
    config = config_lib.preset("tutorial", dataset="cifar10", batch_size=8, epochs=2)

    assert (config.dataset, config.batch_size, config.epochs) == ("cifar10", 8, 2)


def test_preset_unknown_name_raises_input_error_naming_it():
    with pytest.raises(InputError, match=r"--preset='paper'"):
        config_lib.preset("paper")


@pytest.mark.parametrize("overrides, flag", [
    (dict(dataset="foo"), "--dataset='foo'"),
    (dict(image_size=30), "--image_size=30"),
    (dict(image_size=-28), "--image_size=-28"),
    (dict(channels=2), "--channels=2"),
    (dict(channels=4), "--channels=4"),
    (dict(upsample="bilinear"), "--upsample='bilinear'"),
    (dict(buffer_size=-1), "--buffer_size"),
    (dict(batch_size=0), "--batch_size"),
    (dict(epochs=-1), "--epochs"),
    (dict(image_budget=0), "--image_budget"),
    (dict(noise_dim=0), "--noise_dim"),
    (dict(kernel_size=0), "--kernel_size"),
    (dict(num_examples_to_generate=0), "--num_examples_to_generate"),
    (dict(steps_per_call=0), "--steps_per_call"),
    (dict(precision="float16"), "--precision='float16'"),
    (dict(strategy="tpu"), "--strategy='tpu'"),
    (dict(jit_compile=True, strategy="mirrored"), "--jit_compile"),
    (dict(max_steps=-1), "--max_steps"),
    (dict(checkpoint_every=-5), "--checkpoint_every"),
    (dict(seed=-1), "--seed"),
    (dict(seed=2**32), "--seed"),
    (dict(dataset="folder"), "--data_dir"),
    (dict(learning_rate=0.0), "--learning_rate"),
    (dict(learning_rate=1.0), "--learning_rate"),
    (dict(learning_rate=-1e-4), "--learning_rate"),
    (dict(learning_rate=math.nan), "--learning_rate"),
    (dict(beta_1=1.0), "--beta_1"),
    (dict(beta_1=-0.1), "--beta_1"),
    (dict(init_stddev=-0.02), "--init_stddev"),
    (dict(leaky_relu_slope=-0.2), "--leaky_relu_slope"),
    (dict(dropout_rate=1.0), "dropout_rate"),
    (dict(loss="wasserstein"), "--loss='wasserstein'"),
    (dict(label_smoothing=-0.1), "--label_smoothing"),
    (dict(label_smoothing=0.5), "--label_smoothing"),
    (dict(label_smoothing=0.1, loss="hinge"), "--label_smoothing"),
    (dict(label_smoothing=0.1, loss="least_squares"), "--label_smoothing"),
    (dict(ema_decay=1.0), "--ema_decay"),
    (dict(ema_decay=-0.5), "--ema_decay"),
    (dict(eval_every=-1), "--eval_every"),
    (dict(eval_samples=9), "--eval_samples"),
])
def test_config_invalid_value_raises_input_error_naming_flag(overrides, flag):
    with pytest.raises(InputError) as raised:
        Config(**overrides)

    assert flag in str(raised.value)


@pytest.mark.parametrize("overrides", [
    dict(learning_rate=1e-6),
    dict(beta_1=0.0),
    dict(seed=2**32 - 1),
    dict(buffer_size=0, max_steps=0, checkpoint_every=0),
    dict(image_size=0, channels=0),
    dict(image_size=128, channels=1),
    dict(init_stddev=None),
    dict(leaky_relu_slope=0.0),
    dict(dataset="folder", data_dir="/some/images"),
    dict(loss="hinge", label_smoothing=0.0),
    dict(loss="least_squares"),
    dict(label_smoothing=0.2),
    dict(strategy="mirrored"),  # jit_compile=None: XLA off, not an error.
    dict(precision="mixed_bfloat16", steps_per_call=10),
    dict(ema_decay=0.999, eval_every=1, eval_samples=10),
])
def test_config_boundary_values_are_accepted(overrides):
    config = Config(**overrides)

    assert {key: getattr(config, key) for key in overrides} == overrides


def test_preset_invalid_override_raises_input_error_naming_flag():
    with pytest.raises(InputError, match="--learning_rate"):
        config_lib.preset("tutorial", learning_rate=2.0)


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Config().batch_size = 8


def test_config_image_shape_is_size_size_channels():
    assert Config(image_size=64, channels=3).image_shape == (64, 64, 3)


def test_config_json_round_trip_returns_equal_config():
    config = config_lib.preset("tutorial", dataset="folder", data_dir="/data/celeba",
                               workdir="/runs/celeba", download=False, image_size=64,
                               channels=3, batch_size=32, buffer_size=1000, seed=7,
                               upsample="resize", learning_rate=1.5e-4, max_steps=10)

    restored = Config.from_json(config.to_json())

    assert restored == config
    assert restored.init_stddev is None


def test_config_to_json_is_stable_text():
    assert Config().to_json() == Config().to_json()
    assert Config().to_json().endswith("}\n")
    assert '"learning_rate": 0.0002' in Config().to_json()


def test_config_from_json_unknown_key_raises_input_error_naming_it():
    text = Config().to_json().replace('"seed"', '"random_seed"')

    with pytest.raises(InputError, match="random_seed"):
        Config.from_json(text)


def test_config_from_json_invalid_value_raises_input_error():
    text = Config().to_json().replace(f'"batch_size": {Config().batch_size}', '"batch_size": 0')

    with pytest.raises(InputError, match="--batch_size"):
        Config.from_json(text)


def test_config_from_json_non_object_raises_input_error():
    with pytest.raises(InputError, match="JSON object"):
        Config.from_json("[1, 2]")


@pytest.mark.parametrize("name, value", [("buffer_size", 2**63 - 1), ("noise_dim", 10**6),
                                         ("batch_size", 2**20),
                                         ("num_examples_to_generate", 10**5)])
def test_config_values_past_their_upper_bound_are_refused_naming_the_flag(name, value):
    with pytest.raises(InputError, match=f"--{name} must be at most"):
        Config(**{name: value})


def test_init_stddev_zero_means_kerass_initializer_as_on_the_command_line():
    assert Config(init_stddev=0).init_stddev is None
    assert Config.from_json(Config(init_stddev=0.0).to_json()).init_stddev is None
