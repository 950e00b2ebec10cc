"""Tests for dcgan_tf.sampling and the generate.py entry point."""

import concurrent.futures
import logging
import os
import pathlib
import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest
import tensorflow as tf

from dcgan_tf import config, export, models, sampling, tool_settings, visualize
from dcgan_tf.errors import InputError

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
NOISE_DIM = 8
IMAGE_SHAPE = (28, 28, 1)
# Each generate.py run spends ~5 s of CPU importing TensorFlow, one core's worth:
# running one per core, each single-threaded, keeps the module fast.
PARALLEL_RUNS = max(1, min(4, os.cpu_count() or 1))
SINGLE_THREADED = {"OMP_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1",
                   "TF_NUM_INTEROP_THREADS": "1"}


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    """An untrained 28x28x1 generator, exported once for the whole module."""
    path = tmp_path_factory.mktemp("model") / "generator"
    generator = models.build_generator(
        config.Config(image_size=28, channels=1, noise_dim=NOISE_DIM))
    export.export_model(generator, str(path))
    return str(path)


@pytest.fixture(scope="module")
def loaded(model_path):
    return export.load_generator(model_path)


def test_export_keeps_tensorflow_info_logs_out_and_the_level_as_it_was(tmp_path, caplog):
    # As in a notebook, where TensorFlow logs at INFO: the export would name its
    # temporary folder ("Assets written to: .../generator.partial/assets").
    tf_logger = logging.getLogger("tensorflow")
    level = tf_logger.level
    tf_logger.setLevel(logging.INFO)
    try:
        generator = models.build_generator(config.Config(image_size=28, channels=1, noise_dim=4))
        with caplog.at_level(logging.INFO):
            export.export_model(generator, str(tmp_path / "generator"))
        assert tf_logger.level == logging.INFO
    finally:
        tf_logger.setLevel(level)
    assert not [record.getMessage() for record in caplog.records
                if record.name == "tensorflow" and record.levelno < logging.WARNING]
    assert (tmp_path / "generator" / "saved_model.pb").exists()


def test_sample_returns_float32_images_in_tanh_range(loaded):
    images = sampling.sample(loaded, num=6, seed=0)
    assert images.shape == (6, *IMAGE_SHAPE)
    assert images.dtype == np.float32
    assert images.min() >= -1 and images.max() <= 1
    assert images.std() > 0  # Not a constant array.


def test_sample_same_seed_repeats_and_other_seed_differs(loaded):
    first = sampling.sample(loaded, num=4, seed=7)
    np.testing.assert_array_equal(sampling.sample(loaded, num=4, seed=7), first)
    assert np.abs(sampling.sample(loaded, num=4, seed=8) - first).max() > 1e-3


def test_sample_in_chunks_equals_one_batch(loaded):
    whole = sampling.sample(loaded, num=5, seed=1, batch_size=256)
    chunked = sampling.sample(loaded, num=5, seed=1, batch_size=2)
    np.testing.assert_allclose(chunked, whole, atol=1e-5)


def test_sample_first_images_do_not_depend_on_num(loaded):
    np.testing.assert_allclose(sampling.sample(loaded, num=3, seed=2),
                               sampling.sample(loaded, num=5, seed=2)[:3], atol=1e-5)


def test_generate_images_keeps_leading_noise_shape(loaded):
    noise = sampling.sample_noise(NOISE_DIM, 6, seed=0).reshape(2, 3, NOISE_DIM)
    images = sampling.generate_images(loaded, noise, batch_size=4)
    assert images.shape == (2, 3, *IMAGE_SHAPE)
    np.testing.assert_allclose(images[1, 0], loaded.serve(noise[1:2, 0]).numpy()[0], atol=1e-5)


def test_slerp_endpoints_equal_inputs():
    a, b = np.random.default_rng(0).standard_normal((2, 3, 16))
    np.testing.assert_allclose(sampling.slerp(a, b, 0.0), a, atol=1e-6)
    np.testing.assert_allclose(sampling.slerp(a, b, 1.0), b, atol=1e-6)


def test_slerp_preserves_norm_of_equal_norm_inputs_unlike_lerp():
    a, b = np.random.default_rng(0).standard_normal((2, 64))
    a, b = 5 * a / np.linalg.norm(a), 5 * b / np.linalg.norm(b)
    t = np.linspace(0, 1, 11)[:, np.newaxis]
    norms = np.linalg.norm(sampling.slerp(a, b, t), axis=-1)
    np.testing.assert_allclose(norms, 5.0, rtol=1e-5)
    assert np.linalg.norm((a + b) / 2) < 4.5  # The straight line would cut inside.


def test_slerp_of_parallel_vectors_is_linear():
    a = np.array([1.0, 2.0, 2.0])
    np.testing.assert_allclose(sampling.slerp(a, 3 * a, 0.5), 2 * a, atol=1e-6)


def test_latent_walk_is_a_closed_loop_through_its_points():
    points, steps, num = 3, 4, 2
    walk = sampling.latent_walk(NOISE_DIM, num, points=points, steps=steps, seed=5)
    assert walk.shape == (points * steps, num, NOISE_DIM)
    assert walk.dtype == np.float32
    keypoints = walk[::steps]
    # The last leg heads back to the first point, one step short of it.
    np.testing.assert_allclose(
        walk[-1], sampling.slerp(keypoints[-1], keypoints[0], (steps - 1) / steps), atol=1e-5)
    assert np.abs(walk[-1] - walk[0]).max() > 1e-3  # No repeated frame at the seam.
    np.testing.assert_array_equal(walk[0], sampling.sample_noise(NOISE_DIM, num, seed=5))


def test_latent_walk_stays_near_the_noise_sphere():
    noise_dim = 100
    walk = sampling.latent_walk(noise_dim, num=8, points=4, steps=8, seed=0)
    norms = np.linalg.norm(walk, axis=-1)
    points_norms = norms[::8]  # [points, num]
    # Each leg stays (nearly) above its shorter end, where a straight line between
    # near-orthogonal points would dip to ~0.7 of it halfway.
    leg_floor = np.minimum(points_norms, np.roll(points_norms, -1, axis=0))
    assert (norms.reshape(4, 8, 8) >= 0.95 * leg_floor[:, np.newaxis]).all()


def test_write_samples_rejects_unknown_extension(tmp_path):
    with pytest.raises(InputError, match="grid.jpg"):
        sampling.write_samples(str(tmp_path / "grid.jpg"), np.zeros((1, *IMAGE_SHAPE)))
    assert not os.listdir(tmp_path)


def test_run_returns_the_walk_it_writes(model_path, loaded, tmp_path):
    out = tmp_path / "deep" / "walk.gif"
    frames = sampling.run(tool_settings.SamplingConfig(
        model=model_path, out=str(out), num=2, interpolate=True, points=2, steps=2, seed=4))
    assert frames.shape == (4, 2, *IMAGE_SHAPE)
    # Frame 0 shows the images `sample` gives for the same seed and num.
    np.testing.assert_allclose(frames[0], sampling.sample(loaded, 2, seed=4), atol=1e-5)
    assert out.is_file()


def test_run_refuses_out_that_is_a_folder(model_path, tmp_path):
    (tmp_path / "grid.png").mkdir()
    with pytest.raises(InputError, match="is a folder"):
        sampling.run(tool_settings.SamplingConfig(model=model_path, out=str(tmp_path / "grid.png")))


@pytest.mark.parametrize("overrides, flag", [
    (dict(model=""), "--model"),
    (dict(num=0), "--num"),
    (dict(num=10**6), "more than 200,000 images"),
    (dict(batch_size=0), "--batch_size"),
    (dict(points=1, interpolate=True, out="walk.gif"), "--points"),
    (dict(seed=-1), "--seed"),
    (dict(out="grid.jpg"), "--out=grid.jpg"),
    (dict(out="grid.gif"), "--out=grid.gif"),
    (dict(out="walk.png", interpolate=True), "--out=walk.png"),
])
def test_sampling_config_rejects_bad_value_naming_its_flag(overrides, flag):
    settings = {"model": "runs/mnist/generator", "out": "grid.png", **overrides}
    with pytest.raises(InputError, match=flag):
        tool_settings.SamplingConfig(**settings)


# --- generate.py end to end: every run starts together, each test reads its result.

def _wrong_signature_model(path):
    """A SavedModel with a 'serve' endpoint that returns vectors, not images."""
    module = tf.Module()
    module.serve = tf.function(lambda noise: 2 * noise,
                               input_signature=[tf.TensorSpec([None, NOISE_DIM], tf.float32)])
    tf.saved_model.save(module, str(path), signatures={"serve": module.serve})
    return str(path)


def _cli_cases(model_path, tmp_path):
    (tmp_path / "garbage").mkdir()
    (tmp_path / "garbage" / "saved_model.pb").write_bytes(b"not a protobuf")
    wrong_model = _wrong_signature_model(tmp_path / "vectors")
    out = tmp_path / "out"
    return {
        "png": [f"--model={model_path}", "--num=5", f"--out={out}/nested/grid.png"],
        "npy": [f"--model={model_path}", "--num=5", "--seed=3", "--batch_size=2",
                f"--out={out}/samples.npy"],
        "gif": [f"--model={model_path}", "--interpolate", "--num=4", "--points=3",
                "--steps=2", f"--out={out}/walk.gif"],
        "missing_model": [f"--out={out}/missing_model.png"],
        "model_not_found": [f"--model={tmp_path}/nowhere", f"--out={out}/a.png"],
        "not_a_saved_model": [f"--model={tmp_path}/garbage", f"--out={out}/b.png"],
        "wrong_signature": [f"--model={wrong_model}", f"--out={out}/c.png"],
        "bad_extension": [f"--model={model_path}", f"--out={out}/grid.jpg"],
        "interpolate_to_png": [f"--model={model_path}", "--interpolate",
                               f"--out={out}/walk.png"],
        "num_below_one": [f"--model={model_path}", "--num=0", f"--out={out}/d.png"],
    }


@pytest.fixture(scope="module")
def cli(model_path, tmp_path_factory):
    """Runs generate.py once per case; returns (output folder, {case: CompletedProcess})."""
    tmp_path = tmp_path_factory.mktemp("cli")
    cases = _cli_cases(model_path, tmp_path)

    def run(args):
        return subprocess.run([sys.executable, "generate.py", *args], cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=120,
                              env={**os.environ, **SINGLE_THREADED})

    with concurrent.futures.ThreadPoolExecutor(PARALLEL_RUNS) as pool:
        results = dict(zip(cases, pool.map(run, cases.values())))
    return tmp_path / "out", results


def _assert_succeeded(result):
    assert result.returncode == 0, result.stderr


def test_cli_writes_png_grid_of_seeded_samples(cli, loaded):
    out, results = cli
    _assert_succeeded(results["png"])
    assert "Seed 0" in results["png"].stderr
    grid = visualize.read_png(str(out / "nested" / "grid.png"))
    expected = visualize.image_grid(sampling.sample(loaded, num=5, seed=0))
    assert grid.shape == expected.shape
    assert np.abs(grid.astype(int) - expected).max() <= 1  # Rounding may differ by one.


def test_cli_writes_npy_of_uint8_images_in_chunks(cli, loaded):
    out, results = cli
    _assert_succeeded(results["npy"])
    assert "3/3" in results["npy"].stderr  # The progress bar over 3 chunks of 2.
    images = np.load(out / "samples.npy")
    assert images.dtype == np.uint8
    assert images.shape == (5, *IMAGE_SHAPE)
    expected = visualize.to_uint8(sampling.sample(loaded, num=5, seed=3))
    assert np.abs(images.astype(int) - expected).max() <= 1


def test_cli_interpolate_writes_gif_with_points_times_steps_frames(cli):
    out, results = cli
    _assert_succeeded(results["gif"])
    frames = iio.imread(out / "walk.gif", index=None)
    assert frames.shape[0] == 3 * 2


@pytest.mark.parametrize("case, named, out_name", [
    ("missing_model", "--model", "missing_model.png"),
    ("model_not_found", "nowhere", "a.png"),
    ("not_a_saved_model", "garbage", "b.png"),
    ("wrong_signature", "vectors", "c.png"),
    ("bad_extension", "grid.jpg", "grid.jpg"),
    ("interpolate_to_png", "walk.png", "walk.png"),
    ("num_below_one", "--num", "d.png"),
])
def test_cli_bad_input_exits_2_naming_it_without_traceback(cli, case, named, out_name):
    out, results = cli
    result = results[case]
    assert result.returncode == 2, result.stderr
    assert named in result.stderr
    assert "Traceback" not in result.stderr
    assert not (out / out_name).exists()
