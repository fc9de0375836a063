import os
import os.path as osp

import numpy as np
import pytest

from mmdmtl.datasets import MultiTaskDataset, SyntheticScenesDataset

PIPE = [
    dict(type='LoadMultiTaskImage'),
    dict(type='LoadMultiTaskAnnotations'),
    dict(type='PackMultiTaskInputs'),
]


def test_tasks_subset_keeps_dataset_order(synthetic_root):
    ds = SyntheticScenesDataset(data_root=synthetic_root,
                                tasks=('depth', 'semseg'), pipeline=PIPE)
    assert ds.tasks == ('semseg', 'depth')
    assert ds.metainfo['task_classes'] == {'semseg': 9}
    s = ds[0]['data_samples']
    assert s.labeled_tasks == ('semseg', 'depth')
    assert s.get_gt('normals') is None


def test_empty_and_unknown_tasks(synthetic_root):
    with pytest.raises(ValueError, match='must not be empty'):
        SyntheticScenesDataset(data_root=synthetic_root, tasks=())
    with pytest.raises(ValueError, match=r"\['normal'\]"):
        SyntheticScenesDataset(data_root=synthetic_root, tasks=('normal', ))
    with pytest.raises(ValueError, match="'some_labels'"):
        SyntheticScenesDataset(data_root=synthetic_root,
                               label_setting='some_labels')
    with pytest.raises(ValueError, match='on_bad_sample'):
        SyntheticScenesDataset(data_root=synthetic_root,
                               on_bad_sample='ignore')


def test_random_label_generated_from_seed(synthetic_root):
    a = SyntheticScenesDataset(data_root=synthetic_root,
                               label_setting='random_label', split_seed=4)
    b = SyntheticScenesDataset(data_root=synthetic_root,
                               label_setting='random_label', split_seed=4)
    np.testing.assert_array_equal(a.label_matrix, b.label_matrix)
    k = a.label_matrix.sum(1)
    assert k.min() >= 1 and k.max() <= 5
    for i in range(len(a)):
        info = a.get_data_info(i)
        assert set(info['ann_info']) == set(info['labeled_tasks'])


def test_json_split_file_relative_to_data_root(synthetic_root, tmp_path):
    import json
    ids = [f'train_{i:06d}' for i in range(12)]
    split = {i: (['semseg'] if k % 2 else ['depth', 'sal'])
             for k, i in enumerate(ids)}
    path = tmp_path / 'split.json'
    path.write_text(json.dumps(split))
    ds = SyntheticScenesDataset(data_root=synthetic_root,
                                tasks=('semseg', 'sal', 'depth'),
                                label_setting='random_label',
                                split_file=str(path), pipeline=PIPE)
    assert ds.get_data_info(0)['labeled_tasks'] == ('sal', 'depth')
    assert ds.get_data_info(1)['labeled_tasks'] == ('semseg', )
    # a split that only covers some of the dataset's tasks
    with pytest.raises(ValueError, match=r"not the dataset task\(s\)"):
        SyntheticScenesDataset(data_root=synthetic_root,
                               label_setting='random_label',
                               split_file=str(path))
    with pytest.raises(ValueError, match='full'):
        SyntheticScenesDataset(data_root=synthetic_root,
                               split_file=str(path))


def test_indices_subset_label_matrix(synthetic_root):
    ds = SyntheticScenesDataset(data_root=synthetic_root,
                                label_setting='one_label', indices=4)
    assert len(ds) == 4 and ds.label_matrix.shape == (4, 6)
    full = SyntheticScenesDataset(data_root=synthetic_root,
                                  label_setting='one_label')
    np.testing.assert_array_equal(ds.label_matrix, full.label_matrix[:4])


def _broken_copy(src, dst):
    import shutil
    shutil.copytree(src, dst)
    os.remove(osp.join(dst, 'depth', 'train_000002.npy'))
    with open(osp.join(dst, 'images', 'train_000005.png'), 'r+b') as f:
        f.truncate(200)
    return dst


def test_bad_samples_raise_or_skip(synthetic_root, tmp_path):
    root = _broken_copy(synthetic_root, str(tmp_path / 'broken'))
    ds = SyntheticScenesDataset(data_root=root, pipeline=PIPE)
    with pytest.raises(FileNotFoundError, match='train_000002.npy'):
        ds[2]
    with pytest.raises(ValueError, match='train_000005.png'):
        ds[5]
    skip = SyntheticScenesDataset(data_root=root, pipeline=PIPE,
                                  on_bad_sample='skip')
    np.random.seed(0)
    items = [skip[i] for i in range(len(skip))]
    assert all(it is not None for it in items)
    # each bad index counts once, plus any bad random replacement
    assert skip.num_bad_samples >= 2
    ids = {it['data_samples'].metainfo['sample_id'] for it in items}
    assert 'train_000002' not in ids and 'train_000005' not in ids
    # At test time a bad sample always raises (metrics must not skip).
    test = SyntheticScenesDataset(data_root=root, pipeline=PIPE,
                                  on_bad_sample='skip', test_mode=True)
    with pytest.raises(FileNotFoundError):
        test[2]


def test_base_class_needs_load_samples():
    class Empty(MultiTaskDataset):
        AVAILABLE_TASKS = ('semseg', )

    with pytest.raises(NotImplementedError):
        Empty()
