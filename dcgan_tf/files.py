"""Atomic file writes: a reader (or a crash) never sees a half-written artifact."""

import contextlib
import os
import shutil
import tempfile

from dcgan_tf.errors import InputError


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary path next to `path`; renames it onto `path` on success.

    The rename is atomic on POSIX, so `path` always holds either its previous
    complete version or the new one. On an exception the temporary file is removed.
    """
    directory, name = os.path.split(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    suffix = os.path.splitext(name)[1]
    fd, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=suffix, dir=directory)
    os.close(fd)
    try:
        yield temporary
        # mkstemp makes owner-only files; give the artifact the usual permissions.
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except BaseException:
        remove(temporary)
        raise


def write_text(path, text):
    with atomic_path(path) as temporary:
        with open(temporary, "w", encoding="utf-8") as f:
            f.write(text)


def replace_directory(source, destination):
    """Moves the finished directory `source` onto `destination`.

    A directory cannot be renamed over another atomically, so the old one is
    first moved aside and deleted only once the new one is in place.
    """
    old = destination + ".old"
    remove(old)
    if os.path.exists(destination):
        os.replace(destination, old)
    os.replace(source, destination)
    remove(old)


def remove(path):
    """Deletes a file or folder tree if it exists."""
    if os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.exists(path):
        os.remove(path)


def _umask():
    mask = os.umask(0)  # The only way to read the umask is to set it.
    os.umask(mask)
    return mask


def check_writable(path, flag="--out"):
    """Creates the parent folders of `path` and fails early if it cannot be written.

    Raises:
        InputError: naming `path` as the value of `flag`.
    """
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        raise InputError(f"{flag}={path}: cannot create its folder ({e}).") from e
    if os.path.isdir(path) or not os.access(folder, os.W_OK):
        problem = "is a folder" if os.path.isdir(path) else f"{folder} is not writable"
        raise InputError(f"{flag}={path}: cannot write it ({problem}).")
