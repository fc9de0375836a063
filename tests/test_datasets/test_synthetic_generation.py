"""SyntheticScenes generation by several processes: one folder is generated once
(a ``filelock`` lock per folder), and spawned workers write the same files as
forked ones."""
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_two_processes_generate_one_folder_once(tmp_path):
    """Both start at once; one generates, the other waits for the lock and finds
    the manifest (generate_synthetic_scenes returns False)."""
    root = tmp_path / 'scenes'
    code = ('from mmdmtl.datasets.synthetic_scenes import generate_synthetic_scenes\n'
            f'print(generate_synthetic_scenes({str(root)!r}, 60, 10, (48, 48)))\n')
    procs = [subprocess.Popen([sys.executable, '-c', code], cwd=str(REPO),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [e[-2000:] for _, e in outs]
    assert sorted(o.split()[-1] for o, _ in outs) == ['False', 'True']
    assert len(os.listdir(root / 'images')) == 70


def test_parallel_generation_without_fork_gives_the_same_files(tmp_path):
    """Where the OS has no fork (Windows), the worker pool spawns: same files."""
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
