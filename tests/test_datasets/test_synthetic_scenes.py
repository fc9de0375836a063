import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from mmdmtl.datasets import SyntheticScenesDataset, generate_synthetic_scenes
from mmdmtl.datasets.synthetic_scenes import (FIGURE, FOREGROUND,
                                              SYNTHETIC_CLASSES,
                                              generate_sample)

PIPE = [
    dict(type='LoadMultiTaskImage'),
    dict(type='LoadMultiTaskAnnotations'),
    dict(type='PackMultiTaskInputs'),
]


def test_generation_is_deterministic_and_seeded():
    a = generate_sample(0, 'train', 3, (40, 56))
    b = generate_sample(0, 'train', 3, (40, 56))
    c = generate_sample(1, 'train', 3, (40, 56))
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert not np.array_equal(a['semseg'], c['semseg'])
    assert not np.array_equal(
        a['image'], generate_sample(0, 'val', 3, (40, 56))['image'])


@pytest.mark.parametrize('index', [0, 1, 2])
def test_labels_are_consistent(index):
    s = generate_sample(7, 'train', index, (64, 80))
    sem, parts, sal, edge = s['semseg'], s['human_parts'], s['sal'], s['edge']
    assert sem.max() < len(SYNTHETIC_CLASSES)
    # Saliency = foreground classes; parts exactly on the figure.
    np.testing.assert_array_equal(sal, np.isin(sem, FOREGROUND))
    np.testing.assert_array_equal(parts > 0, sem == FIGURE)
    # Unit normals facing the camera: n . ray < 0 everywhere.
    n = s['normals']
    np.testing.assert_allclose(np.linalg.norm(n, axis=-1), 1, atol=1e-5)
    h, w = sem.shape
    v, u = np.mgrid[0:h, 0:w]
    rays = np.stack([u + 0.5 - w / 2, v + 0.5 - h / 2,
                     np.full((h, w), s['focal'])], -1)
    assert ((n * rays).sum(-1) < 1e-6).all()
    assert (s['depth'] > 0).all() and np.isfinite(s['depth']).all()
    # Every semseg boundary is an edge on one of its two sides, and edges
    # are thin (not whole regions).
    diff = sem[:, 1:] != sem[:, :-1]
    assert (edge[:, 1:] | edge[:, :-1])[diff].all()
    assert edge.mean() < 0.15


def test_floor_normals_match_depth_geometry():
    # Back-project the floor pixels with the depth: they lie on one plane
    # whose normal is the labelled normal.
    s = generate_sample(2, 'train', 0, (96, 96))
    floor = s['semseg'] == 0
    assert floor.sum() > 200
    n = s['normals'][floor]
    np.testing.assert_allclose(n, np.broadcast_to(n[:1], n.shape), atol=1e-5)
    h, w = floor.shape
    v, u = np.mgrid[0:h, 0:w]
    z = s['depth']
    # Focal length unknown here: planarity in (u*z, v*z, z) is projective-
    # invariant, so fit a plane a*(u z) + b*(v z) + c*z = 1 exactly.
    pts = np.stack([(u + 0.5) * z, (v + 0.5) * z, z], -1)[floor]
    coef, res, *_ = np.linalg.lstsq(pts, np.ones(len(pts)), rcond=None)
    assert np.abs(pts @ coef - 1).max() < 1e-3


def test_parts_and_all_classes_occur_over_a_few_scenes():
    seen, parts = set(), set()
    for i in range(6):
        s = generate_sample(0, 'train', i, (64, 64))
        seen |= set(np.unique(s['semseg']).tolist())
        parts |= set(np.unique(s['human_parts']).tolist())
    assert len(seen) >= 8
    assert parts == set(range(7))


def test_generate_writes_layout_and_manifest(synthetic_root):
    for sub in ('images', 'segmentation', 'depth', 'normals', 'edge', 'sal',
                'human_parts'):
        assert len(os.listdir(osp.join(synthetic_root, sub))) == 16, sub
    m = json.load(open(osp.join(synthetic_root, 'manifest.json')))
    assert m['num_train'] == 12 and m['size'] == [48, 64] and m['seed'] == 3
    img = cv2.imread(osp.join(synthetic_root, 'images', 'train_000000.png'))
    assert img.shape == (48, 64, 3)


def test_regenerates_only_when_params_change(tmp_path):
    root = str(tmp_path / 's')
    assert generate_synthetic_scenes(root, 2, 1, (16, 16), seed=0)
    keep = osp.join(root, 'user_file.txt')
    open(keep, 'w').write('mine')
    assert not generate_synthetic_scenes(root, 2, 1, (16, 16), seed=0)
    assert generate_synthetic_scenes(root, 3, 1, (16, 16), seed=0)
    assert len(os.listdir(osp.join(root, 'images'))) == 4
    assert open(keep).read() == 'mine'  # never deletes what is not ours


def test_dataset_loads_all_tasks_through_pipeline(synthetic_root):
    ds = SyntheticScenesDataset(data_root=synthetic_root, split='train',
                                pipeline=PIPE)
    assert len(ds) == 12
    assert ds.metainfo['tasks'] == ('semseg', 'human_parts', 'sal',
                                    'normals', 'edge', 'depth')
    assert ds.metainfo['task_classes'] == {'semseg': 9, 'human_parts': 7}
    out = ds[0]
    s = out['data_samples']
    assert out['inputs'].shape == (3, 48, 64)
    for t in ds.tasks:
        assert s.get_gt(t) is not None, t
    ref = generate_sample(3, 'train', 0, (48, 64))
    np.testing.assert_array_equal(s.gt_sem_seg.data[0].numpy(),
                                  ref['semseg'])
    np.testing.assert_allclose(s.gt_normal_map.data.numpy().transpose(
        1, 2, 0), ref['normals'], atol=1e-4)
    np.testing.assert_allclose(s.gt_depth_map.data[0].numpy(), ref['depth'])
    np.testing.assert_array_equal(s.gt_edge_map.data[0].numpy(), ref['edge'])
    np.testing.assert_array_equal(s.gt_part_seg.data[0].numpy(),
                                  ref['human_parts'])


def test_dataset_one_label_reads_one_file(synthetic_root):
    ds = SyntheticScenesDataset(data_root=synthetic_root, split='train',
                                label_setting='one_label', split_seed=1,
                                pipeline=PIPE)
    assert ds.label_matrix.sum(1).tolist() == [1] * 12
    assert sorted(ds.label_matrix.sum(0).tolist()) == [2] * 6
    info = ds.get_data_info(0)
    assert len(info['ann_info']) == 1
    assert tuple(info['ann_info']) == info['labeled_tasks']


def test_missing_dataset_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match='manifest.json'):
        SyntheticScenesDataset(data_root=str(tmp_path), pipeline=PIPE)
    with pytest.raises(ValueError, match='sizes'):
        SyntheticScenesDataset(data_root=str(tmp_path),
                               generate=dict(sizes=(8, 8)))
