"""Hand-made MultiTaskDataSample objects for the visualisation tests."""
import numpy as np
import pytest
import torch


def make_sample(h=24, w=32, labeled=('semseg', 'normals', 'depth'), img_path=None):
    """A sample with every task's prediction and the labels of ``labeled``.

    semseg: left half class 1, right half class 2 (label row 0 ignored);
    human_parts: class 3 everywhere; sal/edge: a horizontal ramp 0..1;
    normals: +z everywhere (label: zero vector in the top-left 4x4 block);
    depth: a vertical ramp 1..5 m (label: 0 = invalid in the last row).
    """
    from mmdmtl.structures import MultiTaskDataSample
    s = MultiTaskDataSample(metainfo=dict(
        labeled_tasks=tuple(labeled), img_shape=(h, w), ori_shape=(h, w),
        **({'img_path': img_path} if img_path else {})))
    sem = torch.ones(1, h, w, dtype=torch.int64)
    sem[:, :, w // 2:] = 2
    ramp = torch.linspace(0, 1, w).expand(1, h, w).clone()
    normals = torch.zeros(3, h, w)
    normals[2] = 1.0
    depth = torch.linspace(1, 5, h)[:, None].expand(h, w)[None].clone()
    preds = dict(semseg=sem, human_parts=torch.full((1, h, w), 3, dtype=torch.int64),
                 sal=ramp, edge=ramp, normals=normals, depth=depth)
    for t, v in preds.items():
        s.set_pred(t, v)
    labels = dict(
        semseg=sem.clone(), human_parts=preds['human_parts'].clone(),
        sal=(ramp > 0.5).long(), edge=(ramp > 0.9).long(), normals=normals.clone(),
        depth=depth.clone())
    labels['semseg'][:, 0] = 255
    labels['normals'][:, :4, :4] = 0
    labels['depth'][:, -1] = 0
    for t in labeled:
        s.set_gt(t, labels[t])
    return s


@pytest.fixture
def sample_factory():
    return make_sample


@pytest.fixture
def rgb_image():
    rng = np.random.RandomState(0)
    return rng.randint(0, 255, (24, 32, 3), dtype=np.uint8)
