import json
from pathlib import Path

import numpy as np
import pytest

from mmdmtl.datasets.file_io import DataFileError
from mmdmtl.datasets.partial_labels import (generate_label_matrix,
                                            matrix_to_mapping, read_split_file,
                                            write_split_file)

SPLITS = (Path(__file__).resolve().parents[2] / '..' / 'shared' / 'data' /
          'partial_label_splits').resolve()


def _need(path: Path) -> str:
    if not path.exists():
        pytest.skip(f'published split not found: {path}')
    return str(path)


def test_published_nyuv2_one_label_counts():
    path = _need(SPLITS / 'nyuv2' / 'onelabel.pth')
    ids = [str(i) for i in range(795)]
    m, cols = read_split_file(path, ids, ('semseg', 'depth', 'normals'))
    assert cols == ('semseg', 'depth', 'normals')
    assert m.shape == (795, 3)
    assert m.sum(0).tolist() == [265, 265, 265]
    assert (m.sum(1) == 1).all()


def test_published_nyuv2_random_label_counts():
    path = _need(SPLITS / 'nyuv2' / 'randomlabels.pth')
    m, _ = read_split_file(path, [str(i) for i in range(795)],
                           ('semseg', 'depth', 'normals'))
    assert m.sum(0).tolist() == [392, 408, 385]
    assert np.bincount(m.sum(1)).tolist() == [0, 405, 390]


def test_published_cityscapes_counts():
    path = _need(SPLITS / 'cityscapes' / 'onelabel.pth')
    m, _ = read_split_file(path, [str(i) for i in range(2975)],
                           ('semseg', 'depth'))
    assert m.sum(0).tolist() == [1487, 1488]
    assert (m.sum(1) == 1).all()


def _pascal_ids(path):
    data = np.load(path, allow_pickle=True).item()
    return sorted({str(i) for v in data.values() for i in v})


def test_published_pascal_one_label_counts():
    path = _need(SPLITS / 'pascal_context' / 'onelabel.npy')
    ids = _pascal_ids(path)
    assert len(ids) == 4998
    m, cols = read_split_file(path, ids)
    counts = dict(zip(cols, m.sum(0).tolist()))
    assert counts == dict(semseg=1000, human_parts=999, sal=1000,
                          normals=1000, edge=999)
    assert (m.sum(1) == 1).all()


def test_published_pascal_random_label_counts():
    path = _need(SPLITS / 'pascal_context' / 'randomlabels.npy')
    m, cols = read_split_file(path, _pascal_ids(path))
    counts = dict(zip(cols, m.sum(0).tolist()))
    assert counts == dict(semseg=2450, human_parts=847, sal=2445,
                          normals=2480, edge=2557)
    assert np.bincount(m.sum(1)).tolist() == [0, 1538, 1529, 1541, 390]


def test_pth_length_mismatch_names_counts():
    path = _need(SPLITS / 'nyuv2' / 'onelabel.pth')
    with pytest.raises(DataFileError, match='795 rows.*10 images'):
        read_split_file(path, [str(i) for i in range(10)],
                        ('semseg', 'depth', 'normals'))


def test_pth_needs_columns():
    path = _need(SPLITS / 'nyuv2' / 'onelabel.pth')
    with pytest.raises(ValueError, match='split_columns'):
        read_split_file(path, [str(i) for i in range(795)])
    with pytest.raises(DataFileError, match=r'\[N, 2\]'):
        read_split_file(path, [str(i) for i in range(795)],
                        ('semseg', 'depth'))


def test_npy_id_mismatch_lists_ids(tmp_path):
    path = _need(SPLITS / 'pascal_context' / 'onelabel.npy')
    ids = _pascal_ids(path)[:10] + ['2099_999999']
    with pytest.raises(DataFileError) as e:
        read_split_file(path, ids)
    msg = str(e.value)
    assert '1 dataset image(s) are not in the split' in msg
    assert '2099_999999' in msg
    assert '4988 image id(s) of the split file are not in the dataset' in msg
    # Non-strict ignores extra ids of the file, never missing ones.
    m, _ = read_split_file(path, _pascal_ids(path)[:10], strict=False)
    assert m.shape == (10, 5) and (m.sum(1) == 1).all()
    with pytest.raises(DataFileError, match='2099_999999'):
        read_split_file(path, ids, strict=False)


@pytest.mark.parametrize('ext', ['.json', '.npy', '.pth'])
def test_write_read_round_trip(tmp_path, ext):
    tasks = ('semseg', 'normals', 'depth')
    ids = [f'img{i}' for i in range(20)]
    m = generate_label_matrix(20, 3, 'random_label', seed=5)
    path = str(tmp_path / f'split{ext}')
    write_split_file(path, m, ids, tasks)
    cols = ('semseg', 'normals', 'depth')
    back, got_cols = read_split_file(path, ids, cols)
    order = [got_cols.index(t) for t in tasks]
    np.testing.assert_array_equal(back[:, order], m)


def test_json_format_is_plain_mapping(tmp_path):
    m = np.array([[1, 0], [0, 1], [1, 1]], bool)
    path = tmp_path / 's.json'
    write_split_file(str(path), m, ['a', 'b', 'c'], ('semseg', 'depth'))
    assert json.loads(path.read_text()) == {
        'a': ['semseg'], 'b': ['depth'], 'c': ['semseg', 'depth']}
    assert matrix_to_mapping(m, ['a', 'b', 'c'], ('semseg', 'depth'))['c'] == \
        ['semseg', 'depth']


def test_json_unknown_task(tmp_path):
    path = tmp_path / 's.json'
    path.write_text(json.dumps({'a': ['semseg', 'segm']}))
    with pytest.raises(ValueError, match="'segm'"):
        read_split_file(str(path), ['a'])


def test_unknown_extension(tmp_path):
    path = tmp_path / 's.txt'
    path.write_text('x')
    with pytest.raises(ValueError, match="'.txt'"):
        read_split_file(str(path), ['a'])


def test_missing_file_names_path(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.json'):
        read_split_file(str(tmp_path / 'nope.json'), ['a'])


def test_generate_one_label_balanced_and_seeded():
    m = generate_label_matrix(103, 5, 'one_label', seed=1)
    assert (m.sum(1) == 1).all()
    assert sorted(m.sum(0).tolist()) == [20, 20, 21, 21, 21]
    np.testing.assert_array_equal(
        m, generate_label_matrix(103, 5, 'one_label', seed=1))
    assert not np.array_equal(m,
                              generate_label_matrix(103, 5, 'one_label', 2))


def test_generate_random_label_non_empty_non_full():
    m = generate_label_matrix(500, 5, 'random_label', seed=0)
    k = m.sum(1)
    assert k.min() == 1 and k.max() == 4
    # All subset sizes 1..4 occur, roughly uniformly.
    assert (np.bincount(k)[1:] > 80).all()
    assert generate_label_matrix(7, 1, 'random_label').all()
    assert generate_label_matrix(7, 3, 'full').all()
    with pytest.raises(ValueError, match="'two_label'"):
        generate_label_matrix(7, 3, 'two_label')
