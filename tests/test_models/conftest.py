"""Fixtures of the model tests: tiny configs and hand-made partially labelled batches."""
import copy

import pytest
import torch


PASCAL_TASKS = dict(semseg=5, human_parts=3, sal=2, normals=3, edge=1)


def tiny_backbone():
    # ResNet-18 layout with 8/16/32/64 channels: the real code path, tiny sizes.
    return dict(type='mmseg.ResNetV1c', depth=18, base_channels=8, stem_channels=8,
                out_indices=(0, 1, 2, 3), norm_cfg=dict(type='BN'))


def tiny_model_cfg(tasks=None, diffuse='feature', conditioner=True, refine=True,
                   channels=16, **head_kwargs):
    tasks = dict(tasks or PASCAL_TASKS)
    cfg = dict(
        type='MultiTaskEncoderDecoder',
        tasks=tasks,
        channels=channels,
        backbone=tiny_backbone(),
        neck=dict(type='MultiScaleFuseNeck', in_channels=[8, 16, 32, 64]),
        init_heads=dict(type='InitialTaskHeads'),
        conditioner=dict(type='MultiTaskConditioner', source='prediction')
        if conditioner else None,
        refine_head=dict(type='MultiTaskDenoiser', diffuse=diffuse,
                         num_heads=2, **head_kwargs) if refine else None,
    )
    return cfg


def make_batch(labeled, tasks=None, size=32, seed=0, classes=None):
    """Images [B, 3, size, size] and MultiTaskDataSamples with the listed labels.

    Labels are derived from the image so that they are learnable.
    """
    from mmdmtl.structures import MultiTaskDataSample
    tasks = dict(tasks or PASCAL_TASKS)
    g = torch.Generator().manual_seed(seed)
    B = len(labeled)
    # Smooth images (4x4 noise upsampled): their pixel-wise labels are learnable
    # from stride-8 features.
    inputs = torch.nn.functional.interpolate(
        torch.randn(B, 3, 4, 4, generator=g), size=(size, size), mode='bilinear',
        align_corners=False)
    samples = []
    for b in range(B):
        s = MultiTaskDataSample(metainfo=dict(
            img_path=f'/data/img_{seed}_{b}.jpg', img_shape=(size, size),
            ori_shape=(size, size), labeled_tasks=tuple(labeled[b])))
        img = inputs[b]
        for task in labeled[b]:
            if task in ('semseg', 'human_parts'):
                n = tasks[task]
                lab = ((img[0] > 0).long() + (img[1] > 0).long() * 2) % n
                lab[:2] = 255
                s.set_gt(task, lab[None])
            elif task in ('sal', 'edge'):
                lab = (img[2] > 0.5).long()
                lab[-2:] = 255
                s.set_gt(task, lab[None])
            elif task == 'normals':
                n = torch.nn.functional.normalize(img.clone(), dim=0)
                n[:, :3] = 0
                s.set_gt(task, n)
            elif task == 'depth':
                d = img[0].abs() + 0.5
                d[:, :2] = 0
                s.set_gt(task, d[None])
        samples.append(s)
    return inputs, samples


def load_reference():
    from mmdmtl.testing import reference_denoiser
    return reference_denoiser


@pytest.fixture
def model_helpers():
    return dict(tiny_model_cfg=tiny_model_cfg, make_batch=make_batch,
                tiny_backbone=tiny_backbone, pascal_tasks=copy.deepcopy(PASCAL_TASKS),
                load_reference=load_reference)


@pytest.fixture(autouse=True, scope='session')
def _models_scope():
    """Scope ``mmdmtl`` with mmseg's and our model types registered (also when this
    folder runs on its own, e.g. with ``--confcutdir``)."""
    from mmengine.registry import DefaultScope
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    import mmdmtl.models  # noqa: F401
    current = DefaultScope.get_current_instance()
    if current is None or current.scope_name != 'mmdmtl':
        DefaultScope.get_instance('mmdmtl-test-models', scope_name='mmdmtl')
    torch.set_num_threads(1)
    yield
