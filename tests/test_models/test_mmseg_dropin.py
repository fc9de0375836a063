"""DiffusionRefinementHead as the decode head of mmseg's own EncoderDecoder, built and
trained from configs/mmseg_dropin/ (tiny sizes by overrides) with mmseg's Runner."""
import copy

import numpy as np
import pytest
import torch
from pathlib import Path

from mmengine.config import Config

REPO = Path(__file__).resolve().parents[2]
CFG = 'configs/mmseg_dropin/diffusion-refine_r18-d8_4xb4-80k_ade20k-512x512.py'
NUM_CLASSES = 3


@pytest.fixture(autouse=True)
def _restore_mmdmtl_scope():
    """mmseg's Runner makes 'mmseg' the current default scope: give it back."""
    import time

    from mmengine.registry import DefaultScope
    yield
    if DefaultScope.get_current_instance().scope_name != 'mmdmtl':
        DefaultScope.get_instance(f'mmdmtl-after-dropin-{time.time_ns()}',
                                  scope_name='mmdmtl')


def _tiny(cfg, work_dir, data_root):
    cfg.work_dir = str(work_dir)
    cfg.model.backbone.update(base_channels=8, stem_channels=8, init_cfg=None)
    cfg.model.decode_head.update(
        in_channels=[8, 16, 32, 64], channels=16, num_classes=NUM_CLASSES)
    cfg.model.decode_head.denoiser.num_heads = 2
    cfg.model.data_preprocessor.size = (32, 32)
    cfg.data_preprocessor = cfg.model.data_preprocessor
    metainfo = dict(classes=('a', 'b', 'c'), palette=[[0, 0, 0], [1, 1, 1], [2, 2, 2]])
    pipe = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations'),
        dict(type='PackSegInputs')
    ]
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dl = cfg[name]
        dl.update(batch_size=2, num_workers=0, persistent_workers=False)
        dl.dataset = dict(
            type='BaseSegDataset', data_root=str(data_root), metainfo=metainfo,
            img_suffix='.png', seg_map_suffix='.png', pipeline=pipe,
            data_prefix=dict(img_path='img', seg_map_path='ann'))
    cfg.train_dataloader.sampler = dict(type='InfiniteSampler', shuffle=False)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=6, val_interval=6)
    cfg.optim_wrapper.optimizer = dict(type='Adam', lr=3e-3)
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1000)
    cfg.default_hooks.visualization = dict(type='SegVisualizationHook', draw=False)
    cfg.default_hooks.logger.interval = 1
    cfg.env_cfg.dist_cfg = dict(backend='gloo')
    cfg.env_cfg.cudnn_benchmark = False
    cfg.tta_model = None
    return cfg


def _write_data(root):
    import cv2
    (root / 'img').mkdir(parents=True)
    (root / 'ann').mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        img = rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)
        ann = ((img[..., 0] > 128).astype(np.uint8) + (img[..., 1] > 128)) % 3
        cv2.imwrite(str(root / 'img' / f'{i}.png'), img)
        cv2.imwrite(str(root / 'ann' / f'{i}.png'), ann.astype(np.uint8))


def test_config_builds_in_mmseg_scope_with_the_stock_segmentor():
    from mmengine.registry import DefaultScope
    from mmseg.models import EncoderDecoder
    from mmseg.registry import MODELS as MMSEG_MODELS

    from mmdmtl.models.decode_heads import DiffusionRefinementHead
    cfg = Config.fromfile(REPO / CFG)
    assert cfg.model.decode_head.type == 'mmdmtl.DiffusionRefinementHead'
    tiny = _tiny(copy.deepcopy(cfg), '/tmp/unused', '/tmp/unused')
    with DefaultScope.overwrite_default_scope('mmseg'):
        model = MMSEG_MODELS.build(tiny.model)
    assert type(model) is EncoderDecoder
    assert isinstance(model.decode_head, DiffusionRefinementHead)
    assert model.num_classes == NUM_CLASSES and model.out_channels == NUM_CLASSES
    x = torch.randn(2, 3, 32, 32)
    logits = model(x, mode='tensor')
    assert logits.shape == (2, NUM_CLASSES, 4, 4)


def test_trains_and_predicts_with_mmseg_runner(tmp_path):
    from mmengine.runner import Runner
    _write_data(tmp_path / 'data')
    cfg = _tiny(Config.fromfile(REPO / CFG), tmp_path / 'work', tmp_path / 'data')
    runner = Runner.from_cfg(cfg)
    losses = []

    orig = runner.model.train_step

    def recording_train_step(data, optim_wrapper):
        out = orig(data, optim_wrapper)
        losses.append({k: float(v) for k, v in out.items()})
        return out

    runner.model.train_step = recording_train_step
    runner.train()
    assert len(losses) == 6
    assert {'decode.loss_ce', 'decode.init_loss_ce', 'decode.acc_seg'} <= set(losses[0])
    assert losses[-1]['loss'] < losses[0]['loss']
    metrics = runner.val_loop.run()
    assert 'mIoU' in metrics
    # predict through EncoderDecoder.predict
    runner.model.eval()
    batch = next(iter(runner.val_dataloader))
    with torch.no_grad():
        out = runner.model.val_step(batch)
    assert out[0].pred_sem_seg.data.shape == (1, 32, 32)
    assert out[0].seg_logits.data.shape == (NUM_CLASSES, 32, 32)


def _dropin_head(**kw):
    from mmdmtl.models.decode_heads import DiffusionRefinementHead
    torch.manual_seed(0)
    kw.setdefault('denoiser', dict(num_heads=2))
    return DiffusionRefinementHead(
        in_channels=[8, 16], in_index=[0, 1], input_transform='resize_concat',
        fuse_index=1, channels=16, num_classes=NUM_CLASSES, **kw)


def test_adapter_composes_the_denoiser_and_projects_with_conv_seg():
    """The head is an adapter: a MultiTaskDenoiser on 'semseg' without its own
    projection, BaseDecodeHead's conv_seg as the classifier."""
    from mmdmtl.models.diffusion import MultiTaskDenoiser
    head = _dropin_head(denoiser=dict(num_heads=2, num_inference_steps=1,
                                      scheduler=dict(type='DDPMScheduler',
                                                     num_train_timesteps=1)))
    assert isinstance(head.denoiser, MultiTaskDenoiser)
    assert head.denoiser.tasks == dict(semseg=NUM_CLASSES)
    assert head.denoiser.return_features
    assert head.conv_seg.out_channels == NUM_CLASSES
    assert head.denoiser.num_inference_steps == 1
    keys = head.state_dict()
    assert not any(k.startswith(('final_convs', 'input_convs')) for k in keys)
    head.eval()
    inputs = [torch.randn(2, 8, 16, 16), torch.randn(2, 16, 8, 8)]
    with torch.no_grad():
        out = head(inputs)
        x = head.stem(head._transform_inputs(inputs))
        feats, preds = head.init_heads(x)
        cond = head.conditioner(feats, preds)
        refined = head.denoiser.refine(feats, preds, cond)['semseg'][0]
    assert out.shape == (2, NUM_CLASSES, 8, 8)
    torch.testing.assert_close(out, head.conv_seg(refined))
