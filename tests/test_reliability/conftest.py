"""Harness for multi-process (gloo, CPU) tests that can never hang CI.

``run_dist(script, nproc, args, timeout)`` starts ``nproc`` Python processes running
``script`` with the ``env://`` variables of a torchrun launch (RANK, LOCAL_RANK,
WORLD_SIZE, MASTER_ADDR=127.0.0.1, a free MASTER_PORT), each in its own process group.
If they do not all exit within ``timeout`` seconds, every process (and its children) is
killed and the test fails with the output of each rank, so a deadlock shows as a
failure naming the stuck ranks, never as a blocked CI job.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List, Sequence

import pytest

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
WORKERS = HERE / 'workers'


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@dataclass
class RankResult:
    rank: int
    returncode: int
    output: str


@dataclass
class DistResult:
    ranks: List[RankResult]
    timed_out: bool
    elapsed: float

    @property
    def ok(self) -> bool:
        return not self.timed_out and all(r.returncode == 0 for r in self.ranks)

    def report(self) -> str:
        lines = [f'timed_out={self.timed_out} elapsed={self.elapsed:.1f}s']
        for r in self.ranks:
            lines.append(f'--- rank {r.rank} (rc={r.returncode}) ---')
            lines.append(r.output[-4000:])
        return '\n'.join(lines)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_dist(script: Path,
             nproc: int,
             args: Sequence[str] = (),
             timeout: float = 60.0,
             env_extra=None) -> DistResult:
    """Run ``script`` on ``nproc`` ranks; kill everything after ``timeout`` s."""
    port = free_port()
    procs, logs = [], []
    start = time.monotonic()
    for rank in range(nproc):
        env = dict(os.environ)
        env.update(
            RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(nproc),
            LOCAL_WORLD_SIZE=str(nproc), MASTER_ADDR='127.0.0.1',
            MASTER_PORT=str(port), OMP_NUM_THREADS='1',
            PYTHONPATH=os.pathsep.join(
                [str(REPO_ROOT)] + [p for p in [env.get('PYTHONPATH')] if p]),
            CUDA_VISIBLE_DEVICES='')
        env.update(env_extra or {})
        log = open(Path(os.environ.get('TMPDIR', '/tmp')) /
                   f'mmdmtl_dist_{port}_{rank}.log', 'w+')
        logs.append(log)
        procs.append(subprocess.Popen(
            [sys.executable, str(script), *map(str, args)],
            stdout=log, stderr=subprocess.STDOUT, env=env,
            cwd=str(REPO_ROOT), start_new_session=True))
    timed_out = False
    deadline = start + timeout
    for proc in procs:
        remaining = deadline - time.monotonic()
        try:
            proc.wait(timeout=max(remaining, 0.01))
        except subprocess.TimeoutExpired:
            timed_out = True
            break
    if timed_out:
        for proc in procs:
            _kill_group(proc)
        for proc in procs:
            proc.wait()
    else:
        # A rank that failed may leave the others blocked in a collective: they
        # must have exited too (above); nothing left to kill.
        for proc in procs:
            _kill_group(proc)
    results = []
    for rank, (proc, log) in enumerate(zip(procs, logs)):
        log.seek(0)
        results.append(RankResult(rank, proc.returncode, log.read()))
        log.close()
        os.remove(log.name)
    return DistResult(results, timed_out, time.monotonic() - start)


def read_json(path: Path):
    with open(path) as f:
        return json.load(f)


@pytest.fixture(autouse=True)
def _no_epoch_sleep(monkeypatch):
    """MMEngine sleeps 2 s at every data-loader restart (mmengine/runner/loops.py);
    the workers skip it too (see workers/*.py)."""
    import types

    import mmengine.runner.loops as loops
    monkeypatch.setattr(loops, 'time', types.SimpleNamespace(sleep=lambda s: None))


@pytest.fixture
def dist():
    import types
    return types.SimpleNamespace(run=run_dist, workers=WORKERS, read_json=read_json)


@pytest.fixture
def load_tool():
    """``load_tool('test.py')``: a script of tools/ as a module (``tools/test.py``
    would clash with the stdlib's ``test`` package under its own name)."""
    import importlib.util

    def load(rel: str):
        path = REPO_ROOT / 'tools' / rel
        spec = importlib.util.spec_from_file_location(
            'mmdmtl_tool_' + rel.replace('/', '_').replace('.py', ''), path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return mod

    return load
