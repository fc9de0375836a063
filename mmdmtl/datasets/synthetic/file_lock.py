"""An exclusive lock between processes, held through a file.

``exclusive_file_lock(path)`` serialises the processes that generate the same
folder. Where ``fcntl`` exists (Linux, macOS) it is an ``flock`` on ``path``:
the kernel releases it when its holder dies, so a killed process never leaves
the folder locked. ``fcntl`` is imported inside the function, so that importing
mmdmtl works where it does not exist (Windows).
"""
import os
import time
import warnings
from contextlib import contextmanager
from typing import Iterator

#: Seconds between two attempts of the lock-file fallback, and after how many
#: seconds of waiting it warns that the lock file may be stale.
POLL_S = 0.1
STALE_WARNING_S = 60.0


@contextmanager
def exclusive_file_lock(path: str) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if absent) for the block."""
    try:
        import fcntl
    except ImportError:  # Windows
        fcntl = None
    if fcntl is None:
        with _exclusive_lock_file(path):
            yield
        return
    with open(path, 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextmanager
def _exclusive_lock_file(path: str) -> Iterator[None]:
    """Fallback without ``fcntl``: the lock is the existence of ``path``.

    Creating a file with ``O_CREAT | O_EXCL`` is atomic on every platform and
    file system (one process wins, the others find it there and wait), so it
    serialises as ``flock`` does; the holder deletes the file when it is done.
    Unlike ``flock`` nothing removes it if the holder is killed: the waiting
    processes then wait for ever, and warn after ``STALE_WARNING_S`` seconds
    that the file may be stale and must be deleted by hand if no other process
    is working on the folder.
    """
    t0 = time.monotonic()
    warned = False
    while True:
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            break
        except FileExistsError:
            if not warned and time.monotonic() - t0 > STALE_WARNING_S:
                warnings.warn(
                    f'waiting for the lock file {path} for more than '
                    f'{STALE_WARNING_S:.0f} s; if no other process is writing '
                    'this folder it was left by a killed one: delete it')
                warned = True
            time.sleep(POLL_S)
    try:
        try:  # who holds it, for whoever finds the file
            os.write(fd, str(os.getpid()).encode())
        finally:
            os.close(fd)
        yield
    finally:
        os.remove(path)
