"""A training run's work dir: one run at a time, and a resume that names what it uses.

``WorkDirLock``: ``tools/train.py`` holds ``<work_dir>/.mmdmtl_train.lock`` (pid,
host, start time) for the whole run. A second run on the same work dir refuses,
naming the other run's pid and host (two runs would interleave their checkpoints
and share a log). A lock whose process is gone (same host, pid not alive: a run
that was killed) is stale and taken over with a warning; a lock of another host
cannot be checked from here, so the message says how to remove it.

``resume_checkpoint``: ``--resume`` without a file reads ``last_checkpoint``; if the
file it names is missing, truncated or damaged, the error names it and the newest
intact checkpoint of the work dir (``--resume-intact`` resumes from that one).
"""
import json
import os
import os.path as osp
import re
import socket
import time
from typing import List, Optional

#: The lock file in the work dir.
LOCK_NAME = '.mmdmtl_train.lock'
_CKPT = re.compile(r'^(?:iter|epoch)_(\d+)\.pth$')


class WorkDirLockedError(RuntimeError):
    """Another training run holds the work dir."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return False
    return True


class WorkDirLock:
    """Exclusive lock of a work dir for one training run (see module doc).

    Use as a context manager, or ``acquire()``/``release()``. ``acquire``
    returns a warning text when it took over a stale lock (else None).
    """

    def __init__(self, work_dir: str) -> None:
        self.work_dir = work_dir
        self.path = osp.join(work_dir, LOCK_NAME)
        self._held = False

    def _read(self) -> dict:
        try:
            with open(self.path) as f:
                info = json.load(f)
            return info if isinstance(info, dict) else {}
        except (OSError, ValueError):
            return {}

    def _create(self) -> bool:
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, 'w') as f:
            json.dump(dict(pid=os.getpid(), host=socket.gethostname(),
                           started=time.strftime('%Y-%m-%dT%H:%M:%S')), f)
        return True

    def acquire(self) -> Optional[str]:
        os.makedirs(self.work_dir, exist_ok=True)
        if self._create():
            self._held = True
            return None
        info = self._read()
        pid, host = info.get('pid'), info.get('host')
        here = socket.gethostname()
        if isinstance(pid, int) and host == here and not _pid_alive(pid):
            stale = (f'took over the stale lock {self.path} of training run pid '
                     f'{pid} on {host} (started {info.get("started", "?")}; '
                     'that process no longer exists)')
        elif not info and time.time() - osp.getmtime(self.path) > 60:
            stale = (f'took over the unreadable lock {self.path} (a run killed '
                     'while creating it)')
        else:
            where = (f'pid {pid} on host {host}, started '
                     f'{info.get("started", "?")}' if info else
                     'a run that is starting')
            extra = (f'; if that run is gone (it ran on another host, which '
                     f'cannot be checked from here), delete {self.path}'
                     if host and host != here else '')
            raise WorkDirLockedError(
                f'work dir {self.work_dir} is in use by another training run '
                f'({where}): two runs would overwrite each other\'s '
                f'checkpoints and share one log; wait for it, or give another '
                f'--work-dir{extra}')
        os.remove(self.path)
        if not self._create():
            raise WorkDirLockedError(
                f'work dir {self.work_dir}: another run took the lock '
                f'{self.path} at the same moment; give another --work-dir')
        self._held = True
        return stale

    def release(self) -> None:
        if self._held and self._read().get('pid') == os.getpid():
            try:
                os.remove(self.path)
            except OSError:
                pass
        self._held = False

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def checkpoint_problem(path: str) -> Optional[str]:
    """Why ``path`` is no usable checkpoint (None when it looks intact)."""
    from mmdmtl.utils.cli import check_checkpoint_arg
    try:
        check_checkpoint_arg(path, 'checkpoint')
    except (FileNotFoundError, ValueError) as err:
        return str(err)
    return None


def intact_checkpoints(work_dir: str) -> List[str]:
    """The ``iter_N.pth`` / ``epoch_N.pth`` of ``work_dir`` that look intact,
    newest (highest N) first."""
    if not osp.isdir(work_dir):
        return []
    found = sorted(((int(m[1]), n) for n in os.listdir(work_dir)
                    for m in [_CKPT.match(n)] if m), reverse=True)
    paths = [osp.join(work_dir, n) for _, n in found]
    return [p for p in paths if checkpoint_problem(p) is None]


def resume_checkpoint(work_dir: str, use_intact: bool = False
                      ) -> Optional[str]:
    """The checkpoint ``--resume`` (no file) continues from, or None when the
    work dir has none (a fresh start, as MMEngine does).

    Raises ``ValueError`` naming the damaged file and the newest intact one
    when ``last_checkpoint`` points at a missing/truncated/damaged file, unless
    ``use_intact`` (then that one is returned).
    """
    pointer = osp.join(work_dir, 'last_checkpoint')
    if not osp.isfile(pointer):
        newest = intact_checkpoints(work_dir)
        return newest[0] if newest else None
    with open(pointer) as f:
        last = f.read().strip()
    problem = (checkpoint_problem(last) if last else
               f'{pointer} is empty (a run killed while writing it)')
    if problem is None:
        return last
    intact = [p for p in intact_checkpoints(work_dir)
              if osp.abspath(p) != osp.abspath(last or '')]
    if use_intact and intact:
        return intact[0]
    hint = (f'the newest intact checkpoint is {intact[0]}: resume from it with '
            f'--resume {intact[0]} or --resume-intact' if intact else
            'no intact iter_*/epoch_* checkpoint is left in the work dir; '
            'start without --resume')
    raise ValueError(f'--resume: the last checkpoint {last or "(none)"} named '
                     f'by {pointer} is unusable ({problem}); {hint}')
