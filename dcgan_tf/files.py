"""Atomic, durable file writes: a reader (or a crash, even a power loss) never
sees a half-written artifact.

Every write goes to a temporary file that is flushed to disk (fsync) before it
is renamed onto its name, and the folder is flushed after the rename, so after
a crash the name holds either the previous complete version or the new one.
"""

import contextlib
import ctypes
import os
import re
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
        os.chmod(temporary, 0o666 & ~umask())
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
    """Deletes a file or folder tree if it exists; a symbolic link is removed
    itself, never what it points to."""
    if os.path.islink(path):
        os.remove(path)
    elif os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.exists(path):
        os.remove(path)


# mkstemp's names: the prefix, 8 characters of this alphabet, the suffix.
_TEMPORARY = re.compile(r"\.(?P<name>.+)\.[a-z0-9_]{8}(?P<suffix>\.[A-Za-z0-9]+)?")


def remove_orphaned_temporaries(directory, is_ours):
    """Removes what atomic_path left in `directory` when its process was killed
    (hidden `.<name>.XXXXXXXX<suffix>` files) for every name that `is_ours(name)`
    accepts, and returns their paths. Files of any other name are left alone."""
    removed = []
    try:
        entries = os.listdir(directory)
    except OSError:
        return removed
    for entry in entries:
        match = _TEMPORARY.fullmatch(entry)
        if (match and is_ours(match.group("name"))
                and (match.group("suffix") or "") == os.path.splitext(match.group("name"))[1]):
            remove(os.path.join(directory, entry))
            removed.append(os.path.join(directory, entry))
    return removed


def umask():
    """The process's umask, read without changing it where Linux shows it (setting
    it for a moment would affect files other threads create meanwhile)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0)  # Elsewhere, the only way to read the umask is to set it.
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
