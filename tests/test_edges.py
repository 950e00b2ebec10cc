"""Faults at the edges of a run: a damaged frame or data.json, a signal during the export."""

import os
import signal

import pytest

from conftest import small_config
from dcgan_tf import export, training
from dcgan_tf.errors import InputError
from dcgan_tf.interrupts import TrainingInterrupted


def _config(tiny_npz, workdir, epochs):
    return small_config(tiny_npz, workdir, epochs=epochs)  # 3 steps per epoch.


def test_an_unreadable_progress_frame_is_left_out_of_the_gif_and_training_goes_on(
        tiny_npz, tmp_path, caplog):
    training.train(_config(tiny_npz, tmp_path, epochs=2))
    (tmp_path / "samples" / "epoch_0001.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")

    result = training.train(_config(tiny_npz, tmp_path, epochs=3))

    assert result.step == 9
    assert "progress.gif leaves out 1 unreadable frame(s)" in caplog.text
    assert "epoch_0001.png" in caplog.text
    assert (tmp_path / "checkpoints" / "ckpt-3.index").exists()


def test_a_damaged_data_json_is_read_from_its_copy(tiny_npz, mnist_npz, tmp_path, caplog):
    training.train(_config(tiny_npz, tmp_path, epochs=1))
    (tmp_path / "data.json").write_text("{damaged")

    with pytest.raises(InputError, match="trained on other images"):
        training.train(small_config(mnist_npz(128), tmp_path, epochs=2))
    assert "the copy" in caplog.text
    assert training.train(_config(tiny_npz, tmp_path, epochs=2)).start_step == 3


def test_data_json_and_its_copy_both_damaged_is_refused_naming_them(tiny_npz, tmp_path):
    training.train(_config(tiny_npz, tmp_path, epochs=1))
    for path in (tmp_path / "data.json", tmp_path / "checkpoints" / "data.json"):
        path.write_text("{damaged")

    with pytest.raises(InputError, match="cannot be checked") as raised:
        training.train(_config(tiny_npz, tmp_path, epochs=2))
    assert str(tmp_path / "data.json") in str(raised.value)
    assert sorted(os.listdir(tmp_path / "samples")) == ["epoch_0001.png"]


def test_a_signal_during_the_final_export_lets_it_finish_then_stops(tiny_npz, tmp_path,
                                                                    monkeypatch):
    real_export = export.export_model
    calls = []

    def export_with_a_signal(model, path, num_classes=0):
        calls.append(path)
        if len(calls) == 1:
            os.kill(os.getpid(), signal.SIGINT)  # Arrives while the generator exports.
        real_export(model, path, num_classes)

    monkeypatch.setattr(export, "export_model", export_with_a_signal)
    with pytest.raises(TrainingInterrupted):
        training.train(_config(tiny_npz, tmp_path, epochs=1))

    assert len(calls) == 2  # The generator and the discriminator both exported.
    export.load_generator(str(tmp_path / "generator"))
