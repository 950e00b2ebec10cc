"""CsvLog: the one reader and writer behind losses.csv and metrics.csv."""

import pytest

from dcgan_tf.csv_log import CsvLog
from dcgan_tf.errors import InputError


def _log(path, **options):
    return CsvLog(str(path), ("step", "epoch", "loss"), **options)


def test_load_keeps_rows_up_to_the_checkpoint_step(tmp_path):
    path = tmp_path / "log.csv"
    log = _log(path)
    log.rows = [{"step": s, "epoch": 1, "loss": s / 10} for s in range(1, 6)]
    log.write()
    again = _log(path).load(up_to_step=3)
    assert again.column("step") == [1, 2, 3]
    assert again.rows[1] == {"step": 2, "epoch": 1, "loss": 0.2}
    assert again.last_step == 3


def test_write_full_precision_by_default_and_float_format_when_given(tmp_path):
    log = _log(tmp_path / "full.csv")
    log.rows = [{"step": 1, "epoch": 1, "loss": 0.1234567891234}]
    log.write()
    assert (tmp_path / "full.csv").read_text() == "step,epoch,loss\n1,1,0.1234567891234\n"
    short = _log(tmp_path / "short.csv", float_format="{:.3g}")
    short.rows = [{"step": 1, "epoch": 1, "loss": 0.1234567}, {"step": 2, "epoch": 1,
                                                              "loss": float("nan")}]
    short.write()
    assert (tmp_path / "short.csv").read_text() == "step,epoch,loss\n1,1,0.123\n2,1,nan\n"


def test_load_missing_file_is_empty(tmp_path):
    log = _log(tmp_path / "none.csv").load(10)
    assert log.rows == [] and log.last_step is None


def test_load_other_columns_names_the_file(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="other.csv: not a test log"):
        _log(path, kind="test log").load(10)
