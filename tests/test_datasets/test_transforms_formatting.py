import numpy as np
import pytest
import torch

from mmdmtl.datasets.transforms import PackMultiTaskInputs
from mmdmtl.structures import MultiTaskDataSample


def test_pack_every_field_with_its_dtype():
    h, w = 6, 8
    res = dict(
        img=np.zeros((h, w, 3), np.uint8),
        img_path='x.png', img_shape=(h, w), ori_shape=(h, w),
        labeled_tasks=('semseg', 'normals', 'depth', 'edge'),
        gt_seg_map=np.full((h, w), 3, np.uint8),
        gt_normal_map=np.tile(np.array([0, 0, -1], np.float32), (h, w, 1)),
        gt_depth_map=np.full((h, w), 2.5, np.float32),
        gt_edge_map=np.ones((h, w), np.uint8),
        gt_sal_map=np.ones((h, w), np.uint8))  # not labelled: not packed
    out = PackMultiTaskInputs()(res)
    assert out['inputs'].shape == (3, h, w)
    s = out['data_samples']
    assert isinstance(s, MultiTaskDataSample)
    assert s.gt_sem_seg.data.dtype == torch.int64
    assert s.gt_sem_seg.data.shape == (1, h, w)
    assert s.gt_normal_map.data.shape == (3, h, w)
    assert s.gt_normal_map.data[2].eq(-1).all()
    assert s.gt_depth_map.data.dtype == torch.float32
    assert s.gt_edge_map.data.dtype == torch.int64
    assert not hasattr(s, 'gt_sal_map') or s.get_gt('sal') is None
    assert s.labeled_tasks == ('semseg', 'normals', 'depth', 'edge')
    assert s.metainfo['img_path'] == 'x.png'


def test_pack_labelled_but_missing_raises():
    res = dict(img=np.zeros((4, 4, 3), np.uint8), img_path='y.png',
               labeled_tasks=('depth', ))
    with pytest.raises(KeyError, match='y.png.*depth'):
        PackMultiTaskInputs()(res)
