"""Sample quality measured during training: train(..., eval_every=N) and metrics.csv."""

import functools
import os

import pytest
import tensorflow as tf

from dcgan_tf import quality_log, recorder, training
from dcgan_tf.errors import InputError
from conftest import read_log, small_config

NUM_IMAGES = 96  # With batch_size 32: 3 steps per epoch.


_config = functools.partial(small_config, eval_every=1, eval_samples=20)
_rows = functools.partial(read_log, name="metrics.csv")


def _tensorboard_tags(workdir):
    tags = set()
    folder = os.path.join(workdir, "tensorboard")
    for name in os.listdir(folder):
        for record in tf.data.TFRecordDataset(os.path.join(folder, name)):
            event = tf.compat.v1.Event.FromString(record.numpy())
            tags.update(value.tag for value in event.summary.value)
    return tags


def test_train_eval_every_writes_one_row_per_epoch_and_tensorboard_scalars(tiny_npz, tmp_path):
    training.train(_config(tiny_npz, tmp_path))
    rows = _rows(tmp_path)
    assert list(rows[0]) == list(quality_log.FIELDS)
    assert [(int(row["epoch"]), int(row["step"])) for row in rows] == [(1, 3), (2, 6)]
    for row in rows:
        assert float(row["frechet"]) > 0
        assert 0 <= float(row["precision"]) <= 1 and 0 <= float(row["recall"]) <= 1
        assert float(row["class_kl"]) >= 0 and 0 <= int(row["classes_covered"]) <= 10
    assert {f"quality/{name}" for name in quality_log.FIELDS[2:]} <= _tensorboard_tags(tmp_path)


def test_train_eval_every_2_measures_only_even_epochs(tiny_npz, tmp_path):
    training.train(_config(tiny_npz, tmp_path, epochs=3, eval_every=2))
    assert [int(row["epoch"]) for row in _rows(tmp_path)] == [2]


def test_train_eval_resumed_run_replaces_rows_past_checkpoint_without_duplicates(tiny_npz,
                                                                                 tmp_path):
    training.train(_config(tiny_npz, tmp_path, max_steps=4))  # Measures epoch 1 only.
    assert [int(row["step"]) for row in _rows(tmp_path)] == [3]
    # A row past the checkpoint, as left by a run killed between measuring and saving.
    with open(tmp_path / "metrics.csv", "a") as f:
        f.write("2,6,999,9,0,0,9,0\n")
    training.train(_config(tiny_npz, tmp_path))
    training.train(_config(tiny_npz, tmp_path))  # Finished: measures nothing again.
    rows = _rows(tmp_path)
    assert [int(row["step"]) for row in rows] == [3, 6]
    assert float(rows[1]["frechet"]) != 999


@pytest.mark.parametrize("overrides", [dict(dataset="cifar10"), dict(image_size=32),
                                       dict(channels=3)])
def test_train_eval_every_without_feature_network_refused_before_writing(tiny_npz, tmp_path,
                                                                         overrides):
    with pytest.raises(InputError, match="--eval_every"):
        training.train(_config(tiny_npz, tmp_path / "run", **overrides))
    assert not (tmp_path / "run").exists()


def test_metrics_log_other_columns_is_set_aside(tiny_npz, tmp_path, caplog):
    (tmp_path / "metrics.csv").write_text("step,loss\n1,2\n")
    log = recorder.metrics_log(_config(tiny_npz, tmp_path)).load(10)
    assert log.rows == []
    assert (tmp_path / "metrics.csv.damaged").exists()
    assert "metrics.csv is not a readable dcgan_tf metrics file" in caplog.text
