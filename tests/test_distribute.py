"""--strategy: MirroredStrategy on two logical CPUs, and two multi-worker
processes on 127.0.0.1, each trained, checkpointed and resumed."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from dcgan_tf import config, distribute, training
from dcgan_tf.errors import InputError
from conftest import read_log

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLAGS = ("--batch_size=16", "--num_examples_to_generate=4", "--noise_dim=16",
         "--export_formats=saved_model", "--epochs=1")


def _environment(**extra):
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **extra}


def _steps(workdir):
    return [int(row["step"]) for row in read_log(workdir)]


def _run(args, **environment):
    return subprocess.run([sys.executable, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300, env=_environment(**environment))


def test_mirrored_two_replicas_trains_and_resumes_under_the_default_strategy(mnist_npz,
                                                                            tmp_path):
    data = f"--data_dir={mnist_npz(64)}"
    workdir = str(tmp_path / "run")
    mirrored = _run(["tests/cpu_replicas.py", "2", f"--workdir={workdir}", data,
                     "--strategy=mirrored", "--sync_batchnorm", "--max_steps=2", *FLAGS])
    assert mirrored.returncode == 0, mirrored.stderr[-3000:]
    assert "mirrored, 2 replicas" in mirrored.stderr
    assert _steps(workdir) == [1, 2]
    # The checkpoint does not depend on the strategy it was written under.
    resumed = _run(["train.py", f"--workdir={workdir}", data, "--max_steps=3", *FLAGS])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "at step 2" in resumed.stderr
    assert _steps(workdir) == [1, 2, 3]


# Both replicas get the same ones; what each keeps is its dropout mask.
_DROPOUT_MASKS = """
import numpy as np, tensorflow as tf
tf.config.set_logical_device_configuration(tf.config.list_physical_devices("CPU")[0],
                                           [tf.config.LogicalDeviceConfiguration()] * 2)
from dcgan_tf import models
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
with strategy.scope():
    layer = models.Dropout(0.3, seed=1)
kept = strategy.run(tf.function(lambda: layer(tf.ones([8, 1000]), training=True) > 0))
first, second = (np.asarray(mask) for mask in strategy.experimental_local_results(kept))
print(first.mean(), second.mean(), (first == second).mean())
"""


def test_mirrored_replicas_draw_different_dropout_masks():
    result = _run(["-c", _DROPOUT_MASKS])
    assert result.returncode == 0, result.stderr[-3000:]
    kept_first, kept_second, agreement = map(float, result.stdout.split())
    assert abs(kept_first - 0.7) < 0.02 and abs(kept_second - 0.7) < 0.02
    # Independent masks agree on 0.7^2 + 0.3^2 = 58% of units; shared ones on all.
    assert abs(agreement - 0.58) < 0.03


def test_mirrored_batch_not_divisible_by_replicas_exits_2_naming_it(mnist_npz, tmp_path):
    result = _run(["tests/cpu_replicas.py", "3", f"--workdir={tmp_path}",
                   f"--data_dir={mnist_npz(64)}", "--strategy=mirrored", "--batch_size=16"])
    assert result.returncode == 2
    assert "--batch_size=16" in result.stderr and "3 replicas" in result.stderr


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _start_workers(workdir, data, flags, program=("train.py",)):
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    return [subprocess.Popen(
        [sys.executable, *program, f"--workdir={workdir}", data, "--strategy=multi_worker",
         *flags], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=_environment(TF_CONFIG=json.dumps({"cluster": cluster,
                                               "task": {"type": "worker", "index": index}})))
        for index in range(2)]


def _finish(workers, timeout=300):
    """Each worker's (exit status, stderr); a worker still running after `timeout`
    seconds is killed and reported as None."""
    results = []
    try:
        for worker in workers:
            try:
                results.append((worker.wait(timeout=timeout), worker.communicate()[1]))
            except subprocess.TimeoutExpired:
                worker.kill()
                results.append((None, worker.communicate()[1]))
    finally:
        for worker in workers:
            worker.kill()
    return results


def _run_workers(workdir, data, max_steps, program=("train.py",)):
    results = _finish(_start_workers(workdir, data, (f"--max_steps={max_steps}", *FLAGS),
                                     program))
    assert [status for status, _ in results] == [0, 0], "\n".join(
        f"worker {index}:\n{stderr[-2000:]}" for index, (_, stderr) in enumerate(results))
    return [stderr for _, stderr in results]


def test_multi_worker_two_processes_train_checkpoint_and_resume(mnist_npz, tmp_path):
    data = f"--data_dir={mnist_npz(64)}"
    workdir = str(tmp_path / "run")
    # The other worker checks the workdir before the chief starts writing it,
    # however slowly the chief writes.
    chief, worker = _run_workers(workdir, data, max_steps=2,
                                 program=("tests/slow_chief.py", "3"))
    assert "multi_worker, 2 replicas" in chief
    assert "generator to" in chief and "the chief wrote the run" in worker
    assert _steps(workdir) == [1, 2]
    assert os.path.isfile(os.path.join(workdir, "checkpoints", "ckpt-2.index"))
    chief, worker = _run_workers(workdir, data, max_steps=3)
    assert all("Resumed from" in log and "at step 2" in log for log in (chief, worker))
    assert _steps(workdir) == [1, 2, 3]


def _wait_for_step(workdir, step, workers, timeout=300):
    began = time.monotonic()
    while not (os.path.exists(os.path.join(workdir, "losses.csv")) and _steps(workdir)
               and _steps(workdir)[-1] >= step):
        assert all(worker.poll() is None for worker in workers), _finish(workers)
        assert time.monotonic() - began < timeout, f"no step {step} in {timeout} s"
        time.sleep(0.2)


def test_multi_worker_signal_stops_every_worker_and_a_killed_worker_stops_the_other(mnist_npz,
                                                                                    tmp_path):
    data = f"--data_dir={mnist_npz(160)}"  # 10 steps an epoch at batch 16.
    workdir = str(tmp_path / "run")
    flags = ("--epochs=100", *FLAGS[:-1])
    workers = _start_workers(workdir, data, flags)
    _wait_for_step(workdir, 3, workers)
    workers[1].send_signal(signal.SIGTERM)  # Not the chief, which writes the run.
    (chief_status, chief), (status, worker) = _finish(workers)
    assert (chief_status, status) == (143, 143), chief[-2000:] + worker[-2000:]
    assert "stopped by SIGTERM sent to another worker at step" in chief
    assert "stopped by SIGTERM at step" in worker
    assert "Traceback" not in chief + worker
    stopped = _steps(workdir)[-1]
    assert f"at step {stopped};" in chief and f"at step {stopped};" in worker
    assert os.path.isfile(os.path.join(workdir, "checkpoints", f"ckpt-{stopped}.index"))

    # Resumed, then one worker is killed: the other stops within a bounded time,
    # with one message and no traceback, and leaves the checkpoints as they were.
    workers = _start_workers(workdir, data, flags)
    _wait_for_step(workdir, stopped + 3, workers)
    workers[1].kill()
    began = time.monotonic()
    (chief_status, chief), _ = _finish(workers, timeout=120)
    assert chief_status == 5, chief[-3000:]
    assert time.monotonic() - began < 120
    assert "another worker of this multi-worker run" in chief
    newest = max(int(name[5:-6]) for name in os.listdir(os.path.join(workdir, "checkpoints"))
                 if name.startswith("ckpt-") and name.endswith(".index"))
    assert f"checkpoints/ckpt-{newest}, is intact" in chief
    assert "Traceback" not in chief
    assert os.path.isfile(os.path.join(workdir, "checkpoints", f"ckpt-{stopped}.index"))


@pytest.mark.parametrize("value, named", [
    ("", "needs the TF_CONFIG environment variable"),
    ("{not json", "not a valid cluster description"),
    ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 1}}',
     "task worker 1 is not in its cluster"),
])
def test_read_tf_config_bad_values_raise_input_error(monkeypatch, value, named):
    monkeypatch.setenv("TF_CONFIG", value)
    with pytest.raises(InputError, match=named):
        distribute.read_tf_config()


def test_multi_worker_overwrite_is_refused_before_anything_is_touched(tmp_path):
    (tmp_path / "keep.txt").write_text("a file of the run")
    with pytest.raises(InputError, match="--overwrite is not supported"):
        training.train(config.Config(workdir=str(tmp_path), strategy="multi_worker"),
                       overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


# One good step, then a NaN batch, under a real strategy: the bad step must be
# reported and change no weight, optimizer slot, BatchNorm statistic or average.
_GUARD = r'''
import sys
import numpy as np
import tensorflow as tf
tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0], [tf.config.LogicalDeviceConfiguration()] * 2)
from dcgan_tf import config, distribute, loop
from dcgan_tf.state import TrainState

kind, jit = sys.argv[1], sys.argv[2] == "xla"
strategy = (tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]) if kind == "mirrored"
            else tf.distribute.MultiWorkerMirroredStrategy())
cfg = config.Config(image_size=28, channels=1, noise_dim=8, batch_size=8, ema_decay=0.9,
                    jit_compile=jit)
state = TrainState.create(cfg, strategy=strategy)
train_steps = loop.build_train_steps(cfg, state, strategy)

def batches(scale):
    images = tf.random.stateless_uniform([8, 28, 28, 1], seed=[1, 2], minval=-1, maxval=1)
    return iter(distribute.distribute(strategy, tf.data.Dataset.from_tensors(images * scale)))

def replica_values(variable):
    return [np.array(v) for v in strategy.experimental_local_results(variable.value)]

good = train_steps(batches(1.0), tf.constant(1))
assert bool(good["finite"][0]), good
models = (state.generator, state.discriminator, state.ema_generator)
watched = [v for v in [w for m in models for w in m.variables]
           + state.generator_optimizer.variables + state.discriminator_optimizer.variables
           if "float" in v.dtype]
before = [replica_values(v) for v in watched]
bad = train_steps(batches(np.nan), tf.constant(1))
assert not bool(bad["finite"][0]), bad
changed = [v.path for v, old in zip(watched, before)
           if any(not np.array_equal(a, b) for a, b in zip(replica_values(v), old))]
assert not changed, changed
print(f"unchanged: {len(watched)} variables on {strategy.num_replicas_in_sync} replicas")
'''


@pytest.mark.parametrize("kind", ["mirrored", "multi_worker"])
def test_non_finite_step_changes_nothing_under_a_strategy(kind):
    result = _run(["-c", _GUARD, kind, "plain"], PYTHONPATH=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    replicas = 2 if kind == "mirrored" else 1
    assert f"on {replicas} replicas" in result.stdout
