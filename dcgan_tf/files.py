"""Atomic, durable file writes: a reader (or a crash, even a power loss) never
sees a half-written artifact.

Every write goes to a temporary file that is flushed to disk (fsync) before it
is renamed onto its name, and the folder is flushed after the rename, so after
a crash the name holds either the previous complete version or the new one.
"""

import contextlib
import ctypes
import os
import shutil
import sys
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
        fsync(temporary)
        os.replace(temporary, path)
        fsync(directory)
    except BaseException:
        remove(temporary)
        raise


def write_text(path, text):
    with atomic_path(path) as temporary:
        with open(temporary, "w", encoding="utf-8") as f:
            f.write(text)


def replace_directory(source, destination):
    """Moves the finished directory `source` onto `destination`, durably.

    On Linux the two are swapped in one atomic step (renameat2 with
    RENAME_EXCHANGE), so `destination` always exists. Elsewhere the old one is
    first moved aside to `destination.old` and deleted only once the new one is
    in place; a crash between the two renames leaves it there, and
    `recover_directory` puts it back.
    """
    fsync_tree(source)
    parent = os.path.dirname(os.path.abspath(destination))
    if os.path.isdir(destination) and _exchange(source, destination):
        fsync(parent)
        remove(source)  # Now the previous version.
        return
    old = destination + ".old"
    remove(old)
    if os.path.exists(destination):
        os.replace(destination, old)
    os.replace(source, destination)
    fsync(parent)
    remove(old)


def recover_directory(destination):
    """Puts back `destination.old` if a crash inside replace_directory left no
    `destination`; returns whether it did."""
    old = destination + ".old"
    if os.path.exists(destination) or not os.path.isdir(old):
        return False
    os.replace(old, destination)
    return True


def fsync(path):
    """Flushes the file or folder `path` to disk (folders only where the OS
    allows opening them: POSIX)."""
    if os.path.isdir(path) and os.name != "posix":
        return
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def fsync_tree(root):
    """fsync of every file and folder under `root`, folders after their contents."""
    for folder, _, names in os.walk(root, topdown=False):
        for name in names:
            fsync(os.path.join(folder, name))
        fsync(folder)


_RENAME_EXCHANGE = 2  # From <linux/fs.h>.
_AT_FDCWD = -100


def _exchange(first, second):
    """Swaps two existing paths atomically; False where the OS or file system
    cannot (then nothing changed)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # A C library older than glibc 2.28.
        return False
    return renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second),
                     _RENAME_EXCHANGE) == 0


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
