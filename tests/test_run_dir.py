"""The run directory: refusing another run's workdir, --overwrite, unwritable paths."""

import dataclasses
import logging
import os

import pytest
import tensorflow as tf

from dcgan_tf import config, config_flags, data, quality_log, run_dir, training
from dcgan_tf.config import Config
from dcgan_tf.errors import InputError
from conftest import read_log, small_config


def _differences(config):
    return run_dir.compare(config)[0]


def _config(mnist_npz, workdir, **overrides):
    settings = {"data_dir": mnist_npz(96), "epochs": 1, "max_steps": 2, **overrides}
    return small_config(settings.pop("data_dir"), workdir, **settings)


def test_differences_new_or_matching_workdir_is_empty(mnist_npz, tmp_path):
    cfg = _config(mnist_npz, tmp_path, image_size=28, channels=1)
    assert _differences(cfg) == []
    run_dir.create(cfg)
    assert _differences(cfg) == []
    assert _differences(dataclasses.replace(cfg, epochs=9)) == []


def test_differences_checkpoints_without_any_config_json_is_a_difference(mnist_npz,
                                                                          tmp_path):
    (tmp_path / "checkpoints").mkdir()
    assert _differences(_config(mnist_npz, tmp_path)) == [
        "config.json: missing; checkpoints/config.json: missing"]


def test_differences_unreadable_config_json_and_copy_is_a_difference(mnist_npz, tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    [difference] = _differences(_config(mnist_npz, tmp_path))
    assert difference.startswith("config.json: unreadable")


@pytest.mark.parametrize("damage", ["", "{not js", "\x00" * 40])
def test_damaged_config_json_is_read_from_its_copy_and_the_run_resumes(mnist_npz, tmp_path,
                                                                       damage):
    training.train(_config(mnist_npz, tmp_path, max_steps=2))
    (tmp_path / "config.json").write_text(damage)

    assert _differences(training.resolve(_config(mnist_npz, tmp_path, noise_dim=8))) == [
        "noise_dim: 16 -> 8"]  # Still checked, against the copy.
    result = training.train(_config(mnist_npz, tmp_path, max_steps=3))

    assert (result.start_step, result.step) == (2, 3)
    assert config.Config.from_json((tmp_path / "config.json").read_text()).max_steps == 3


@pytest.mark.parametrize("name", ["losses.csv", "metrics.csv"])
def test_damaged_log_does_not_stop_the_resume(mnist_npz, tmp_path, name):
    settings = dict(max_steps=2, eval_every=1, eval_samples=64)
    training.train(_config(mnist_npz, tmp_path, **settings))
    (tmp_path / name).write_bytes(b"")  # What a crash can leave without fsync.

    result = training.train(_config(mnist_npz, tmp_path, **{**settings, "max_steps": 3}))

    assert result.step == 3
    assert (tmp_path / f"{name}.damaged").read_bytes() == b""
    if name == "losses.csv":
        assert [row["step"] for row in read_log(tmp_path)] == ["3"]


@pytest.mark.parametrize("setting", [dict(num_examples_to_generate=9), dict(seed=1),
                                     dict(buffer_size=17)])
def test_resume_with_other_progress_noise_or_data_order_is_refused_untouched(
        mnist_npz, tmp_path, setting):
    training.train(_config(mnist_npz, tmp_path))
    before = {name: (tmp_path / name).read_bytes() for name in ("config.json", "losses.csv")}

    with pytest.raises(InputError, match=f"{next(iter(setting))}: ") as error:
        training.train(_config(mnist_npz, tmp_path, max_steps=3, **setting))

    assert "--overwrite" in str(error.value)
    assert {name: (tmp_path / name).read_bytes() for name in before} == before


def test_resume_on_other_images_is_refused_naming_both(mnist_npz, tmp_path):
    training.train(_config(mnist_npz, tmp_path))  # 96 digits.
    before = (tmp_path / "config.json").read_bytes()

    with pytest.raises(InputError, match="trained on other images") as error:
        training.train(_config(mnist_npz, tmp_path, data_dir=mnist_npz(128), max_steps=3))

    message = str(error.value)
    assert f"96 images from {mnist_npz(96)}" in message
    assert f"128 images from {mnist_npz(128)}" in message
    assert (tmp_path / "config.json").read_bytes() == before


def test_resume_from_the_same_images_elsewhere_is_accepted(mnist_npz, tmp_path, caplog):
    training.train(_config(mnist_npz, tmp_path))
    moved = tmp_path.parent / "moved.npz"
    moved.write_bytes(open(mnist_npz(96), "rb").read())

    with caplog.at_level(logging.INFO):
        result = training.train(_config(mnist_npz, tmp_path, data_dir=str(moved),
                                        max_steps=3))

    assert result.step == 3
    assert f"now from {moved}" in caplog.text


def test_resume_with_new_learning_rates_takes_effect_and_is_recorded(mnist_npz, tmp_path,
                                                                    caplog):
    training.train(_config(mnist_npz, tmp_path, learning_rate=2e-4))

    with caplog.at_level(logging.INFO):
        training.train(_config(mnist_npz, tmp_path, max_steps=3, learning_rate=1e-4,
                               discriminator_learning_rate=3e-4, beta_1=0.8))

    stored = tf.train.load_checkpoint(str(tmp_path / "checkpoints"))
    rates = {name.split("/")[0]: stored.get_tensor(name)
             for name in stored.get_variable_to_shape_map() if "_learning_rate" in name}
    assert rates == pytest.approx({"generator_optimizer": 1e-4,
                                   "discriminator_optimizer": 3e-4})
    saved = config.Config.from_json((tmp_path / "config.json").read_text())
    assert (saved.learning_rate, saved.d_learning_rate, saved.beta_1) == (1e-4, 3e-4, 0.8)
    assert ("in effect from step 2: learning_rate 0.0002 -> 0.0001, "
            "discriminator_learning_rate None -> 0.0003, beta_1 0.5 -> 0.8") in caplog.text


def test_eval_reference_is_loaded_before_overwrite_clears_the_run(mnist_npz, tmp_path,
                                                                 monkeypatch):
    training.train(_config(mnist_npz, tmp_path))
    before = sorted(os.listdir(tmp_path))

    def broken(config):
        raise InputError("the classifier file is damaged")

    monkeypatch.setattr(quality_log, "load_reference", broken)
    with pytest.raises(InputError, match="classifier file is damaged"):
        training.train(_config(mnist_npz, tmp_path, noise_dim=8, eval_every=1), overwrite=True)
    assert sorted(os.listdir(tmp_path)) == before


def test_train_overwrite_discards_other_run_but_keeps_user_files(mnist_npz, tmp_path):
    training.train(_config(mnist_npz, tmp_path))
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match="--overwrite"):
        training.train(_config(mnist_npz, tmp_path, noise_dim=8))
    result = training.train(_config(mnist_npz, tmp_path, noise_dim=8), overwrite=True)
    assert result.start_step == 0
    saved = config.Config.from_json((tmp_path / "config.json").read_text())
    assert saved.noise_dim == 8
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_train_unwritable_workdir_fails_before_training_naming_it(mnist_npz, tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    workdir = blocker / "run"
    with pytest.raises(InputError, match="cannot write there") as error:
        training.train(_config(mnist_npz, workdir))
    assert str(workdir) in str(error.value)


def test_train_bad_data_with_overwrite_leaves_existing_run_untouched(mnist_npz, tmp_path):
    training.train(_config(mnist_npz, tmp_path))
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(InputError):
        training.train(_config(mnist_npz, tmp_path, data_dir=str(tmp_path / "missing")),
                       overwrite=True)
    assert sorted(os.listdir(tmp_path)) == before


# --- which settings a resume must keep -------------------------------------------

def test_resume_differences_identical_configs_is_empty():
    assert run_dir.resume_differences(Config(), Config()) == []


def test_resume_differences_ignores_settings_outside_resume_fields():
    old = Config()
    new = Config(epochs=99, learning_rate=1e-3, beta_1=0.9, workdir="elsewhere",
                 data_dir="/data", download=False, max_steps=5, checkpoint_every=2)

    assert run_dir.resume_differences(old, new) == []


def test_resume_differences_refuse_what_changes_noise_shape_or_data_order():
    new = Config(seed=3, buffer_size=10, num_examples_to_generate=9)

    assert run_dir.resume_differences(Config(), new) == [  # In declaration order.
        "buffer_size: 0 -> 10", "seed: 0 -> 3", "num_examples_to_generate: 16 -> 9"]


def test_resume_changes_lists_the_accepted_changes_but_not_where_or_how_long():
    new = Config(epochs=99, learning_rate=1e-3, workdir="elsewhere", max_steps=5,
                 loss="hinge", image_size=64)

    assert run_dir.resume_changes(Config(), new) == [
        "learning_rate 0.0002 -> 0.001", "loss 'non_saturating' -> 'hinge'"]


def test_resume_differences_lists_exactly_the_differing_fields():
    old = Config(image_size=28, channels=1)
    new = Config(image_size=64, channels=1, noise_dim=64, epochs=3)

    assert run_dir.resume_differences(old, new) == [
        "noise_dim: 100 -> 64", "image_size: 28 -> 64"]


# A valid value differing from Config()'s for every RESUME_FIELDS entry.
_CHANGED_RESUME_VALUES = dict(dataset="cifar10", image_size=64, channels=3, batch_size=8,
                              noise_dim=10, upsample="transpose", kernel_size=3,
                              init_stddev=None, leaky_relu_slope=0.1, dropout_rate=0.5,
                              precision="mixed_float16", architecture="dcgan_paper",
                              generator_filters=32, discriminator_filters=16, seed=7,
                              buffer_size=100, num_examples_to_generate=4,
                              conditional=True, conditioning="concat", num_classes=5)
# The other settings a change needs to be a valid Config (--num_classes needs
# --conditional); both sides of the comparison have them.
_BASE_FOR = {"num_classes": dict(conditional=True)}


def test_resume_fields_test_table_covers_every_field():
    assert set(_CHANGED_RESUME_VALUES) == set(run_dir.RESUME_FIELDS)


@pytest.mark.parametrize("name", run_dir.RESUME_FIELDS)
def test_resume_flags_name_the_flag_that_gives_back_the_stored_setting(name):
    # The refusal's advice, read as train.py reads a flag, resumes the run.
    base = Config(**_BASE_FOR.get(name, {}))
    stored = dataclasses.replace(base, **{name: _CHANGED_RESUME_VALUES[name]})
    (flag,) = run_dir.resume_flags(stored, base)
    flag_name, text = flag.removeprefix("--").split("=", 1)
    kind = type(getattr(Config(), name))
    value = text == "True" if kind is bool else kind(text)
    resumed = config_flags.from_flag_values("dcgan", {**_BASE_FOR.get(name, {}),
                                                      flag_name: value})
    assert run_dir.resume_differences(stored, resumed) == []


@pytest.mark.parametrize("name", run_dir.RESUME_FIELDS)
def test_resume_differences_single_change_is_listed_with_old_and_new(name):
    new_value = _CHANGED_RESUME_VALUES[name]
    old = Config(**_BASE_FOR.get(name, {}))
    new = dataclasses.replace(old, **{name: new_value})

    assert run_dir.resume_differences(old, new) == [
        f"{name}: {getattr(old, name)!r} -> {new_value!r}"]


@pytest.mark.parametrize("overwrite", [False, True])
@pytest.mark.parametrize("owned", [["checkpoints/model.pt", "samples/cat.png"],
                                   ["config.json"], ["losses.csv", "generator/notes.txt"]])
def test_train_refuses_a_workdir_of_foreign_files_and_never_deletes_them(mnist_npz, tmp_path,
                                                                           overwrite, owned):
    for name in owned:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(f"the user's {name}")
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))

    with pytest.raises(InputError, match="but no dcgan_tf run") as raised:
        training.train(_config(mnist_npz, tmp_path), overwrite=overwrite)

    assert f"--workdir={tmp_path}" in str(raised.value)
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == before
    for name in owned:
        assert (tmp_path / name).read_text() == f"the user's {name}"


def test_overwrite_of_a_real_run_still_starts_again(mnist_npz, tmp_path):
    training.train(_config(mnist_npz, tmp_path, max_steps=2))
    result = training.train(_config(mnist_npz, tmp_path, max_steps=1), overwrite=True)
    assert (result.start_step, result.step) == (0, 1)


def test_a_hand_edited_seed_in_config_json_is_refused_naming_both_copies(mnist_npz, tmp_path):
    training.train(_config(mnist_npz, tmp_path, max_steps=2))
    edited = (tmp_path / "config.json").read_text().replace('"seed": 0', '"seed": 7')
    (tmp_path / "config.json").write_text(edited)
    before = sorted((p.name, p.stat().st_mtime_ns) for p in tmp_path.rglob("*"))

    with pytest.raises(InputError, match="disagrees with its copy") as raised:
        training.train(_config(mnist_npz, tmp_path, max_steps=3, seed=7))

    assert "seed: 0 in checkpoints/config.json, 7 in config.json" in str(raised.value)
    assert sorted((p.name, p.stat().st_mtime_ns) for p in tmp_path.rglob("*")) == before
