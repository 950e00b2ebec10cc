"""CsvLog: the one reader and writer behind losses.csv and metrics.csv."""

import logging

import pytest

from dcgan_tf.csv_log import CsvLog


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


def test_load_other_columns_sets_the_file_aside_and_starts_empty(tmp_path, caplog):
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n")
    with caplog.at_level(logging.WARNING):
        log = _log(path, kind="test log").load(10)
    assert log.rows == []
    assert not path.exists()
    assert (tmp_path / "other.csv.damaged").read_text() == "a,b\n1,2\n"
    assert "other.csv is not a readable test log" in caplog.text


@pytest.mark.parametrize("text, kept", [
    ("", 0),  # Emptied by a crash.
    ("step,epoch,loss\n1,1,0.5\n2,1,0.25\n3,1", 2),  # A row cut short.
    ("step,epoch,loss\n1,1,0.5\n2,x,0.25\n", 1),  # A row that does not parse.
    ("step,epoch,loss\n1,1,0.5\n\x00\x00\x00\n", 1),  # Zeros left by a lost write.
])
def test_load_damaged_file_keeps_the_rows_before_the_damage(tmp_path, caplog, text, kept):
    path = tmp_path / "log.csv"
    path.write_bytes(text.encode())
    with caplog.at_level(logging.WARNING):
        log = _log(path).load(10)
    assert log.column("step") == list(range(1, kept + 1))
    assert (tmp_path / "log.csv.damaged").read_bytes() == text.encode()
    log.write()  # The log goes on: a clean file again.
    assert _log(path).load(10).column("step") == list(range(1, kept + 1))
