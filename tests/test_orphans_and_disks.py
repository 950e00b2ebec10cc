"""What a killed run leaves is cleaned; a full or read-only disk stops a run with a message."""

import errno
import os
import subprocess
import sys
import textwrap

from conftest import small_config
from dcgan_tf import cli, export, files, run_dir, training
from dcgan_tf.config import Config


def test_a_restarted_run_removes_the_temporaries_a_killed_one_left_and_nothing_else(
        tiny_npz, tmp_path):
    config = small_config(tiny_npz, tmp_path, epochs=1)
    training.train(config)
    left_files = [".losses.csv.a1b2c3d4.csv", "samples/.epoch_0001.png.zz99_x0q.png",
                  "checkpoints/.config.json.abcdefgh.json"]
    left_folders = ["generator.partial", "generator.partial-k3j2h1g0", "checkpoints/ckpt-4_temp"]
    for name in left_files:
        (tmp_path / name).write_bytes(b"x" * 1000)
    for name in left_folders:
        (tmp_path / name).mkdir()
        (tmp_path / name / "part").write_bytes(b"x" * 1000)
    left = left_files + left_folders
    kept = [".my_notes.txt", "samples/.thumbnail.png", "my.partial", "checkpoints/keep_temp"]
    for name in kept:
        (tmp_path / name).write_text("the user's")

    assert run_dir.remove_orphans(config) == len(left)

    for name in left:
        assert not os.path.lexists(tmp_path / name), name
    for name in kept:
        assert (tmp_path / name).read_text() == "the user's", name


def test_remove_deletes_a_symlink_and_never_its_target(tmp_path):
    target = tmp_path / "precious"
    target.mkdir()
    (target / "file").write_text("keep")
    link = tmp_path / "generator.partial"
    link.symlink_to(target)

    files.remove(str(link))

    assert not os.path.lexists(link)
    assert (target / "file").read_text() == "keep"


def test_umask_is_read_without_changing_it():
    before = os.umask(0o027)
    try:
        assert files.umask() == 0o027
        assert files.umask() == 0o027
    finally:
        os.umask(before)


def test_export_leaves_no_temporary_folder_and_keeps_usual_permissions(tmp_path):
    from dcgan_tf import models

    generator = models.build_generator(Config(image_size=28, channels=1, noise_dim=8))
    export.export_model(generator, str(tmp_path / "generator"))
    export.export_model(generator, str(tmp_path / "generator"))  # Replacing the first.

    assert sorted(os.listdir(tmp_path)) == ["generator"]
    assert oct(os.stat(tmp_path / "generator").st_mode & 0o777) == oct(0o777 & ~files.umask())
    export.load_generator(str(tmp_path / "generator"))


def test_write_failure_names_the_file_for_full_and_read_only_disks():
    full = OSError(errno.ENOSPC, "No space left on device", "/runs/x/losses.csv")
    assert cli.write_failure(full) == ("Cannot write /runs/x/losses.csv: No space left on "
                                       "device")
    assert cli.write_failure(OSError(errno.EROFS, "Read-only file system", "/r/x")) is not None
    assert cli.write_failure(OSError(errno.ENOENT, "No such file", "/r/x")) is None
    assert cli.write_failure(ValueError("No space left on device")) is None


def test_cli_full_disk_mid_run_exits_4_with_one_message_and_no_traceback(tmp_path):
    script = tmp_path / "tool.py"
    script.write_text(textwrap.dedent("""
        import errno
        from absl import flags
        from dcgan_tf import cli

        def main():
            raise OSError(errno.ENOSPC, "No space left on device", "/runs/x/ckpt-3.index")

        cli.run(main, flags.FLAGS)
    """))
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            timeout=120, cwd=os.path.dirname(os.path.dirname(__file__)),
                            env={**os.environ, "PYTHONPATH": os.path.dirname(
                                os.path.dirname(os.path.abspath(__file__)))})
    assert result.returncode == cli.WRITE_ERROR_STATUS, result.stderr
    assert "Cannot write /runs/x/ckpt-3.index: No space left on device" in result.stderr
    assert "run the same command again" in result.stderr
    assert "Traceback" not in result.stderr
