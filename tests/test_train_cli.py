"""`python train.py` end to end, as a user runs it, on the bundled MNIST sample."""

import json
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from dcgan_tf import config, export, models, training
from dcgan_tf.state import TrainState

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(*args, env=None):
    return subprocess.run([sys.executable, "train.py", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=300, env=env)


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    """Three steps of the default command on the bundled sample, offline."""
    root = tmp_path_factory.mktemp("cli")
    env = {**os.environ, "KERAS_HOME": str(root / "keras_home")}  # No cached download.
    workdir = root / "run with spaces é"
    process = _run("--dataset=mnist", f"--workdir={workdir}", "--nodownload",
                   "--max_steps=3", "--batch_size=64", "--seed=7", env=env)
    return process, workdir


def test_train_cli_smoke_run_exits_zero_and_logs_seed_data_device_workdir(smoke_run):
    process, workdir = smoke_run
    assert process.returncode == 0, process.stderr[-3000:]
    log = process.stderr
    assert "Seed 7" in log
    assert "10000 images 28x28x1" in log
    assert re.search(r"Device: \S+", log)
    assert str(workdir) in log
    assert "bundled" in log and "60,000" in log  # The offline-sample warning.
    assert "Epoch 1/50" in log  # The progress bar.


def test_train_cli_smoke_run_leaves_every_artifact(smoke_run):
    _, workdir = smoke_run
    for name in ("config.json", "progress.gif", "losses.csv", "losses.png",
                 "samples/epoch_0001.png", "generator/saved_model.pb"):
        assert (workdir / name).is_file(), name
    assert tf.train.latest_checkpoint(str(workdir / "checkpoints")).endswith("ckpt-3")
    assert os.listdir(workdir / "tensorboard")
    saved = json.loads((workdir / "config.json").read_text())
    assert (saved["seed"], saved["max_steps"], saved["batch_size"]) == (7, 3, 64)


def test_train_cli_saved_model_reloads_without_dcgan_tf_and_matches_generator(smoke_run,
                                                                              tmp_path):
    _, workdir = smoke_run
    noise = np.random.default_rng(0).normal(size=(5, 100)).astype(np.float32)
    np.save(tmp_path / "noise.npy", noise)
    # A fresh interpreter that never imports dcgan_tf, as a user's serving code would.
    script = textwrap.dedent(f"""
        import sys, numpy as np, tensorflow as tf
        model = tf.saved_model.load({str(workdir / 'generator')!r})
        noise = np.load({str(tmp_path / 'noise.npy')!r})
        np.save({str(tmp_path / 'served.npy')!r}, model.serve(noise).numpy())
        one = model.serve(noise[:1])
        assert one.shape == (1, 28, 28, 1) and one.dtype == tf.float32, one.shape
        assert 'dcgan_tf' not in sys.modules
    """)
    process = subprocess.run([sys.executable, "-c", script], cwd=tmp_path,
                             capture_output=True, text=True, timeout=120)
    assert process.returncode == 0, process.stderr[-3000:]
    served = np.load(tmp_path / "served.npy")

    saved = config.Config.from_json((workdir / "config.json").read_text())
    state = TrainState.create(saved)
    state.restore(tf.train.latest_checkpoint(str(workdir / "checkpoints"))).expect_partial()
    # The average, computed in float32 as the export does (train.py may train in bfloat16).
    plain = training.exportable(saved, state.sampling_generator, models.build_generator)
    expected = plain(noise, training=False).numpy()
    assert served.shape == (5, 28, 28, 1)
    assert served.min() >= -1 and served.max() <= 1
    np.testing.assert_allclose(served, expected, atol=1e-5)


def test_train_cli_ships_litert_and_onnx_that_run_without_tensorflow_or_dcgan_tf(smoke_run,
                                                                                 tmp_path):
    process, workdir = smoke_run
    formats = export.installed_formats()
    assert "generator.tflite" in process.stderr and (
        "onnx" not in formats or "generator.onnx" in process.stderr)
    noise = np.random.default_rng(0).normal(size=(3, 100)).astype(np.float32)
    np.save(tmp_path / "noise.npy", noise)
    reference = tf.saved_model.load(str(workdir / "generator"))
    expected = reference.serve(noise).numpy()
    if "onnx" in formats:  # What a service without TensorFlow runs.
        script = textwrap.dedent(f"""
            import sys, numpy as np, onnxruntime
            session = onnxruntime.InferenceSession({str(workdir / 'generator.onnx')!r})
            noise = np.load({str(tmp_path / 'noise.npy')!r})
            np.save({str(tmp_path / 'onnx.npy')!r}, session.run(None, {{"noise": noise}})[0])
            assert 'tensorflow' not in sys.modules and 'dcgan_tf' not in sys.modules
        """)
        result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr[-3000:]
        assert np.abs(np.load(tmp_path / "onnx.npy") - expected).max() <= 1e-4
    interpreter = tf.lite.Interpreter(model_path=str(workdir / "generator.tflite"))
    interpreter.resize_tensor_input(interpreter.get_input_details()[0]["index"], [3, 100])
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], noise)
    interpreter.invoke()
    served = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    assert np.abs(served - expected).max() <= 1e-4


@pytest.mark.parametrize("flag, named", [
    ("--dataset=imagenet", "dataset"),
    ("--image_size=48", "image_size"),
    ("--batch_size=0", "batch_size"),
    ("--upsample=bilinear", "upsample"),
    ("--epochs=many", "epochs"),
    ("--loss=wasserstein", "loss"),
    ("--label_smoothing=0.7", "label_smoothing"),
])
def test_train_cli_bad_flag_exits_2_naming_it_without_traceback(flag, named, tmp_path):
    process = _run(flag, f"--workdir={tmp_path / 'run'}", "--nodownload")
    assert process.returncode == 2
    assert named in process.stderr
    assert "Traceback" not in process.stderr
    assert not (tmp_path / "run").exists()


def test_train_cli_quality_flags_reach_the_run_and_eval_every_writes_metrics(mnist_npz,
                                                                             tmp_path):
    workdir = tmp_path / "run"
    process = _run(f"--data_dir={mnist_npz(64)}", f"--workdir={workdir}", "--nodownload",
                   "--batch_size=32", "--epochs=1", "--noise_dim=8", "--loss=hinge",
                   "--ema_decay=0.9", "--eval_every=1", "--eval_samples=10")
    assert process.returncode == 0, process.stderr[-3000:]
    saved = json.loads((workdir / "config.json").read_text())
    assert (saved["loss"], saved["label_smoothing"], saved["ema_decay"], saved["eval_every"],
            saved["eval_samples"]) == ("hinge", 0.0, 0.9, 1, 10)
    rows = (workdir / "metrics.csv").read_text().splitlines()
    assert rows[0].startswith("epoch,step,frechet") and rows[1].startswith("1,2,")
    assert "averaged (EMA) generator" in process.stderr


def test_train_cli_eval_every_on_dataset_without_feature_network_exits_2(tmp_path):
    process = _run("--dataset=cifar10", f"--data_dir={tmp_path}", "--eval_every=1",
                   f"--workdir={tmp_path / 'run'}", "--nodownload")
    assert process.returncode == 2
    assert "--eval_every" in process.stderr and "Traceback" not in process.stderr
    assert not (tmp_path / "run").exists()
