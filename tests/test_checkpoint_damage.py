"""A damaged checkpoint never sends a run back to step 0 (training._restore_newest)."""

import os
import shutil

import pytest

from conftest import small_config
from dcgan_tf import training
from dcgan_tf.errors import InputError


def _config(tiny_npz, workdir, max_steps):
    # 96 images at batch 32: an epoch is 3 steps; a checkpoint every step.
    return small_config(tiny_npz, workdir, epochs=4, max_steps=max_steps, checkpoint_every=1)


@pytest.fixture(scope="module")
def trained(tiny_npz, tmp_path_factory):
    """A run stopped at step 4, keeping checkpoints ckpt-2, ckpt-3 and ckpt-4 (made once)."""
    workdir = tmp_path_factory.mktemp("trained") / "run"
    training.train(_config(tiny_npz, workdir, max_steps=4))
    names = sorted(os.listdir(workdir / "checkpoints"))
    assert {"ckpt-2.index", "ckpt-3.index", "ckpt-4.index"} <= set(names), names
    return workdir


@pytest.fixture
def run(trained, tmp_path):
    """A copy of that run at the same path for every test: config.json names its workdir."""
    shutil.rmtree(tmp_path)
    shutil.copytree(trained, tmp_path)
    return tmp_path


def _newest_data(run):
    return next((run / "checkpoints").glob("ckpt-4.data-*"))


@pytest.mark.parametrize("damage", ["junk_index", "empty_index", "deleted_index"])
def test_damaged_index_file_resumes_from_the_newest_checkpoint(tiny_npz, run, damage):
    index = run / "checkpoints" / "checkpoint"
    if damage == "deleted_index":
        index.unlink()
    else:
        index.write_text("" if damage == "empty_index" else "\x00garbage{{{")

    result = training.train(_config(tiny_npz, run, max_steps=5))

    assert (result.start_step, result.step) == (4, 5)


@pytest.mark.parametrize("damage", ["deleted", "truncated", "bit_flipped"])
def test_damaged_newest_checkpoint_falls_back_to_the_one_before(tiny_npz, run, damage, caplog):
    data = _newest_data(run)
    if damage == "deleted":
        for path in (run / "checkpoints").glob("ckpt-4.*"):
            path.unlink()
    elif damage == "truncated":
        data.write_bytes(data.read_bytes()[:len(data.read_bytes()) // 2])
    else:
        content = bytearray(data.read_bytes())
        content[len(content) // 2] ^= 0x40
        data.write_bytes(bytes(content))

    result = training.train(_config(tiny_npz, run, max_steps=5))

    assert result.start_step == 3 and result.step == 5
    if damage != "deleted":
        assert "ckpt-4 cannot be restored" in caplog.text
        assert "Resumed from an older checkpoint" in caplog.text


def test_every_checkpoint_damaged_is_refused_and_nothing_is_written_over(tiny_npz, run):
    for data in (run / "checkpoints").glob("ckpt-*.data-*"):
        data.write_bytes(b"\x00" * 16)
    before = {path.name: path.read_bytes() for path in (run / "checkpoints").iterdir()}

    with pytest.raises(InputError, match="none of its 3 checkpoints restores"):
        training.train(_config(tiny_npz, run, max_steps=5))

    after = {path.name: path.read_bytes() for path in (run / "checkpoints").iterdir()}
    assert after == before
