"""dcgan_tf.files: atomic, durable writes and the directory swap."""

import os
import sys

import pytest

from dcgan_tf import files


def test_atomic_path_replaces_whole_file_and_flushes_file_and_folder(tmp_path, monkeypatch):
    flushed = []
    monkeypatch.setattr(files, "fsync", lambda path: flushed.append(os.path.abspath(path)))
    target = tmp_path / "config.json"
    target.write_text("old")

    files.write_text(str(target), "new")

    assert target.read_text() == "new"
    assert sorted(os.listdir(tmp_path)) == ["config.json"]
    # The data is flushed under its temporary name before the rename, then the folder.
    assert len(flushed) == 2
    assert os.path.basename(flushed[0]).startswith(".config.json.")
    assert flushed[1] == str(tmp_path)


def test_atomic_path_failure_leaves_previous_version(tmp_path):
    target = tmp_path / "losses.csv"
    target.write_text("complete")
    with pytest.raises(RuntimeError):
        with files.atomic_path(str(target)) as temporary:
            open(temporary, "w").write("half")
            raise RuntimeError("crash")
    assert target.read_text() == "complete"
    assert os.listdir(tmp_path) == ["losses.csv"]


def _model_dir(path, text):
    os.makedirs(path / "variables")
    (path / "saved_model.pb").write_text(text)
    (path / "variables" / "data").write_text(text)


def test_replace_directory_swaps_in_new_version_and_removes_old(tmp_path):
    _model_dir(tmp_path / "generator", "old")
    _model_dir(tmp_path / "generator.partial", "new")

    files.replace_directory(str(tmp_path / "generator.partial"), str(tmp_path / "generator"))

    assert (tmp_path / "generator" / "variables" / "data").read_text() == "new"
    assert sorted(os.listdir(tmp_path)) == ["generator"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="renameat2 is Linux's")
def test_replace_directory_on_linux_never_leaves_the_name_empty(tmp_path, monkeypatch):
    """The swap is one rename: the fallback's two renames (the moment without a
    generator/) are never reached."""
    _model_dir(tmp_path / "generator", "old")
    _model_dir(tmp_path / "generator.partial", "new")
    renamed = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: (renamed.append((a, b)), real_replace(a, b)))

    files.replace_directory(str(tmp_path / "generator.partial"), str(tmp_path / "generator"))

    assert renamed == []
    assert (tmp_path / "generator" / "saved_model.pb").read_text() == "new"


def test_replace_directory_fallback_then_crash_between_renames_is_recovered(tmp_path,
                                                                           monkeypatch):
    monkeypatch.setattr(files, "_exchange", lambda first, second: False)  # Not Linux.
    _model_dir(tmp_path / "generator", "old")
    _model_dir(tmp_path / "generator.partial", "new")
    real_replace = os.replace
    calls = []

    def crash_on_second_rename(source, destination):
        calls.append(source)
        if len(calls) == 2:
            raise KeyboardInterrupt  # The process dies between the two renames.
        real_replace(source, destination)

    monkeypatch.setattr(os, "replace", crash_on_second_rename)
    with pytest.raises(KeyboardInterrupt):
        files.replace_directory(str(tmp_path / "generator.partial"), str(tmp_path / "generator"))
    monkeypatch.setattr(os, "replace", real_replace)
    assert not (tmp_path / "generator").exists()

    assert files.recover_directory(str(tmp_path / "generator"))
    assert (tmp_path / "generator" / "saved_model.pb").read_text() == "old"
    assert not files.recover_directory(str(tmp_path / "generator"))  # Nothing left to do.
