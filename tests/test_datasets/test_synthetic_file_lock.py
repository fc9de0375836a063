"""The SyntheticScenes generator's file lock: fcntl where it exists, an O_EXCL
lock file where it does not (Windows), and mmdmtl importable without fcntl."""
import ast
import os
import os.path as osp
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mmdmtl.datasets.synthetic import file_lock
from mmdmtl.datasets.synthetic.file_lock import exclusive_file_lock

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_fcntl(monkeypatch):
    """``import fcntl`` raises ImportError, as on Windows."""
    monkeypatch.setitem(sys.modules, 'fcntl', None)


def _holds_exclusively(path, hold_s=0.3):
    """Two threads take the lock; the second gets it only after the first let
    go. Returns the (enter, exit) times of both."""
    times = {}

    def worker(name, delay):
        time.sleep(delay)
        with exclusive_file_lock(path):
            enter = time.monotonic()
            time.sleep(hold_s)
            times[name] = (enter, time.monotonic())

    threads = [threading.Thread(target=worker, args=('a', 0.0)),
               threading.Thread(target=worker, args=('b', 0.05))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return times


def test_fcntl_lock_is_exclusive(tmp_path):
    path = str(tmp_path / '.generate.lock')
    times = _holds_exclusively(path)
    assert times['b'][0] >= times['a'][1]
    assert osp.isfile(path)  # flock keeps the file; the kernel holds the lock


def test_lock_file_fallback_is_exclusive_and_cleans_up(tmp_path, no_fcntl):
    path = str(tmp_path / '.generate.lock')
    times = _holds_exclusively(path)
    assert times['b'][0] >= times['a'][1]
    assert not osp.exists(path)  # the holder deletes it


def test_lock_file_fallback_released_on_error(tmp_path, no_fcntl):
    path = str(tmp_path / '.generate.lock')
    with pytest.raises(RuntimeError):
        with exclusive_file_lock(path):
            assert open(path).read() == str(os.getpid())
            raise RuntimeError
    assert not osp.exists(path)


def test_lock_file_fallback_warns_on_a_stale_file(tmp_path, no_fcntl,
                                                  monkeypatch):
    path = tmp_path / '.generate.lock'
    path.write_text('12345')  # left by a killed process
    monkeypatch.setattr(file_lock, 'STALE_WARNING_S', 0.05)
    threading.Timer(0.4, path.unlink).start()
    with pytest.warns(UserWarning, match='left by a killed one: delete it'):
        with exclusive_file_lock(str(path)):
            pass


def test_no_module_level_fcntl_import():
    """fcntl (POSIX only) is imported lazily everywhere in the package."""
    for py in (REPO / 'mmdmtl').rglob('*.py'):
        for node in ast.parse(py.read_text()).body:
            names = ([a.name for a in node.names]
                     if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) else [])
            assert 'fcntl' not in names, py


def test_package_imports_and_generates_without_fcntl(tmp_path):
    """As on Windows: mmdmtl.datasets imports, and generation (the lock-file
    fallback) writes the same files as with fcntl."""
    code = (
        'import sys; sys.modules["fcntl"] = None\n'
        'import mmdmtl.datasets as d\n'
        'from mmdmtl.datasets.synthetic_scenes import generate_synthetic_scenes\n'
        'assert "fcntl" not in [m for m, v in sys.modules.items() if v]\n'
        f'assert generate_synthetic_scenes({str(tmp_path / "a")!r}, 2, 1, '
        '(16, 16))\n')
    subprocess.run([sys.executable, '-c', code], check=True, cwd=str(REPO),
                   timeout=300)
    from mmdmtl.datasets.synthetic_scenes import generate_synthetic_scenes
    assert generate_synthetic_scenes(str(tmp_path / 'b'), 2, 1, (16, 16))
    assert not osp.exists(tmp_path / 'a' / '.generate.lock')
    for sub in ('images', 'depth', 'normals', 'edge', 'gt_sets'):
        for name in sorted(os.listdir(tmp_path / 'b' / sub)):
            assert (tmp_path / 'a' / sub / name).read_bytes() == (
                tmp_path / 'b' / sub / name).read_bytes(), (sub, name)


def test_parallel_generation_without_fork_gives_the_same_files(tmp_path):
    """Where the OS has no fork (Windows), the worker pool spawns: same files."""
    import subprocess
    import sys
    script = tmp_path / 'gen.py'
    script.write_text(
        'import hashlib, multiprocessing as mp, os, sys\n'
        'from mmdmtl.datasets.synthetic import writer\n'
        'def digest(root):\n'
        '    out = {}\n'
        '    for d, _, files in os.walk(root):\n'
        '        for f in files:\n'
        '            if not f.endswith(".json"):\n'
        '                p = os.path.join(d, f)\n'
        '                out[os.path.relpath(p, root)] = hashlib.md5(\n'
        '                    open(p, "rb").read()).hexdigest()\n'
        '    return out\n'
        'if __name__ == "__main__":\n'
        '    a, b = sys.argv[1], sys.argv[2]\n'
        '    kw = dict(num_train=40, num_val=8, size=(24, 24), seed=0, num_workers=2)\n'
        '    writer.generate_synthetic_scenes(a, **kw)\n'
        '    mp.get_all_start_methods = lambda: ["spawn"]\n'
        '    writer.generate_synthetic_scenes(b, **kw)\n'
        '    da, db = digest(a), digest(b)\n'
        '    print(len(da), da == db)\n')
    out = subprocess.run([sys.executable, str(script), str(tmp_path / 'fork'),
                          str(tmp_path / 'spawn')], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    n, same = out.stdout.split()[-2:]
    assert int(n) > 96 and same == 'True'
