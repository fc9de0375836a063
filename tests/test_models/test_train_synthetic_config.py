"""A shipped experiment config trains through MMEngine's Runner on generated
SyntheticScenes data (real dataset, pipeline, sampler and data preprocessor; tiny
sizes by overrides), and the trained model predicts every task."""
from pathlib import Path

import torch
from mmengine.config import Config

REPO = Path(__file__).resolve().parents[2]
CFG = 'configs/diffusionmtl/diffusionmtl-feature_r18_synthetic-scenes_one-label.py'


def _tiny_cfg(tmp_path):
    cfg = Config.fromfile(REPO / CFG)
    gen = dict(num_train=12, num_val=2, size=(64, 64), seed=0)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.model.channels = 16
    cfg.model.backbone.update(base_channels=8)
    cfg.model.neck.in_channels = [8, 16, 32, 64]
    cfg.model.refine_head.num_heads = 2
    for dl in (cfg.train_dataloader, cfg.val_dataloader):
        dl.update(num_workers=0, persistent_workers=False)
        dl.dataset.update(data_root=str(tmp_path / 'data'), generate=gen)
    cfg.train_dataloader.batch_size = 6
    cfg.val_dataloader.batch_size = 2
    for t in cfg.train_dataloader.dataset.pipeline:
        if 'crop_size' in t:
            t.crop_size = (64, 64)
        if t.type == 'MultiTaskPad':
            t.size = (64, 64)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=3)
    # training only: the metrics are another module's tests
    for k in ('val_cfg', 'val_evaluator', 'test_cfg', 'test_dataloader',
              'test_evaluator'):
        cfg[k] = None
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1000,
                                        by_epoch=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.default_hooks.visualization = dict(type='MultiTaskVisualizationHook',
                                           draw=False)
    cfg.log_processor = dict(by_epoch=False)
    cfg.env_cfg.dist_cfg = dict(backend='gloo')
    cfg.env_cfg.cudnn_benchmark = False
    return cfg


def test_synthetic_config_trains_and_predicts(tmp_path):
    from mmengine.runner import Runner
    cfg = _tiny_cfg(tmp_path)
    val_cfg = cfg.val_dataloader
    cfg.val_dataloader = None
    runner = Runner.from_cfg(cfg)
    seen = []
    orig = runner.model.train_step

    def recording(data, optim_wrapper):
        out = orig(data, optim_wrapper)
        seen.append({k: float(v) for k, v in out.items()})
        return out

    runner.model.train_step = recording
    runner.train()
    assert len(seen) == 3
    tasks = ('semseg', 'human_parts', 'sal', 'normals', 'edge', 'depth')
    for logs in seen:
        # one-label split, TaskCoveringBatchSampler: every task labelled in every batch
        assert all(logs[f'{t}.num_labeled'] >= 1 for t in tasks)
        assert all(torch.isfinite(torch.tensor(v)) for v in logs.values())
    assert int(runner.model.refine_head.train_iter) == 3  # checkpointed noise counter

    loader = Runner.build_dataloader(val_cfg)
    batch = next(iter(loader))
    runner.model.eval()
    with torch.no_grad():
        out = runner.model.val_step(batch)
    s = out[0]
    h, w = s.metainfo['ori_shape'][:2]
    assert s.pred_sem_seg.data.shape == (1, h, w)
    assert s.pred_depth_map.data.shape == (1, h, w)
    assert s.pred_normal_map.data.shape == (3, h, w)
    assert 0 <= float(s.pred_sal_map.data.min()) <= float(s.pred_sal_map.data.max()) <= 1
