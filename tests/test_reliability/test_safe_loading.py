"""No file mmdmtl reads can run code (docs/failure_modes.md, "Loading files"):
checkpoints and split files go through one loader (weights-only / an allow-list
unpickler); a file that needs more is refused naming the file, and the published
split files still load. Id lists cannot reach outside data_root."""
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from mmdmtl.datasets.file_io import DataFileError, read_id_list
from mmdmtl.datasets.partial_labels import read_split_file
from mmdmtl.utils.safe_load import (DamagedFileError, UnsafeFileError,
                                    load_pickled_npy, load_torch_file)

REPO = Path(__file__).resolve().parents[2]
SPLITS = REPO.parent / 'shared' / 'data' / 'partial_label_splits'
DEMO_CONFIG = REPO / 'configs' / 'diffusionmtl' / \
    'demo_diffusionmtl-feature_synthetic_one-label.py'


class _MakesMarker:
    """Unpickling this runs ``open(marker, 'w')``: it must never happen."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, 'w'))


def _evil_pth(tmp_path, marker, payload_key='state_dict'):
    path = tmp_path / 'released.pth'
    torch.save({payload_key: {'w': torch.zeros(2)}, 'x': _MakesMarker(marker)},
               path)
    return path


def _evil_npy(tmp_path, marker):
    path = tmp_path / 'onelabel.npy'
    np.save(path, np.array({'semseg': ['a', _MakesMarker(marker)]},
                           dtype=object))
    return path


def test_malicious_checkpoint_is_refused_naming_the_file(tmp_path):
    marker = tmp_path / 'PWNED'
    path = _evil_pth(tmp_path, marker)
    with pytest.raises(UnsafeFileError) as err:
        load_torch_file(str(path))
    msg = str(err.value)
    assert not marker.exists()
    assert str(path) in msg and 'io.open' in msg and 'could run code' in msg
    assert 'weights_only' not in msg


def test_mmengine_loading_goes_through_the_safe_loader(tmp_path):
    """load_from / resume / the inferencer use MMEngine's CheckpointLoader."""
    from mmengine.runner.checkpoint import _load_checkpoint

    import mmdmtl  # noqa: F401 - registers the loader
    marker = tmp_path / 'PWNED'
    with pytest.raises(UnsafeFileError, match='released.pth'):
        _load_checkpoint(str(_evil_pth(tmp_path, marker)), map_location='cpu')
    assert not marker.exists()


def test_test_tool_refuses_a_malicious_checkpoint_in_one_line(tmp_path):
    marker = tmp_path / 'PWNED'
    path = _evil_pth(tmp_path, marker)
    proc = subprocess.run(
        [sys.executable, 'tools/test.py', str(DEMO_CONFIG), str(path),
         '--work-dir', str(tmp_path / 'w')],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS='1'))
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert not marker.exists()
    assert 'Traceback' not in proc.stderr
    first = proc.stderr.strip().splitlines()[0]
    assert first.startswith('test.py: error: refusing to load checkpoint')
    assert str(path) in first and 'weights_only' not in proc.stderr


def test_converter_refuses_a_malicious_release(tmp_path):
    marker = tmp_path / 'PWNED'
    path = _evil_pth(tmp_path, marker, payload_key='model')
    proc = subprocess.run(
        [sys.executable, 'tools/model_converters/official_to_mmdmtl.py',
         str(path), str(tmp_path / 'out.pth')],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS='1'))
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert not marker.exists() and not (tmp_path / 'out.pth').exists()
    assert 'refusing to load SRC' in proc.stderr and str(path) in proc.stderr


def test_malicious_split_files_are_refused(tmp_path):
    marker = tmp_path / 'PWNED'
    with pytest.raises(UnsafeFileError, match='onelabel.npy'):
        read_split_file(str(_evil_npy(tmp_path, marker)), ['a'])
    pth = tmp_path / 'split.pth'
    torch.save({'labels_weights': torch.ones(1, 1), 'x': _MakesMarker(marker)},
               pth)
    with pytest.raises(UnsafeFileError, match='split.pth'):
        read_split_file(str(pth), ['a'], split_columns=('semseg', ))
    assert not marker.exists()


def test_make_partial_split_refuses_a_malicious_npy(tmp_path):
    marker = tmp_path / 'PWNED'
    src = _evil_npy(tmp_path, marker)
    proc = subprocess.run(
        [sys.executable, 'tools/dataset_converters/make_partial_split.py',
         'convert', str(src), '--out', str(tmp_path / 'x.json')],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS='1'))
    assert proc.returncode != 0
    assert not marker.exists() and not (tmp_path / 'x.json').exists()
    assert 'refusing to load split file' in proc.stderr


def test_damaged_files_are_named(tmp_path):
    good = tmp_path / 'good.pth'
    torch.save({'w': torch.zeros(1000)}, good)
    cut = tmp_path / 'cut.pth'
    cut.write_bytes(good.read_bytes()[:300])
    with pytest.raises(DamagedFileError, match='cut.pth'):
        load_torch_file(str(cut))
    npy = tmp_path / 'cut.npy'
    np.save(npy, np.array({'semseg': ['a']}, dtype=object))
    npy.write_bytes(npy.read_bytes()[:-5])
    with pytest.raises(DamagedFileError, match='cut.npy'):
        load_pickled_npy(str(npy))


@pytest.mark.skipif(not SPLITS.is_dir(), reason='shared split files absent')
def test_published_split_files_still_load():
    for name, rows in (('nyuv2/onelabel.pth', 795),
                       ('nyuv2/randomlabels.pth', 795),
                       ('cityscapes/onelabel.pth', 2975)):
        w = load_torch_file(str(SPLITS / name), 'split file')['labels_weights']
        assert w.shape[0] == rows
    w = load_torch_file(str(SPLITS / 'nyuv2/onelabel.pth'))['labels_weights']
    assert (w != 0).sum(0).tolist() == [265, 265, 265]
    one = load_pickled_npy(str(SPLITS / 'pascal_context/onelabel.npy'))
    assert {t: len(v) for t, v in one.items()} == dict(
        semseg=1000, human_parts=999, sal=1000, normals=1000, edge=999)
    rand = load_pickled_npy(str(SPLITS / 'pascal_context/randomlabels.npy'))
    assert set(rand) == set(one)


def test_no_unsafe_loading_anywhere_in_the_package_and_tools():
    pattern = re.compile(r'weights_only\s*=\s*False|allow_pickle\s*=\s*True')
    hits = []
    for root in ('mmdmtl', 'tools'):
        for path in (REPO / root).rglob('*.py'):
            for i, line in enumerate(path.read_text().splitlines(), 1):
                if pattern.search(line):
                    hits.append(f'{path.relative_to(REPO)}:{i}')
    assert not hits, hits


@pytest.mark.parametrize('bad', ['../../etc/passwd', '/etc/passwd',
                                 'a/../../x', 'C:\\x', '..\\x'])
def test_id_lists_stay_inside_data_root(tmp_path, bad):
    ids = tmp_path / 'train.txt'
    ids.write_text(f'0001\n{bad}\n')
    with pytest.raises(DataFileError) as err:
        read_id_list(str(ids))
    assert f'{ids}:2' in str(err.value) and 'outside data_root' in str(err.value)
    ids.write_text('0001\nsub/0002\n')
    assert read_id_list(str(ids)) == ['0001', 'sub/0002']
