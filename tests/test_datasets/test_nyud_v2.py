import numpy as np
import pytest

from mmdmtl.datasets import NYUDv2MTDataset, NYUDv2PartialDataset
from mmdmtl.datasets.file_io import DataFileError

PIPE = [
    dict(type='LoadMultiTaskImage'),
    dict(type='LoadMultiTaskAnnotations'),
    dict(type='PackMultiTaskInputs'),
]


def test_nyud_mt_real_sample(shared_path):
    root = shared_path('nyud_v2', 'NYUD_MT')
    ds = NYUDv2MTDataset(data_root=root, ann_file='gt_sets/val.txt',
                         test_mode=True, pipeline=PIPE)
    assert len(ds) == 1 and ds.metainfo['task_classes'] == {'semseg': 40}
    out = ds[0]
    s = out['data_samples']
    assert out['inputs'].shape == (3, 480, 640)
    sem = s.gt_sem_seg.data
    assert sem.shape == (1, 480, 640)
    labelled = sem[sem != 255]
    assert labelled.min() >= 0 and labelled.max() <= 39
    assert (sem == 255).any()  # void (0 in the file) became ignore
    n = s.gt_normal_map.data
    norm = n.norm(dim=0)
    valid = norm > 0
    assert valid.float().mean() > 0.3
    assert (norm[valid] - 1).abs().max() < 1e-5
    d = s.gt_depth_map.data
    assert d.max() < 10 and (d == 0).any()  # metres, 0 = invalid
    assert set(s.gt_edge_map.data.unique().tolist()) == {0, 1}


def test_nyud_mt_partial_files_with_semseg_only(shared_path):
    root = shared_path('nyud_v2', 'NYUD_MT')
    ds = NYUDv2MTDataset(data_root=root, ann_file='gt_sets/val_semseg.txt',
                         tasks=('semseg', 'edge'), test_mode=True,
                         pipeline=PIPE)
    assert len(ds) == 10
    for i in range(len(ds)):
        s = ds[i]['data_samples']
        assert s.gt_sem_seg.shape == s.gt_edge_map.shape
    # Asking for depth where it does not exist names the missing file.
    ds = NYUDv2MTDataset(data_root=root, ann_file='gt_sets/val_semseg.txt',
                         tasks=('depth', ), test_mode=True, pipeline=PIPE)
    with pytest.raises(FileNotFoundError, match='depth/0834.npy'):
        [ds[i] for i in range(len(ds))]


def test_nyud_mt_unknown_task(shared_path):
    root = shared_path('nyud_v2', 'NYUD_MT')
    with pytest.raises(ValueError, match=r"no task\(s\) \['sal'\]"):
        NYUDv2MTDataset(data_root=root, ann_file='gt_sets/val.txt',
                        tasks=('semseg', 'sal'))
    with pytest.raises(ValueError, match="'segmentation'"):
        NYUDv2MTDataset(data_root=root, ann_file='gt_sets/val.txt',
                        tasks=('segmentation', ))


def test_nyud_partial_tiny_layout(nyud_partial_root):
    ds = NYUDv2PartialDataset(data_root=nyud_partial_root, split='train',
                              pipeline=PIPE)
    assert len(ds) == 10
    assert ds.tasks == ('semseg', 'normals', 'depth')
    s = ds[3]['data_samples']
    assert ds[3]['inputs'].shape == (3, 24, 32)
    assert s.gt_sem_seg.data.max() == 255 and s.gt_sem_seg.data.min() == 0
    assert s.gt_depth_map.data.shape == (1, 24, 32)
    assert s.gt_depth_map.data[0, 0, 0] == 0
    assert s.gt_normal_map.data[:, 0, 0].abs().sum() == 0
    ids = [ds.get_data_info(i)['sample_id'] for i in range(len(ds))]
    assert ids == [str(i) for i in range(10)]  # numeric, not lexical order


def test_nyud_partial_published_split_length_mismatch(nyud_partial_root,
                                                      shared_path):
    split = shared_path('partial_label_splits', 'nyuv2', 'onelabel.pth')
    with pytest.raises(DataFileError, match='795 rows.*10 images'):
        NYUDv2PartialDataset(data_root=nyud_partial_root, split='train',
                             label_setting='one_label', split_file=split)


def test_nyud_partial_published_split(tmp_path, layouts, shared_path):
    split = shared_path('partial_label_splits', 'nyuv2', 'onelabel.pth')
    root = layouts.mtan_npy(str(tmp_path), 'train', 795, hw=(2, 3))
    ds = NYUDv2PartialDataset(data_root=root, split='train',
                              label_setting='one_label', split_file=split,
                              pipeline=PIPE)
    assert ds.label_matrix.sum(0).tolist() == [265, 265, 265]
    # Row i of the file (columns semseg, depth, normals) is image i.
    import torch
    w = torch.load(split, weights_only=True)['labels_weights'].numpy()
    np.testing.assert_array_equal(ds.label_matrix, w[:, [0, 2, 1]] > 0)
    for i in range(3):
        s = ds[i]['data_samples']
        assert len(s.labeled_tasks) == 1
        assert s.get_gt(s.labeled_tasks[0]) is not None
        others = set(ds.tasks) - set(s.labeled_tasks)
        assert all(s.get_gt(t) is None for t in others)
    sub = NYUDv2PartialDataset(data_root=root, split='train',
                               tasks=('depth', ), label_setting='one_label',
                               split_file=split, drop_unlabeled=True)
    assert len(sub) == 265


def test_nyud_partial_gap_in_numbering(tmp_path, layouts):
    import os
    root = layouts.mtan_npy(str(tmp_path), 'train', 4)
    os.remove(tmp_path / 'train' / 'image' / '2.npy')
    with pytest.raises(FileNotFoundError, match=r'1 missing.*\[2\]'):
        NYUDv2PartialDataset(data_root=root, split='train')
