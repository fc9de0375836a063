import pytest
import torch
from mmengine.structures import PixelData

from mmdmtl.structures import (MultiTaskDataSample, labeled_task_mask,
                               stack_task_targets)


def _sample(labeled, h=4, w=5, path='img.png'):
    s = MultiTaskDataSample(metainfo=dict(labeled_tasks=tuple(labeled), img_path=path,
                                          img_shape=(h, w)))
    if 'semseg' in labeled:
        s.gt_sem_seg = PixelData(data=torch.full((1, h, w), 3, dtype=torch.int64))
    if 'normals' in labeled:
        n = torch.zeros(3, h, w)
        n[2] = 1
        s.gt_normal_map = PixelData(data=n)
    return s


def test_fields_and_labeled_tasks():
    s = _sample(['normals'])
    assert s.labeled_tasks == ('normals', )
    assert s.is_labeled('normals') and not s.is_labeled('semseg')
    assert s.get_gt('semseg') is None and 'gt_sem_seg' not in s
    assert s.get_gt('normals').data.shape == (3, 4, 5)
    s.set_pred('edge', torch.rand(1, 4, 5))
    assert isinstance(s.pred_edge_map, PixelData)
    with pytest.raises(AssertionError):
        s.gt_depth_map = torch.zeros(1, 4, 5)  # must be PixelData


def test_stack_targets_fills_unlabelled_with_pad_value():
    batch = [_sample(['semseg']), _sample(['normals']), _sample(['semseg', 'normals'])]
    seg, lab = stack_task_targets(batch, 'semseg')
    assert seg.dtype == torch.int64 and seg.shape == (3, 1, 4, 5)
    assert lab.tolist() == [True, False, True]
    assert (seg[1] == 255).all() and (seg[0] == 3).all()
    nrm, lab = stack_task_targets(batch, 'normals')
    assert nrm.dtype == torch.float32 and lab.tolist() == [False, True, True]
    assert (nrm[0] == 0).all() and (nrm[2, 2] == 1).all()
    mask = labeled_task_mask(batch, ['semseg', 'normals', 'depth'])
    assert mask.tolist() == [[True, False, False], [False, True, False], [True, True, False]]


def test_stack_targets_errors_name_the_image():
    s = MultiTaskDataSample(metainfo=dict(labeled_tasks=('depth', ), img_path='a/b.png'))
    with pytest.raises(KeyError, match='a/b.png.*depth'):
        stack_task_targets([s], 'depth')
    big = _sample(['semseg'], h=6)
    with pytest.raises(ValueError, match='different sizes'):
        stack_task_targets([_sample(['semseg']), big], 'semseg')


def test_no_label_in_batch_gives_placeholder_of_image_size():
    seg, lab = stack_task_targets([_sample(['normals'], h=7, w=9)], 'semseg')
    assert seg.shape == (1, 1, 7, 9) and not lab.any() and (seg == 255).all()
