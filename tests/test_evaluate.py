"""Tests for dcgan_tf.evaluation and the evaluate.py entry point."""

import concurrent.futures
import dataclasses
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from dcgan_tf import classifiers, config, evaluation, export, models, tool_settings
from dcgan_tf.errors import InputError

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
NUM = 200  # Generated images per CLI run: enough for every metric, fast on CPU.
# Each evaluate.py run spends ~5 s of CPU importing TensorFlow, one core's worth:
# running one per core, each single-threaded, keeps the module fast.
PARALLEL_RUNS = max(1, min(4, os.cpu_count() or 1))
SINGLE_THREADED = {"OMP_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1",
                   "TF_NUM_INTEROP_THREADS": "1"}


@pytest.fixture(scope="module")
def reference():
    return evaluation.load_reference("mnist", num_samples=500)


def test_load_reference_floor_uses_training_images_at_the_requested_count(reference):
    floor = reference.floor

    assert reference.features.shape == (2000, classifiers.FEATURE_DIM)
    assert (floor.frechet.num_samples, floor.frechet.num_reference) == (500, 2000)
    assert floor.kernel.subset_size == 500
    assert floor.coverage.classes_covered == 10
    assert floor.precision_recall.precision > 0.8
    assert "500 random images" in reference.floor_source


def test_evaluate_images_real_images_score_near_floor_and_noise_far_from_it(reference):
    train, _ = classifiers.load_splits("mnist")
    real = train.images[np.random.default_rng(1).choice(len(train.images), 500, replace=False)]
    noise = np.random.default_rng(2).uniform(-1, 1, (500, 28, 28, 1)).astype(np.float32)

    real_report = evaluation.evaluate_images(real, reference)
    noise_report = evaluation.evaluate_images(noise, reference)

    floor = reference.floor.frechet.value
    assert real_report.frechet.value < 2 * floor
    assert noise_report.frechet.value > 20 * floor
    assert real_report.precision_recall.recall > 0.8
    assert noise_report.precision_recall.recall < 0.05
    # Not precision: noise excites few features and lands near the centre of the
    # real features, inside many real images' balls (docs/metrics.md).
    assert noise_report.coverage.classes_covered <= 2
    assert real_report.coverage.classes_covered == 10


@pytest.mark.parametrize("images, message", [
    (np.zeros((20, 32, 32, 3), np.float32), "28x28x1"),
    (np.full((20, 28, 28, 1), np.nan, np.float32), "diverged"),
    (np.zeros((5, 28, 28, 1), np.float32), "at least 10"),
])
def test_evaluate_images_bad_images_raise_input_error(reference, images, message):
    with pytest.raises(InputError, match=message):
        evaluation.evaluate_images(images, reference)


def test_format_table_shows_value_floor_and_counts_per_metric(reference):
    unconditional = dataclasses.replace(reference.floor, consistency=None)
    table = evaluation.format_table(unconditional, reference.floor)
    with_classes = evaluation.format_table(reference.floor, reference.floor).splitlines()

    lines = table.splitlines()
    assert lines[0].split()[:3] == ["metric", "generated", "real"]
    assert len(lines) == 2 + 6  # Header, rule, six metrics.
    # A conditional generator adds consistency overall and per class, beside the real
    # test images' (the classifier's accuracy).
    assert len(with_classes) == 2 + 6 + 1 + 10
    assert f"{reference.floor.consistency.accuracy:.4f}" in with_classes[8]
    assert f"{reference.floor.frechet.value:.3f}" in lines[2]
    assert "500 vs 2000 (500 vs 2000)" in lines[2]
    # A folder's classes are named by its subfolders; without names, numbered.
    assert with_classes[9].split()[:2] == ["class", "0"]
    named = evaluation.format_table(reference.floor, reference.floor,
                                    [f"kind_{k}" for k in range(10)]).splitlines()
    assert named[9].split()[0] == "kind_0" and named[-1].split()[0] == "kind_9"


@pytest.mark.parametrize("settings, message", [
    (dict(num=9), "--num must be at least 10"),
    (dict(dataset="cifar10"), "no feature network"),
    (dict(batch_size=0), "--batch_size"),
])
def test_eval_config_bad_settings_raise_input_error(settings, message):
    with pytest.raises(InputError, match=message):
        tool_settings.EvalConfig(model="runs/x/generator", **settings)


def test_run_of_a_dataset_without_feature_network_raises_input_error(tmp_path):
    model = _export(tmp_path / "run", 32, 3, dataset="cifar10")

    with pytest.raises(InputError, match="cifar10: no feature network"):
        evaluation.run(tool_settings.EvalConfig(model=model, num=20))
    assert not (tmp_path / "run" / "metrics.json").exists()


def test_default_out_is_metrics_json_beside_the_model_folder():
    assert evaluation.default_out("runs/x/generator/") == os.path.abspath(
        "runs/x/metrics.json")


# --- evaluate.py -------------------------------------------------------------------------


def _export(run_dir, image_size, channels, dataset=None):
    """An untrained generator exported to <run_dir>/generator, with a config.json."""
    run_dir.mkdir(parents=True)
    generator = models.build_generator(
        config.Config(image_size=image_size, channels=channels, noise_dim=8))
    export.export_model(generator, str(run_dir / "generator"))
    if dataset:
        (run_dir / "config.json").write_text(json.dumps({"dataset": dataset}))
    return str(run_dir / "generator")


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    """Runs evaluate.py once per case; returns (tmp folder, {case: CompletedProcess})."""
    tmp_path = tmp_path_factory.mktemp("evaluate")
    mnist_model = _export(tmp_path / "run", 28, 1, dataset="mnist")
    anonymous_model = _export(tmp_path / "anonymous", 28, 1)
    rgb_model = _export(tmp_path / "rgb", 32, 3, dataset="mnist")
    cases = {
        "default_out": [f"--model={mnist_model}", f"--num={NUM}"],
        "missing_model": [f"--model={tmp_path}/nowhere", f"--num={NUM}"],
        "rgb_generator": [f"--model={rgb_model}", f"--num={NUM}"],
        "no_dataset": [f"--model={anonymous_model}", f"--num={NUM}"],
        "cifar10": [f"--model={mnist_model}", "--dataset=cifar10", f"--num={NUM}"],
    }

    def run(args):
        return subprocess.run([sys.executable, "evaluate.py", *args], cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=300,
                              env={**os.environ, **SINGLE_THREADED})

    with concurrent.futures.ThreadPoolExecutor(PARALLEL_RUNS) as pool:
        results = dict(zip(cases, pool.map(run, cases.values())))
    return tmp_path, results


def test_cli_writes_metrics_json_beside_model_and_prints_table(cli):
    tmp_path, results = cli
    result = results["default_out"]
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Fréchet distance" in result.stdout and "real vs real" in result.stdout
    record = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert record["dataset"] == "mnist"  # Read from the run's config.json.
    generated, floor = record["generated"], record["real_vs_real_floor"]
    assert generated["frechet"]["num_samples"] == floor["frechet"]["num_samples"] == NUM
    assert generated["frechet"]["num_reference"] == 2000
    # An untrained generator is far worse than real images.
    assert generated["frechet"]["value"] > 10 * floor["frechet"]["value"]
    assert "8,000" in record["feature_net"]["limitation"]


@pytest.mark.parametrize("case, named", [
    ("missing_model", "nowhere"),
    ("rgb_generator", "32x32x3"),
    ("no_dataset", "--dataset"),
    ("cifar10", "no feature network"),
])
def test_cli_bad_input_exits_2_naming_it_without_traceback(cli, case, named):
    tmp_path, results = cli
    result = results[case]
    assert result.returncode == 2, result.stderr[-3000:]
    assert named in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "rgb" / "metrics.json").exists()
