import pytest
import torch
from mmengine.structures import PixelData

from mmdmtl.models.data_preprocessor import MultiTaskDataPreProcessor
from mmdmtl.structures import MultiTaskDataSample, stack_task_targets


def _sample(h, w, tasks):
    s = MultiTaskDataSample()
    s.set_metainfo(dict(img_shape=(h, w), labeled_tasks=tasks,
                        img_path=f'{h}x{w}.png'))
    if 'semseg' in tasks:
        s.gt_sem_seg = PixelData(data=torch.full((1, h, w), 2))
    if 'normals' in tasks:
        n = torch.zeros(3, h, w)
        n[2] = -1
        s.gt_normal_map = PixelData(data=n)
    if 'depth' in tasks:
        s.gt_depth_map = PixelData(data=torch.full((1, h, w), 3.0))
    return s


def _data():
    inputs = [torch.full((3, 4, 6), 10, dtype=torch.uint8),
              torch.full((3, 5, 3), 20, dtype=torch.uint8)]
    samples = [_sample(4, 6, ('semseg', 'normals')),
               _sample(5, 3, ('depth', 'semseg'))]
    samples[0].gt_sem_seg.data[0, 0, 0] = 1
    return dict(inputs=inputs, data_samples=samples)


def test_training_pads_inputs_and_labels_with_task_values():
    pre = MultiTaskDataPreProcessor(mean=[10, 10, 10], std=[2, 2, 2],
                                    size_divisor=4, pad_val=-7,
                                    bgr_to_rgb=True)
    out = pre(_data(), training=True)
    x = out['inputs']
    assert x.shape == (2, 3, 8, 8) and x.dtype == torch.float32
    assert (x[0, :, :4, :6] == 0).all() and (x[1, :, :5, :3] == 5).all()
    assert (x[0, :, 4:] == -7).all() and (x[1, :, :, 3:] == -7).all()
    s0, s1 = out['data_samples']
    assert s0.gt_sem_seg.shape == (8, 8)
    assert (s0.gt_sem_seg.data[0, 4:] == 255).all()
    assert s0.gt_sem_seg.data[0, 0, 0] == 1
    assert (s0.gt_normal_map.data[:, :, 6:] == 0).all()
    assert (s0.gt_normal_map.data[2, :4, :6] == -1).all()
    assert (s1.gt_depth_map.data[0, 5:] == 0).all()
    assert (s1.gt_depth_map.data[0, :5, :3] == 3).all()
    assert s0.metainfo['batch_input_shape'] == (8, 8)
    assert s0.metainfo['padding_size'] == [0, 2, 0, 4]
    assert s1.metainfo['padding_size'] == [0, 5, 0, 3]
    # The lead's stacking helper now works on the batch.
    t, lab = stack_task_targets(out['data_samples'], 'depth')
    assert t.shape == (2, 1, 8, 8) and lab.tolist() == [False, True]


def test_test_mode_pads_inputs_only():
    pre = MultiTaskDataPreProcessor(mean=[0, 0, 0], std=[1, 1, 1],
                                    size=(6, 8))
    out = pre(_data(), training=False)
    assert out['inputs'].shape == (2, 3, 6, 8)
    s0 = out['data_samples'][0]
    assert s0.gt_sem_seg.shape == (4, 6)  # labels untouched
    assert s0.metainfo['pad_shape'] == (6, 8)
    assert s0.metainfo['batch_input_shape'] == (6, 8)


def test_same_size_fast_path_and_channel_swap():
    pre = MultiTaskDataPreProcessor(bgr_to_rgb=True)
    x = torch.stack([torch.arange(3).view(3, 1, 1).expand(3, 2, 2)] * 2)
    out = pre(dict(inputs=x.to(torch.uint8), data_samples=None))
    assert out['inputs'][0, :, 0, 0].tolist() == [2, 1, 0]


def test_bad_input_shape():
    pre = MultiTaskDataPreProcessor()
    with pytest.raises(ValueError, match=r'input 0 has shape \(4, 4\)'):
        pre(dict(inputs=[torch.zeros(4, 4)], data_samples=None))
    with pytest.raises(ValueError, match='mean and std'):
        MultiTaskDataPreProcessor(mean=[0, 0, 0])


def test_built_from_registry():
    from mmdmtl.registry import MODELS
    pre = MODELS.build(dict(type='MultiTaskDataPreProcessor',
                            mean=[1, 2, 3], std=[1, 1, 1]))
    assert isinstance(pre, MultiTaskDataPreProcessor)
