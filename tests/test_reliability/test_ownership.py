"""Nothing a user owns is lost (docs/failure_modes.md, "Writing files"): temp
cleanup removes only mmdmtl's own temp files, one training run per work dir,
one output name per input, replacing an earlier run's output is said, and label
files without an image are reported."""
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest

from mmdmtl.engine.work_dir import LOCK_NAME, WorkDirLock, WorkDirLockedError
from mmdmtl.utils.atomic_write import (atomic_write_bytes, is_own_tmp_file,
                                       remove_own_tmp_files)
from mmdmtl.utils.safe_output import UniqueOutputNames

REPO = Path(__file__).resolve().parents[2]
DEMO_CONFIG = REPO / 'configs' / 'diffusionmtl' / \
    'demo_diffusionmtl-feature_synthetic_one-label.py'


def _run(args, timeout=300):
    return subprocess.run(
        [sys.executable] + [str(a) for a in args], cwd=REPO, capture_output=True,
        text=True, timeout=timeout,
        env=dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS='1'))


def test_temp_cleanup_touches_only_mmdmtl_temp_files(tmp_path):
    users = ['.notes.tmp', '.iter_4.pth.abc123.tmp', 'x.tmp', '.mmdmtl-.tmp']
    for name in users:
        (tmp_path / name).write_text('mine')
    own = tmp_path / '.iter_4.pth.mmdmtl-k3j_x9.tmp'
    own.write_text('half')
    assert is_own_tmp_file(own.name)
    assert not any(is_own_tmp_file(n) for n in users)
    assert remove_own_tmp_files(str(tmp_path)) == [str(own)]
    assert sorted(os.listdir(tmp_path)) == sorted(users)
    # and what the writer creates matches the pattern it removes
    atomic_write_bytes(b'x', tmp_path / 'f.bin')
    assert (tmp_path / 'f.bin').read_bytes() == b'x'


_HOLD = textwrap.dedent('''
    import sys, time
    from mmdmtl.engine.work_dir import WorkDirLock
    WorkDirLock(sys.argv[1]).acquire()
    print('locked', flush=True)
    time.sleep(60)
''')


def test_second_run_on_a_work_dir_refuses_naming_pid_and_host(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, '-c', _HOLD, str(tmp_path)], stdout=subprocess.PIPE,
        text=True, env=dict(os.environ, PYTHONPATH=str(REPO)))
    try:
        assert holder.stdout.readline().strip() == 'locked'
        with pytest.raises(WorkDirLockedError) as err:
            WorkDirLock(str(tmp_path)).acquire()
        msg = str(err.value)
        assert f'pid {holder.pid}' in msg and socket.gethostname() in msg
        assert str(tmp_path) in msg and '--work-dir' in msg
    finally:
        holder.kill()
        holder.wait()
    # the holder was killed: its lock is stale and taken over, with a note
    lock = WorkDirLock(str(tmp_path))
    note = lock.acquire()
    assert note and f'pid {holder.pid}' in note and 'no longer exists' in note
    assert json.loads((tmp_path / LOCK_NAME).read_text())['pid'] == os.getpid()
    lock.release()
    assert not (tmp_path / LOCK_NAME).exists()


def test_train_tool_refuses_a_locked_work_dir(tmp_path):
    work = tmp_path / 'work'
    work.mkdir()
    # this test process is alive: its lock is not stale
    (work / LOCK_NAME).write_text(json.dumps(dict(
        pid=os.getpid(), host=socket.gethostname(), started='now')))
    proc = _run(['tools/train.py', DEMO_CONFIG, '--work-dir', work])
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr
    first = proc.stderr.strip().splitlines()[0]
    assert 'is in use by another training run' in first
    assert f'pid {os.getpid()}' in first
    assert not list(work.glob('*/*.log'))  # no log was started


def test_unique_output_names():
    names = UniqueOutputNames()
    got = [names.name(p) for p in ('/d/a/0000.png', '/d/b/0000.png',
                                    '/d/a/photo.png', '/d/a/photo.jpg',
                                    '/e/a/photo.jpg', '/d/a/0000.png', None,
                                    None)]
    assert got == ['0000', 'b_0000', 'photo', 'a_photo', 'a_photo_jpg',
                   '0000', '00000000', '00000001']
    assert len(set(got)) == len(got) - 1  # the repeated input keeps its name
    assert ('/d/b/0000.png', 'b_0000') in names.renamed


def test_inferencer_writes_one_file_per_input(tmp_path):
    from mmengine.config import Config

    from mmdmtl.apis import MultiTaskInferencer
    cfg = Config.fromfile(str(DEMO_CONFIG))
    cfg.model.channels = 16
    cfg.model.refine_head.num_heads = 2
    rng = np.random.default_rng(0)
    inputs = []
    for rel in ('a/0000.png', 'b/0000.png', 'a/photo.jpg'):
        path = tmp_path / 'in' / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), rng.integers(0, 255, (24, 32, 3), np.uint8))
        inputs.append(str(path))
    (tmp_path / 'in' / 'a' / 'photo.png').write_bytes(
        (tmp_path / 'in' / 'a' / '0000.png').read_bytes())
    inputs.append(str(tmp_path / 'in' / 'a' / 'photo.png'))
    with pytest.warns(UserWarning, match='randomly initialised'):
        inferencer = MultiTaskInferencer(cfg, None, device='cpu',
                                         tasks=['semseg'])
    out = tmp_path / 'out'
    inferencer(inputs, out_dir=str(out), batch_size=1)
    assert sorted(os.listdir(out / 'preds' / 'semseg')) == [
        '0000.png', 'a_photo.png', 'b_0000.png', 'photo.png']
    assert len(os.listdir(out / 'vis')) == 4
    # a second run into the same folder replaces its files and says so
    with pytest.warns(UserWarning, match='written before this run'):
        inferencer(inputs[:1], out_dir=str(out))


def test_orphan_label_files_are_reported(tmp_path, monkeypatch):
    import mmengine.logging

    from mmdmtl.datasets import MultiTaskFolderDataset
    root = tmp_path / 'data'
    (root / 'images').mkdir(parents=True)
    (root / 'semseg').mkdir()
    for sid in ('a', 'b'):
        cv2.imwrite(str(root / 'images' / f'{sid}.png'),
                    np.zeros((8, 8, 3), np.uint8))
    for sid in ('a', 'b', 'gone1', 'gone2'):
        cv2.imwrite(str(root / 'semseg' / f'{sid}.png'),
                    np.zeros((8, 8), np.uint8))
    logged = []
    monkeypatch.setattr(mmengine.logging, 'print_log',
                        lambda msg, *a, **k: logged.append(msg))
    ds = MultiTaskFolderDataset(
        data_root=str(root), img_dir='images', img_suffix='.png',
        tasks=dict(semseg='semseg'), metainfo=dict(classes=('x', 'y')),
        pipeline=[])
    assert len(ds) == 2
    hits = [m for m in logged if 'have no image' in m]
    assert len(hits) == 1, logged
    assert '2 semseg label file(s)' in hits[0] and 'gone1.png' in hits[0]


def test_test_tool_out_hook_names_apart_and_says_so(tmp_path, monkeypatch):
    """tools/test.py --out DIR: MultiTaskPredictionSaveHook, same naming."""
    import types

    import mmengine.logging
    import torch

    from mmdmtl.engine.hooks import MultiTaskPredictionSaveHook
    from mmdmtl.structures import MultiTaskDataSample
    logged = []
    monkeypatch.setattr(mmengine.logging, 'print_log',
                        lambda msg, *a, **k: logged.append(msg))

    def sample(path):
        ds = MultiTaskDataSample(metainfo=dict(img_path=path))
        ds.set_pred('semseg', torch.zeros(1, 4, 4, dtype=torch.long))
        return ds

    out = tmp_path / 'out'
    runner = types.SimpleNamespace(work_dir=str(tmp_path))
    for run in range(2):
        hook = MultiTaskPredictionSaveHook(str(out), save_npy=False)
        hook.before_test(runner)
        hook.after_test_iter(runner, 0, outputs=[sample('/d/a/0000.png'),
                                                 sample('/d/b/0000.png')])
        hook.after_test(runner)
        assert sorted(os.listdir(out / 'semseg')) == ['0000.png', 'b_0000.png']
    assert any('named apart' in m and 'b_0000' in m for m in logged)
    # the second run replaced the first run's two files and said so
    assert any('written before this run' in m for m in logged)
    assert any('replaced 2 file(s)' in m for m in logged)
