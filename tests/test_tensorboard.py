"""TensorBoard, for real: the `tensorboard` server reads a run's scalars and frames."""

import json
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

from conftest import small_config
from dcgan_tf import training

METRIC_TAGS = {"generator_loss", "discriminator_loss", "real_score", "fake_score"}
QUALITY_TAGS = {f"quality/{name}" for name in
                ("frechet", "kid", "precision", "recall", "class_kl", "classes_covered")}


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def tensorboard(tmp_path):
    """Returns start(logdir) -> get(path): a live server on a free localhost port."""
    servers = []

    def start(logdir):
        port = _free_port()
        servers.append(subprocess.Popen(
            [sys.executable, "-m", "tensorboard.main", f"--logdir={logdir}", f"--port={port}",
             "--host=127.0.0.1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

        def get(path):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as reply:
                body = reply.read()
            return body if path.startswith("/data/plugin/images/individualImage") \
                else json.loads(body)

        deadline = time.monotonic() + 90
        while True:
            try:
                if get("/data/runs"):
                    return get
            except OSError:
                pass
            assert servers[-1].poll() is None, "tensorboard exited"
            assert time.monotonic() < deadline, "tensorboard did not answer"
            time.sleep(0.5)

    yield start
    for server in servers:
        server.kill()
        server.wait()


def _scalar_steps(get, tag):
    query = urllib.parse.urlencode({"run": "tensorboard", "tag": tag})
    return [step for _, step, _ in get(f"/data/plugin/scalars/scalars?{query}")]


def test_tensorboard_serves_losses_quality_and_frames_once_per_step_after_a_resume(
        tiny_npz, tmp_path, tensorboard):
    workdir = tmp_path / "run"
    training.train(small_config(tiny_npz, workdir, max_steps=2, eval_every=1, eval_samples=20))
    training.train(small_config(tiny_npz, workdir, eval_every=1, eval_samples=20))  # Resumes.
    get = tensorboard(workdir)

    tags = get("/data/plugin/scalars/tags")["tensorboard"]
    assert METRIC_TAGS | QUALITY_TAGS <= set(tags)
    for tag in METRIC_TAGS:
        assert _scalar_steps(get, tag) == [1, 2, 3, 4, 5, 6], tag  # Each step once.
    assert _scalar_steps(get, "quality/frechet") == [3, 6]  # Epoch ends, 3 steps each.

    query = urllib.parse.urlencode({"run": "tensorboard", "tag": "samples"})
    frames = get(f"/data/plugin/images/images?{query}")
    assert [frame["step"] for frame in frames] == [2, 3, 6]  # The stop at 2, then epochs.
    png = get(f"/data/plugin/images/individualImage?{frames[-1]['query']}")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
