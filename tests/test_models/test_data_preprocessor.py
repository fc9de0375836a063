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
    # the config reached the object: per channel (x - mean) / std, no channel
    # swap, a batch as large as its image
    x = torch.stack([torch.full((2, 3), v, dtype=torch.uint8)
                     for v in (10, 20, 30)])
    out = pre(dict(inputs=[x], data_samples=[_sample(2, 3, ('semseg', ))]))
    assert out['inputs'].shape == (1, 3, 2, 3)
    assert out['inputs'][0].flatten(1).tolist() == [[9.0] * 6, [18.0] * 6,
                                                    [27.0] * 6]
    # and so do the other arguments
    pre = MODELS.build(dict(type='MultiTaskDataPreProcessor', mean=[1, 2, 3],
                            std=[1, 2, 4], bgr_to_rgb=True, size_divisor=4,
                            pad_val=-1, pad_position='center'))
    out = pre(dict(inputs=[x], data_samples=[_sample(2, 3, ('semseg', ))]))
    y = out['inputs'][0]
    assert y.shape == (3, 4, 4)  # 2x3 rounded up to multiples of 4
    # BGR -> RGB first (30, 20, 10), then (x - mean) / std, centred: top 1,
    # left 0
    content = torch.tensor([29.0, 9.0, 1.75])[:, None, None].expand(3, 2, 3)
    assert torch.equal(y[:, 1:3, 0:3], content)
    pad = torch.ones(4, 4, dtype=torch.bool)
    pad[1:3, 0:3] = False
    assert (y[:, pad] == -1).all()
    assert out['data_samples'][0].metainfo['padding_size'] == [0, 1, 1, 1]


# ------------------------------------------------------- centred padding
def _centre_data():
    # A 2x3 image of value 14 (-> (14 - 10) / 2 = 2 after normalisation) and a
    # 4x4 one of value 12 (-> 1); batch size (5, 6) from size=(5, 6).
    inputs = [torch.full((3, 2, 3), 14, dtype=torch.uint8),
              torch.full((3, 4, 4), 12, dtype=torch.uint8)]
    samples = [_sample(2, 3, ('semseg', 'normals')),
               _sample(4, 4, ('depth', ))]
    return dict(inputs=inputs, data_samples=samples)


def test_centred_padding_after_normalisation():
    pre = MultiTaskDataPreProcessor(mean=[10, 10, 10], std=[2, 2, 2],
                                    size=(5, 6), pad_val=0,
                                    pad_position='center')
    out = pre(_centre_data(), training=True)
    x = out['inputs']
    assert x.shape == (2, 3, 5, 6)
    # image 0: top = (5 - 2) // 2 = 1, left = (6 - 3) // 2 = 1
    want0 = torch.tensor([[0, 0, 0, 0, 0, 0],
                          [0, 2, 2, 2, 0, 0],
                          [0, 2, 2, 2, 0, 0],
                          [0, 0, 0, 0, 0, 0],
                          [0, 0, 0, 0, 0, 0]], dtype=torch.float32)
    # image 1: top = (5 - 4) // 2 = 0, left = (6 - 4) // 2 = 1
    want1 = torch.tensor([[0, 1, 1, 1, 1, 0]] * 4 + [[0] * 6],
                         dtype=torch.float32)
    for c in range(3):
        assert torch.equal(x[0, c], want0) and torch.equal(x[1, c], want1)
    s0, s1 = out['data_samples']
    assert s0.metainfo['padding_size'] == [1, 2, 1, 2]  # left, right, top, bottom
    assert s1.metainfo['padding_size'] == [1, 1, 0, 1]
    sem = s0.gt_sem_seg.data[0]
    want_sem = torch.full((5, 6), 255, dtype=sem.dtype)
    want_sem[1:3, 1:4] = 2
    assert torch.equal(sem, want_sem)
    nrm = s0.gt_normal_map.data
    assert torch.equal(nrm[2, 1:3, 1:4], torch.full((2, 3), -1.0))
    assert float(nrm.abs().sum()) == 6.0  # zero (invalid) everywhere else
    dep = s1.gt_depth_map.data[0]
    want_dep = torch.zeros(5, 6)
    want_dep[0:4, 1:5] = 3
    assert torch.equal(dep, want_dep)


def test_bottom_right_padding_of_raw_zero_opt_in():
    # The opt-in: a pipeline pad with raw 0 at the bottom/right, i.e.
    # (0 - mean) / std after normalisation (-2.118 for ImageNet's R channel).
    pre = MultiTaskDataPreProcessor(mean=[123.675, 116.28, 103.53],
                                    std=[58.395, 57.12, 57.375],
                                    bgr_to_rgb=True, size=(4, 4))
    img = torch.zeros(3, 4, 4, dtype=torch.uint8)
    img[:, :2, :3] = 128  # content 2x3, padded with raw 0 by the pipeline
    s = _sample(2, 3, ())
    out = pre(dict(inputs=[img], data_samples=[s]))
    x = out['inputs'][0]
    assert abs(float(x[0, 3, 3]) - (-123.675 / 58.395)) < 1e-6
    assert out['data_samples'][0].metainfo['padding_size'] == [0, 1, 0, 2]


def test_centred_padding_on_top_of_a_pipeline_pad():
    # Content 2x2 padded bottom/right to 3x3 by the pipeline, then centred in a
    # 5x5 batch at (1, 1): the content spans rows/cols 1..2.
    pre = MultiTaskDataPreProcessor(size=(5, 5), pad_position='center')
    out = pre(dict(inputs=[torch.zeros(3, 3, 3)],
                   data_samples=[_sample(2, 2, ())]))
    assert out['data_samples'][0].metainfo['padding_size'] == [1, 2, 1, 2]
    with pytest.raises(ValueError, match='pad_position'):
        MultiTaskDataPreProcessor(pad_position='centre')


def test_centred_padding_crops_predictions_back(model_helpers):
    """End to end: the segmentor's postprocess crops with padding_size."""
    from mmdmtl.registry import MODELS
    model = MODELS.build(model_helpers['tiny_model_cfg']()).eval()
    pre = MultiTaskDataPreProcessor(size=(32, 32), pad_position='center')
    s = _sample(20, 24, ())
    s.set_metainfo(dict(ori_shape=(20, 24)))
    out = pre(dict(inputs=[torch.zeros(3, 20, 24)], data_samples=[s]))
    meta = out['data_samples'][0].metainfo
    assert meta['padding_size'] == [4, 4, 6, 6]
    # Logits: class 3 inside the content window, class 0 in the padding;
    # normals point along x inside, along y outside.
    sem = torch.zeros(1, 5, 32, 32)
    sem[:, 0] = 1
    sem[:, 3, 6:26, 4:28] = 2
    nrm = torch.zeros(1, 3, 32, 32)
    nrm[:, 1] = 1
    nrm[:, :, 6:26, 4:28] = torch.tensor([1.0, 0, 0]).view(1, 3, 1, 1)
    logits = {t: torch.zeros(1, c, 32, 32)
              for t, c in model_helpers['pascal_tasks'].items()}
    logits.update(semseg=sem, normals=nrm)
    res = model.postprocess_result(logits, out['data_samples'])[0]
    assert res.pred_sem_seg.data.shape == (1, 20, 24)
    assert bool((res.pred_sem_seg.data == 3).all())
    assert bool((res.pred_normal_map.data[0] == 1).all())
