"""Class-conditional generation: labels per source, the networks, a run end to end,
the export without the package, sampling by class, and the class-consistency
measure."""

import dataclasses
import json
import os
import pickle
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from conftest import read_log, small_config
from PIL import Image

from dcgan_tf import (conditioning, config, data, evaluation, export, loop, models, run_dir,
                      sampling, training, visualize)
from dcgan_tf.errors import InputError
from dcgan_tf.readers import DataError
from dcgan_tf.tool_settings import SamplingConfig


@pytest.fixture(scope="module")
def bundled():
    """The bundled MNIST sample with its labels."""
    return data.read_local_copy(data.BUNDLED_MNIST_DIR, labelled=True)


@pytest.fixture(scope="module")
def labelled_npz(tmp_path_factory, bundled):
    """96 real digits with y_train: 3 steps per epoch at batch 32."""
    path = tmp_path_factory.mktemp("labelled") / "mnist_96.npz"
    np.savez(path, x_train=bundled.images[:96, ..., 0], y_train=bundled.labels[:96])
    return str(path)


# --- labels from every source ------------------------------------------------------------


def test_bundled_mnist_labels_match_its_images(bundled):
    assert bundled.labels.shape == (10000,) and bundled.labels.dtype == np.int32
    # The test split's first digits, as every MNIST tutorial shows them.
    assert bundled.labels[:5].tolist() == [7, 2, 1, 0, 4]
    assert sorted(np.unique(bundled.labels)) == list(range(10))


def test_load_images_reads_labels_only_when_conditional(labelled_npz):
    plain = data.load_images(data.resolve(config.Config(data_dir=labelled_npz,
                                                        download=False)))
    labelled = data.load_images(data.resolve(config.Config(
        data_dir=labelled_npz, download=False, conditional=True)))

    assert plain.labels is None
    assert labelled.labels.tolist() == np.load(labelled_npz)["y_train"].tolist()
    np.testing.assert_array_equal(plain.images, labelled.images)


def test_npz_without_labels_is_refused_naming_it(tmp_path, bundled):
    path = tmp_path / "images_only.npz"
    np.savez(path, x_train=bundled.images[:40, ..., 0])

    with pytest.raises(DataError, match="y_train"):
        data.read_local_copy(str(path), labelled=True)


def test_idx_images_without_their_labels_file_are_refused(tmp_path, write_idx_images):
    images = write_idx_images(tmp_path / "train-images-idx3-ubyte.gz",
                              np.zeros((4, 28, 28), np.uint8))

    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz.*missing"):
        data.read_local_copy(str(images), labelled=True)


def test_cifar_batches_give_their_labels_in_order(tmp_path):
    for number, labels in ((1, [3, 1]), (2, [9])):
        with open(tmp_path / f"data_batch_{number}", "wb") as f:
            pickle.dump({b"data": np.zeros((len(labels), 3072), np.uint8),
                         b"labels": labels}, f)

    loaded = data.read_local_copy(str(tmp_path), labelled=True)

    assert loaded.labels.tolist() == [3, 1, 9]


def _photo(path, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((8, 8, 3), value, np.uint8)).save(path)


def test_folder_classes_are_its_subfolders(tmp_path):
    for name, value in (("cats/a.png", 10), ("cats/deep/b.png", 20), ("dogs/c.png", 30)):
        _photo(tmp_path / name, value)
    cfg = data.resolve(config.Config(dataset="folder", data_dir=str(tmp_path),
                                     conditional=True, image_size=32, batch_size=1))

    loaded = data.load_images(cfg)

    assert cfg.num_classes == 2
    assert loaded.class_names == ("cats", "dogs")
    assert loaded.labels.tolist() == [0, 0, 1]


def test_folder_with_loose_images_is_refused_naming_one(tmp_path):
    for name in ("cats/a.png", "dogs/b.png", "stray.png"):
        _photo(tmp_path / name, 0)
    cfg = data.resolve(config.Config(dataset="folder", data_dir=str(tmp_path),
                                     conditional=True, image_size=32, batch_size=1))

    with pytest.raises(DataError, match="stray.png"):
        data.load_images(cfg)


def test_folder_class_without_readable_images_is_refused_naming_it(tmp_path):
    for name in ("cats/a.png", "dogs/b.png"):
        _photo(tmp_path / name, 0)
    (tmp_path / "__MACOSX").mkdir()
    (tmp_path / "__MACOSX" / "._a.png").write_bytes(b"\x00\x05\x16\x07 not a png")
    cfg = data.resolve(config.Config(dataset="folder", data_dir=str(tmp_path),
                                     conditional=True, image_size=32, batch_size=1))

    with pytest.raises(DataError, match="__MACOSX hold no readable image"):
        data.load_images(cfg)


def test_conditional_folder_run_without_its_folder_names_the_folder(tmp_path):
    with pytest.raises(DataError, match="--data_dir=.*absent: no such folder"):
        data.resolve(config.Config(dataset="folder", data_dir=str(tmp_path / "absent"),
                                   conditional=True))


@pytest.mark.parametrize("source", ["folder", "cifar10"])
def test_conditional_colour_runs_train_on_their_labels(tmp_path, source):
    rng = np.random.default_rng(0)
    if source == "folder":
        for k, name in enumerate(("circles", "squares", "stars")):
            for index in range(6):
                _photo(tmp_path / "data" / name / f"{index}.png", 40 * k + 2 * index)
        settings = dict(dataset="folder", image_size=32)
    else:
        (tmp_path / "data").mkdir()
        with open(tmp_path / "data" / "data_batch_1", "wb") as f:
            pickle.dump({b"data": rng.integers(0, 256, (18, 3072), dtype=np.uint8),
                         b"labels": [k % 10 for k in range(18)]}, f)
        settings = dict(dataset="cifar10")
    cfg = small_config(tmp_path / "data", tmp_path / "run", conditional=True, batch_size=6,
                       epochs=1, max_steps=2, **settings)

    result = training.train(cfg)

    assert result.config.num_classes == (3 if source == "folder" else 10)
    loaded = export.load_generator(str(tmp_path / "run" / "generator"))
    assert loaded.num_classes == result.config.num_classes
    assert loaded.image_shape == (32, 32, 3)
    recorded = json.loads((tmp_path / "run" / "data.json").read_text())
    assert recorded.get("class_names") == (["circles", "squares", "stars"]
                                           if source == "folder" else None)


def test_num_classes_without_conditional_is_refused():
    with pytest.raises(InputError, match="--num_classes=3 applies to --conditional"):
        config.Config(num_classes=3)


def test_labels_outside_num_classes_are_refused(labelled_npz):
    cfg = data.resolve(config.Config(data_dir=labelled_npz, download=False, conditional=True,
                                     num_classes=5))

    with pytest.raises(DataError, match="outside the 5 classes"):
        data.load_images(cfg)


# --- the networks ------------------------------------------------------------------------


@pytest.mark.parametrize("architecture", ["tutorial", "dcgan_paper"])
@pytest.mark.parametrize("conditioning_name", ["projection", "concat"])
def test_conditional_networks_take_labels_and_depend_on_them(architecture, conditioning_name):
    cfg = data.resolve(config.Config(conditional=True, conditioning=conditioning_name,
                                     architecture=architecture, noise_dim=8))
    generator, discriminator = models.build_generator(cfg), models.build_discriminator(cfg)
    noise = np.random.default_rng(0).standard_normal((2, 8)).astype(np.float32)
    images = np.random.default_rng(1).uniform(-1, 1, (2, 28, 28, 1)).astype(np.float32)
    # Weights large enough that a label changes the outputs visibly.
    for model in (generator, discriminator):
        model.set_weights([w * 50 if w.ndim > 1 else w for w in model.get_weights()])

    drawn = [generator([noise, np.array([k, k], np.int32)], training=False).numpy()
             for k in (0, 9)]
    scored = [discriminator([images, np.array([k, k], np.int32)], training=False).numpy()
              for k in (0, 9)]

    assert drawn[0].shape == (2, 28, 28, 1) and scored[0].shape == (2, 1)
    assert np.abs(drawn[0] - drawn[1]).max() > 1e-3
    assert np.abs(scored[0] - scored[1]).max() > 1e-3


def test_progress_inputs_share_noise_down_each_column():
    cfg = data.resolve(config.Config(conditional=True, num_examples_to_generate=9))
    noise = np.arange(3 * 100, dtype=np.float32).reshape(3, 100)

    noise_in, labels = conditioning.progress_inputs(cfg, noise)

    assert conditioning.progress_noise_shape(cfg) == [3, 100]
    assert labels.numpy().tolist() == [k for k in range(10) for _ in range(3)]
    np.testing.assert_array_equal(noise_in.numpy()[0], noise_in.numpy()[3])  # Rows 0 and 1.
    assert not np.array_equal(noise_in.numpy()[0], noise_in.numpy()[1])


# --- a run end to end --------------------------------------------------------------------


@pytest.fixture(scope="module")
def conditional_run(tmp_path_factory, labelled_npz):
    workdir = tmp_path_factory.mktemp("conditional") / "run"
    cfg = small_config(labelled_npz, workdir, conditional=True, epochs=1,
                       export_formats="saved_model,litert")
    return training.train(cfg), workdir


def test_run_frames_have_a_row_per_class(conditional_run):
    result, workdir = conditional_run
    frame = visualize.read_png(str(workdir / "samples" / "epoch_0001.png"))
    pair = visualize.read_png(str(workdir / "real_vs_fake.png"))
    # 4 examples per frame: 2 columns per class, 10 rows, each 28 + 2 pixels.
    expected = visualize.image_grid(np.zeros((20, 28, 28, 1)), columns=2).shape

    assert frame.shape == expected
    assert pair.shape[0] >= expected[0]
    assert len(read_log(workdir)) == 3


def test_run_resumes_and_refuses_to_resume_without_conditional(conditional_run,
                                                               labelled_npz):
    result, workdir = conditional_run
    resumed = training.train(dataclasses.replace(result.config, epochs=2))
    assert (resumed.start_step, resumed.step) == (3, 6)

    plain = small_config(labelled_npz, workdir, epochs=3)
    with pytest.raises(InputError, match=r"conditional: True -> False[\s\S]*--conditional=True"):
        training.train(plain)


def test_exported_generator_samples_a_class_without_the_package(conditional_run, tmp_path):
    _, workdir = conditional_run
    script = textwrap.dedent(f"""
        import numpy as np, tensorflow as tf
        loaded = tf.saved_model.load({str(workdir / "generator")!r})
        images = loaded.serve(tf.random.normal([3, 16]), tf.constant([7, 7, 2], tf.int32))
        print(int(loaded.num_classes()), tuple(images.shape),
              float(tf.reduce_min(images)) >= -1, float(tf.reduce_max(images)) <= 1)
        """)
    # Run from an empty folder with a clean path: dcgan_tf cannot be imported.
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True,
                            text=True, timeout=300,
                            env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})

    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["10", "(3,", "28,", "28,", "1)", "True", "True"]


def test_litert_file_draws_the_savedmodels_images_for_each_label(conditional_run):
    _, workdir = conditional_run
    saved = export.load_generator(str(workdir / "generator"))
    litert = export.load_generator(str(workdir / "generator.tflite"))
    noise = sampling.sample_noise(16, 10, seed=3)
    labels = np.arange(10, dtype=np.int32)

    assert (saved.num_classes, litert.num_classes) == (10, 10)  # .tflite: from config.json.
    np.testing.assert_allclose(sampling.generate_images(litert, noise, labels=labels),
                               sampling.generate_images(saved, noise, labels=labels),
                               atol=export.MAX_DIFFERENCE)


def test_generate_draws_one_class_or_a_row_per_class(conditional_run, tmp_path):
    _, workdir = conditional_run
    model = str(workdir / "generator")
    loaded = export.load_generator(model)

    sevens = sampling.run(SamplingConfig(model=model, out=str(tmp_path / "7.npy"), num=3,
                                         label=7))
    rows = sampling.run(SamplingConfig(model=model, out=str(tmp_path / "rows.npy"), num=3,
                                       labels="7,2"))
    noise = sampling.sample_noise(16, 3, 0)

    np.testing.assert_allclose(sevens, sampling.generate_images(loaded, noise, labels=7))
    np.testing.assert_allclose(rows[:3], sevens)  # Row 1 is class 7 on the same noise.
    np.testing.assert_allclose(rows[3:], sampling.generate_images(loaded, noise, labels=2))


def test_tflite_outside_its_run_is_measured_on_the_classifiers_classes(conditional_run,
                                                                       tmp_path):
    import shutil

    from dcgan_tf.tool_settings import EvalConfig

    _, workdir = conditional_run
    model = shutil.copy(workdir / "generator.tflite", tmp_path / "generator.tflite")
    assert export.load_generator(str(model)).num_classes is None  # No config.json beside it.

    report, _, _ = evaluation.run(EvalConfig(model=str(model), dataset="mnist", num=20,
                                             out=str(tmp_path / "metrics.json")))

    assert report.consistency.num_samples == 20 and len(report.consistency.per_class) == 10
    with pytest.raises(InputError, match="--model=.*generator.tflite: .*--labels"):
        sampling.run(SamplingConfig(model=str(model), out=str(tmp_path / "rows.png")))


@pytest.mark.parametrize("settings, message", [
    (dict(labels="3,12"), "label 12 is outside this generator's classes 0 to 9"),
    (dict(interpolate=True, out="walk.gif"), "walks within one class"),
])
def test_generate_refuses_impossible_classes(conditional_run, tmp_path, settings, message):
    _, workdir = conditional_run
    settings = {"out": "grid.png", **settings}
    settings["out"] = str(tmp_path / settings["out"])
    with pytest.raises(InputError, match=message):
        sampling.run(SamplingConfig(model=str(workdir / "generator"), **settings))


def test_unconditional_generator_refuses_a_label(tmp_path):
    cfg = data.resolve(config.Config(noise_dim=8))
    export.export_model(models.build_generator(cfg), str(tmp_path / "generator"))

    with pytest.raises(InputError, match="not conditional"):
        sampling.run(SamplingConfig(model=str(tmp_path / "generator"),
                                    out=str(tmp_path / "x.png"), label=1))


# --- class consistency -------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference():
    return evaluation.load_reference("mnist", num_samples=500)


class _Lookup(keras.layers.Layer):
    """A stand-in generator layer: label -> one real image of class label + shift."""

    def __init__(self, table, shift, **kwargs):
        super().__init__(**kwargs)
        self.table = keras.ops.convert_to_tensor(table)
        self.shift = shift

    def call(self, inputs):
        noise, labels = inputs
        picked = keras.ops.take(self.table, (labels + self.shift) % 10, axis=0)
        return picked + 0.0 * keras.ops.sum(noise)


def _lookup_generator(path, shift, bundled):
    """Exports a 'generator' that draws a real digit of class (label + shift) % 10."""
    first = [int(np.flatnonzero(bundled.labels == k)[0]) for k in range(10)]
    table = data.normalize(bundled.images[first]).numpy()
    noise = keras.Input((4,), name="noise")
    label = keras.Input((), dtype="int32", name="label")
    model = keras.Model([noise, label], _Lookup(table, shift)([noise, label]))
    export.export_model(model, path, num_classes=10)
    return export.load_generator(path)


@pytest.mark.parametrize("shift, low, high", [(0, 0.9, 1.0), (1, 0.0, 0.1)])
def test_consistency_is_high_for_the_right_class_and_low_for_the_wrong_one(
        tmp_path, bundled, reference, shift, low, high):
    loaded = _lookup_generator(str(tmp_path / "generator"), shift, bundled)
    labels = conditioning.balanced_labels(500, 10)

    report = evaluation.evaluate_images(sampling.sample(loaded, 500, seed=0), reference,
                                        labels=labels)

    assert low <= report.consistency.accuracy <= high
    assert all(low <= value <= high for value in report.consistency.per_class)
    assert len(report.class_frechet) == 10
    assert "class consistency" in evaluation.format_table(report, reference.floor)


def test_run_dir_lists_the_conditional_settings_as_resume_fields():
    assert {"conditional", "conditioning", "num_classes"} <= set(run_dir.RESUME_FIELDS)


def test_unconditional_steps_are_those_of_the_code_before_conditioning(bundled):
    """The first three steps of a small unconditional run, as the package computed them
    before --conditional existed (same seed, data and settings). A tolerance, not bit
    equality: other CPUs round a little differently; a changed network, init order or
    noise stream moves these by far more."""
    cfg = config.Config(download=False, batch_size=32, noise_dim=16, jit_compile=False,
                        precision="float32", num_examples_to_generate=4, workdir="unused")
    cfg, state = training.initial_state(cfg, restore=False)

    history = loop.run(state, cfg, bundled.images[:96], 3, show_progress=False)

    np.testing.assert_allclose(history["generator_loss"], [
        float.fromhex(h) for h in ("0x1.5f4d38p-1", "0x1.53ccb4p-1", "0x1.49cc1cp-1")],
        rtol=1e-4)
    np.testing.assert_allclose(history["discriminator_loss"], [
        float.fromhex(h) for h in ("0x1.64d28p+0", "0x1.5955b8p+0", "0x1.50316ap+0")],
        rtol=1e-4)
