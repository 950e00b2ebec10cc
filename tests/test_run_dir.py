"""The run directory: refusing another run's workdir, --overwrite, unwritable paths."""

import dataclasses
import os

import pytest

from dcgan_tf import config, run_dir, training
from dcgan_tf.errors import InputError
from conftest import small_config


def _config(mnist_npz, workdir, **overrides):
    settings = {"data_dir": mnist_npz(96), "epochs": 1, "max_steps": 2, **overrides}
    return small_config(settings.pop("data_dir"), workdir, **settings)


def test_differences_new_or_matching_workdir_is_empty(mnist_npz, tmp_path):
    cfg = _config(mnist_npz, tmp_path, image_size=28, channels=1)
    assert run_dir.differences(cfg) == []
    run_dir.create(cfg)
    assert run_dir.differences(cfg) == []
    assert run_dir.differences(dataclasses.replace(cfg, epochs=9)) == []


def test_differences_checkpoints_without_config_json_is_a_difference(mnist_npz, tmp_path):
    (tmp_path / "checkpoints").mkdir()
    assert run_dir.differences(_config(mnist_npz, tmp_path)) == [
        "config.json: missing, though checkpoints exist"]


def test_differences_unreadable_config_json_is_a_difference(mnist_npz, tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    [difference] = run_dir.differences(_config(mnist_npz, tmp_path))
    assert difference.startswith("config.json: unreadable")


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
