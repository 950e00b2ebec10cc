"""Interrupting `train.py` for real: Ctrl-C, SIGTERM and kill -9, then resuming."""

import json
import os
import signal
import subprocess
import sys
import time

import shlex

import pytest
import tensorflow as tf
from conftest import read_log

from dcgan_tf import cli


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def digits_256(mnist_npz):
    return mnist_npz(256)  # 8 steps per epoch at batch 32.


def _command(digits_256, workdir, *extra):
    return [sys.executable, "train.py", f"--data_dir={digits_256}", f"--workdir={workdir}",
            "--batch_size=32", "--noise_dim=16", "--num_examples_to_generate=4",
            "--checkpoint_every=2", "--nojit_compile", "--export_formats=saved_model", *extra]


def _start_and_wait_for_checkpoint(command, workdir, timeout=120):
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    while not os.path.exists(os.path.join(workdir, "checkpoints", "checkpoint")):
        assert process.poll() is None, process.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.05)
    return process


def _steps_in_losses(workdir):
    return [int(row["step"]) for row in read_log(workdir)]


def _checkpoint_step(workdir):
    path = tf.train.latest_checkpoint(os.path.join(workdir, "checkpoints"))
    return int(path.rsplit("-", 1)[1])


@pytest.mark.parametrize("signal_number, status", [(signal.SIGINT, 130),
                                                    (signal.SIGTERM, 143)])
def test_train_cli_signal_saves_current_step_and_exits_with_convention(
        digits_256, tmp_path, signal_number, status):
    workdir = tmp_path / "run"
    process = _start_and_wait_for_checkpoint(_command(digits_256, workdir, "--epochs=1000"),
                                             workdir)
    process.send_signal(signal_number)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == status, stderr[-3000:]
    assert "To resume, run the same command again" in stderr
    step = _checkpoint_step(workdir)
    assert step >= 2
    assert _steps_in_losses(workdir) == list(range(1, step + 1))
    for name in ("progress.gif", "losses.png", "generator/saved_model.pb"):
        assert (workdir / name).exists(), name
    attempt, = json.loads((workdir / "run_info.json").read_text())["attempts"]
    assert (attempt["step"], attempt["ending"]) == (step, signal_number.name)


@pytest.mark.parametrize("spelling", ["--overwrite", "-overwrite", "--overwrite=true",
                                      "--overwrite=1", "-overwrite=yes", "--nooverwrite"])
def test_resume_command_drops_every_spelling_of_overwrite(spelling):
    argv = ["train.py", "--workdir=/runs/my run", spelling, "--epochs=5"]

    command = cli.resume_command(argv)

    assert shlex.split(command) == ["python", "train.py", "--workdir=/runs/my run",
                                    "--epochs=5"]


def test_resume_command_keeps_flags_that_only_start_like_overwrite():
    argv = ["train.py", "--overwrite_notes=x", "--data_dir=overwrite"]
    assert shlex.split(cli.resume_command(argv))[1:] == argv


def test_train_cli_interrupted_prints_a_resume_command_a_shell_runs_as_is(digits_256,
                                                                           tmp_path):
    workdir = tmp_path / "my runs" / "first run"
    command = _command(digits_256, workdir, "--epochs=1000", "--overwrite=true")
    process = _start_and_wait_for_checkpoint(command, workdir)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)

    printed = stderr.split("run the same command again:\n", 1)[1].splitlines()[0].strip()
    assert shlex.split(printed) == ["python", *command[1:-1]]  # Without --overwrite=true.


def test_train_cli_kill_9_then_rerun_resumes_from_last_checkpoint(digits_256, tmp_path):
    workdir = tmp_path / "run"
    command = _command(digits_256, workdir, "--epochs=3")  # 24 steps.
    process = _start_and_wait_for_checkpoint(command, workdir)
    process.kill()
    process.communicate(timeout=60)
    killed_at = _checkpoint_step(workdir)
    resumed = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"at step {killed_at}" in resumed.stderr  # "Resumed from ... at step k".
    assert _checkpoint_step(workdir) == 24
    assert _steps_in_losses(workdir) == list(range(1, 25))
    assert sorted(os.listdir(workdir / "samples")) == [
        "epoch_0001.png", "epoch_0002.png", "epoch_0003.png"]
