"""A new user's first minute: no TensorFlow start-up noise, one line for the offline data."""

import logging
import os
import re
import subprocess
import sys

import pytest

from dcgan_tf import config, data

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# A WARNING, ERROR or FATAL line of absl or TensorFlow's C++ logging (also where it
# lands in the middle of the progress bar's line), or absl's notice.
NOISE = re.compile(r"^([WEF]\d{4} |WARNING|ERROR)|[WEF]\d{4} [\d:.]+ +\d+ [\w.]+:\d+\]"
                   r"|https?://", re.MULTILINE)


def _run(*args):
    environment = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    environment["CUDA_VISIBLE_DEVICES"] = ""  # A CPU-only machine, even where a GPU is.
    return subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300, env=environment)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("quiet") / "run"
    result = _run("train.py", "--dataset=mnist", f"--workdir={workdir}", "--max_steps=2",
                  "--batch_size=16", "--noise_dim=8", "--num_examples_to_generate=4",
                  "--nojit_compile")
    return workdir, result


def test_train_on_cpu_prints_no_warning_error_or_url(trained):
    _, result = trained
    assert result.returncode == 0, result.stderr[-3000:]
    assert not NOISE.findall(result.stderr), result.stderr[-3000:]
    assert "training runs on the CPU" in result.stderr
    assert re.search(r"Done: 2 steps \(0 to 2\) in \d+ min \d\d s, \d+ images/s", result.stderr)


def test_generate_and_evaluate_print_no_warning_error_or_url(trained, tmp_path):
    workdir, _ = trained
    generated = _run("generate.py", f"--model={workdir}/generator", f"--out={tmp_path}/g.png",
                     "--num=4")
    evaluated = _run("evaluate.py", f"--model={workdir}/generator", "--num=20",
                     f"--out={tmp_path}/m.json")
    for result in (generated, evaluated):
        assert result.returncode == 0, result.stderr[-3000:]
        assert not NOISE.findall(result.stderr), result.stderr[-3000:]


def test_user_chosen_log_level_is_left_alone():
    result = subprocess.run(
        [sys.executable, "-c", "from dcgan_tf import cli; import os; "
         "print(cli.quiet_native_logs(), os.environ['TF_CPP_MIN_LOG_LEVEL'])"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "0"})
    assert result.stdout.split() == ["True", "0"]


def test_offline_mnist_falls_back_in_one_info_line_without_a_download(monkeypatch, caplog,
                                                                     tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))  # No cached download.
    monkeypatch.setattr(data, "network_reachable", lambda: False)

    def no_download():
        raise AssertionError("tried to download without a network")

    monkeypatch.setattr(data.tf.keras.datasets.mnist, "load_data", no_download)
    with caplog.at_level(logging.INFO, logger="dcgan_tf"):
        images = data.load_images(data.resolve(config.Config(dataset="mnist")))
    assert len(images.images) == 10000
    [record] = [r for r in caplog.records if "bundled" in r.getMessage()]
    assert record.levelno == logging.INFO and "no network" in record.getMessage()
    assert "http" not in record.getMessage()
