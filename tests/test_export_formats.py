"""The generator as LiteRT and ONNX files: written beside generator/, checked
against the SavedModel, loadable by generate.py, and never at the run's expense."""

import logging

import numpy as np
import pytest

from dcgan_tf import config, export, models, sampling
from dcgan_tf.errors import InputError

ONNX = "onnx" in export.installed_formats()
needs_onnx = pytest.mark.skipif(not ONNX, reason="pip install '.[onnx]' (CI installs it)")
FORMATS = ("saved_model", "litert", *(("onnx",) if ONNX else ()))


def _untrained(tmp_path, **settings):
    """A generator with random weights (and moved BatchNorm statistics, so the
    inference-mode path is not an identity), exported as generator/."""
    cfg = config.Config(**settings)
    generator = models.build_generator(cfg)
    rng = np.random.default_rng(1)
    generator.set_weights([w + 0.05 * rng.standard_normal(w.shape).astype(w.dtype)
                           for w in generator.get_weights()])
    path = str(tmp_path / "generator")
    export.export_model(generator, path)
    return path, cfg


@pytest.mark.parametrize("settings", [
    dict(image_size=28, channels=1, noise_dim=16),  # Resize-convolution, the default.
    dict(image_size=64, channels=3, noise_dim=16, architecture="dcgan_paper", kernel_size=4,
         upsample="transpose", generator_filters=8),
], ids=["tutorial 28x28x1 resize", "paper 64x64x3 transpose"])
def test_every_format_draws_the_savedmodels_images(tmp_path, settings):
    saved_model, cfg = _untrained(tmp_path, **settings)

    written = export.export_generator_formats(saved_model, FORMATS, cfg.noise_dim)

    assert set(written) == set(FORMATS) - {"saved_model"}
    assert all(difference <= export.MAX_DIFFERENCE for difference in written.values())
    reference_model = export.load_generator(saved_model)
    reference = sampling.sample(reference_model, num=5, seed=3)
    for name in written:
        loaded = export.load_generator(str(tmp_path / export.FILE_NAMES[name]))
        assert loaded.noise_dim == cfg.noise_dim
        assert loaded.image_shape == cfg.image_shape
        images = sampling.sample(loaded, num=5, seed=3, batch_size=2)  # Any batch size.
        assert np.abs(images - reference).max() <= export.MAX_DIFFERENCE, name


def test_a_failed_conversion_is_named_and_loses_nothing_else(tmp_path, monkeypatch, caplog):
    saved_model, cfg = _untrained(tmp_path, image_size=28, channels=1, noise_dim=8)
    stale = tmp_path / "generator.tflite"
    stale.write_bytes(b"an older export")

    def broken(*args):
        raise RuntimeError("converter exploded\nsecond line")

    monkeypatch.setitem(export._CONVERTERS, "litert", broken)
    before = sorted(p.name for p in (tmp_path / "generator").rglob("*"))
    with caplog.at_level(logging.WARNING):
        written = export.export_generator_formats(saved_model, FORMATS, cfg.noise_dim)

    assert "litert" not in written and not stale.exists()  # No file that disagrees.
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(messages) == 1 and "generator.tflite" in messages[0]
    assert "converter exploded" in messages[0] and "second line" not in messages[0]
    assert sorted(p.name for p in (tmp_path / "generator").rglob("*")) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # No temporaries.


def test_a_conversion_that_draws_other_images_is_refused(tmp_path, monkeypatch, caplog):
    saved_model, cfg = _untrained(tmp_path, image_size=28, channels=1, noise_dim=8)
    monkeypatch.setattr(export, "max_difference", lambda *args: 0.25)
    with caplog.at_level(logging.WARNING):
        written = export.export_generator_formats(saved_model, ("saved_model", "litert"),
                                                  cfg.noise_dim)
    assert written == {} and not (tmp_path / "generator.tflite").exists()
    assert "differ from the SavedModel's by up to 0.25" in caplog.text


def test_export_formats_setting_names_and_resolves_formats(monkeypatch):
    assert export.chosen_formats("litert") == ("saved_model", "litert")
    assert export.chosen_formats("") == export.installed_formats()
    with pytest.raises(InputError, match="--export_formats='tflite'"):
        config.Config(export_formats="tflite")
    with pytest.raises(InputError, match="each once"):
        config.Config(export_formats="onnx,onnx")
    monkeypatch.setattr(export.importlib.util, "find_spec", lambda name: None)
    assert export.installed_formats() == ("saved_model", "litert")
    with pytest.raises(InputError, match=r"pip install '\.\[onnx\]'"):
        export.chosen_formats("saved_model,onnx")


@pytest.mark.parametrize("name", ["generator.tflite", "generator.onnx"])
def test_a_damaged_converted_file_is_an_input_error_naming_it(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"\x00\x00\x00\x00TFL3 but nothing else" if name.endswith("tflite")
                     else b"not a protobuf")
    if name.endswith("onnx") and not ONNX:
        pytest.skip("onnxruntime not installed")
    with pytest.raises(InputError, match=f"--model={path}: cannot load it"):
        export.load_generator(str(path))


def test_an_export_without_a_format_removes_that_formats_older_file(tmp_path):
    saved_model, cfg = _untrained(tmp_path, image_size=28, channels=1, noise_dim=8)
    export.export_generator_formats(saved_model, FORMATS, cfg.noise_dim)
    assert (tmp_path / "generator.tflite").exists()

    written = export.export_generator_formats(saved_model, ("saved_model",), cfg.noise_dim)

    assert written == {}  # No file beside generator/ may hold other weights than it.
    assert not (tmp_path / "generator.tflite").exists()
    assert not (tmp_path / "generator.onnx").exists()
