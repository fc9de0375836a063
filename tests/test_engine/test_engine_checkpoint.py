"""mmdmtl/engine/checkpoint.py: atomic writes and the state-dict mismatch report."""
import os
import subprocess
import sys
import textwrap

import pytest
import torch
import torch.nn as nn
from mmengine.fileio import get_file_backend

from mmdmtl.engine.checkpoint import (ATOMIC_BACKEND_NAME, AtomicLocalBackend,
                                      CheckpointMismatchError,
                                      check_checkpoint_fits,
                                      compare_state_dicts, extract_state_dict)
from mmdmtl.utils.atomic_write import atomic_write_bytes, remove_own_tmp_files


def test_atomic_write_replaces_content(tmp_path):
    path = tmp_path / 'sub' / 'a.pth'
    atomic_write_bytes(b'first', path)
    atomic_write_bytes(b'second version', path)
    assert path.read_bytes() == b'second version'
    assert os.listdir(path.parent) == ['a.pth']


def test_failed_write_keeps_old_file_and_no_tmp(tmp_path, monkeypatch):
    path = tmp_path / 'a.pth'
    atomic_write_bytes(b'good', path)

    def boom(fd):
        raise OSError('disk full')

    monkeypatch.setattr(os, 'fsync', boom)
    with pytest.raises(OSError, match='disk full'):
        atomic_write_bytes(b'x' * 1000, path)
    assert path.read_bytes() == b'good'
    assert os.listdir(tmp_path) == ['a.pth']


def test_killed_write_leaves_old_file(tmp_path):
    """A process killed by the OS in the middle of the write (file-size limit ->
    SIGXFSZ) leaves the previous file untouched; the leftover temp file is swept."""
    path = tmp_path / 'ckpt.pth'
    path.write_bytes(b'old complete checkpoint')
    script = textwrap.dedent(f"""
        import resource
        from mmdmtl.utils.atomic_write import atomic_write_bytes
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        atomic_write_bytes(b'n' * 100000, {str(path)!r})
    """)
    proc = subprocess.run([sys.executable, '-c', script], timeout=120,
                          capture_output=True)
    assert proc.returncode != 0  # killed (SIGXFSZ) or failed with EFBIG
    assert path.read_bytes() == b'old complete checkpoint'
    leftovers = [n for n in os.listdir(tmp_path) if n != 'ckpt.pth']
    assert all(n.startswith('.ckpt.pth.mmdmtl-') and n.endswith('.tmp')
               for n in leftovers)
    removed = remove_own_tmp_files(str(tmp_path))
    assert len(removed) == len(leftovers)
    assert os.listdir(tmp_path) == ['ckpt.pth']


def test_backend_is_registered(tmp_path):
    backend = get_file_backend(
        str(tmp_path), backend_args=dict(backend=ATOMIC_BACKEND_NAME))
    assert isinstance(backend, AtomicLocalBackend)
    backend.put(b'abc', str(tmp_path / 'x.bin'))
    backend.put_text('hello', str(tmp_path / 'y.txt'))
    assert (tmp_path / 'x.bin').read_bytes() == b'abc'
    assert (tmp_path / 'y.txt').read_text() == 'hello'


def test_backend_defers_removals_until_the_block_succeeds(tmp_path):
    backend = AtomicLocalBackend()
    old, other = tmp_path / 'old.pth', tmp_path / 'other.pth'
    old.write_bytes(b'o')
    other.write_bytes(b'x')
    with backend.deferred_removals():
        backend.remove(str(old))
        assert old.exists()  # still there while the new save runs
    assert not old.exists()
    with pytest.raises(RuntimeError):
        with backend.deferred_removals():
            backend.remove(str(other))
            raise RuntimeError('save failed')
    assert other.exists()  # a failed save removes nothing


class _Net(nn.Module):

    def __init__(self, classes=3, extra=False):
        super().__init__()
        self.backbone = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.head = nn.Conv2d(4, classes, 1)
        if extra:
            self.aux = nn.Linear(2, 2)


def test_compare_state_dicts_lists_every_kind():
    model = _Net(classes=3, extra=True).state_dict()
    ckpt = _Net(classes=5).state_dict()
    ckpt['old.weight'] = torch.zeros(1)
    report = compare_state_dicts(model, ckpt)
    assert sorted(report.missing) == ['aux.bias', 'aux.weight']
    assert report.unexpected == ['old.weight']
    assert report.shape_mismatch == {
        'head.weight': ((5, 4, 1, 1), (3, 4, 1, 1)),
        'head.bias': ((5, ), (3, ))
    }
    # backbone (2) + bn (5 incl. num_batches_tracked)
    assert len(report.matched) == 7
    assert report.num_model_keys == 11
    assert report.matched_ratio == pytest.approx(7 / 11)
    text = report.format('x.pth')
    assert 'x.pth: 7/11' in text and 'aux.weight' in text
    assert 'head.weight (checkpoint [5, 4, 1, 1] vs model [3, 4, 1, 1])' in text


def test_extract_state_dict_strips_ddp_prefix():
    sd = {'module.a': torch.zeros(1), 'b': torch.ones(1)}
    assert sorted(extract_state_dict({'state_dict': sd, 'meta': {}})) == ['a', 'b']
    assert sorted(extract_state_dict(sd)) == ['a', 'b']
    with pytest.raises(CheckpointMismatchError, match='no state dict'):
        extract_state_dict({'state_dict': [1, 2]})


def test_check_checkpoint_fits_policies():
    model = _Net(classes=3)
    # identical: fine, exact
    assert check_checkpoint_fits(model, {'state_dict': model.state_dict()}).is_exact
    # other number of classes: an error naming the file and the keys ...
    other = {'state_dict': _Net(classes=5).state_dict()}
    with pytest.raises(CheckpointMismatchError) as err:
        check_checkpoint_fits(model, other, source='work/other.pth')
    msg = str(err.value)
    assert 'work/other.pth' in msg and 'head.weight' in msg and 'shape' in msg
    # ... unless asked for (fine-tuning to other classes)
    rep = check_checkpoint_fits(model, other, allow_shape_mismatch=True)
    assert set(rep.shape_mismatch) == {'head.weight', 'head.bias'}
    # a checkpoint lacking a head is accepted with a report, not when strict
    partial = {k: v for k, v in _Net(extra=True).state_dict().items()}
    model_x = _Net(extra=True)
    partial.pop('aux.weight')
    assert check_checkpoint_fits(model_x, partial).missing == ['aux.weight']
    with pytest.raises(CheckpointMismatchError, match='exactly'):
        check_checkpoint_fits(model_x, partial, strict=True)
    # a checkpoint of an unrelated model
    unrelated = nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 1))
    with pytest.raises(CheckpointMismatchError, match='another model') as err:
        check_checkpoint_fits(model, {'state_dict': unrelated.state_dict()},
                              source='mlp.pth')
    assert '0/9' in str(err.value) and '0.weight' in str(err.value)
