"""One rank (or a single process) training the real DiffusionMTL model, tiny.

Usage: real_model_worker.py MODE OUT_DIR DATA_ROOT BATCH [RESUME_FROM]
  MODE equiv:  tasks semseg/normals/depth, full labels, deterministic pipeline, no
               diffusion noise, GroupNorm (statistics independent of the batch split);
               4 iterations then validation on the odd-sized val split.
  MODE nohang: one-label split where rank 0's batch has only 'semseg' and rank 1's only
               'depth'; DDP with find_unused_parameters=False; 2 iterations.
  MODE resume: the random train pipeline and diffusion noise; 4 iterations with a
               checkpoint at 2 (RESUME_FROM: resume from that checkpoint).
Writes OUT_DIR/<MODE>_<WORLD>_<RANK>[_resumed].json: per-iteration losses, weights
digest and validation metrics. Environment: torchrun's RANK/WORLD_SIZE/MASTER_*.
"""
import json
import os
import sys

import torch

torch.set_num_threads(1)
# MMEngine sleeps 2 s at every data-loader restart; not needed here.
import types  # noqa: E402

import mmengine.runner.loops as _loops  # noqa: E402

_loops.time = types.SimpleNamespace(sleep=lambda s: None)
MODE, OUT_DIR, DATA_ROOT, BATCH = sys.argv[1:5]
BATCH = int(BATCH)
RESUME_FROM = sys.argv[5] if len(sys.argv) > 5 else None
RANK = int(os.environ.get('RANK', 0))
WORLD = int(os.environ.get('WORLD_SIZE', 1))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
CONFIG = os.path.join(
    REPO, 'configs/diffusionmtl/'
    'diffusionmtl-feature_r18_synthetic-scenes_one-label.py')


def build_cfg():
    from mmengine.config import Config
    cfg = Config.fromfile(CONFIG)
    tasks = dict(semseg=9, normals=3, depth=1)
    gn = dict(type='GN', num_groups=4, requires_grad=True)
    m = cfg.model
    m.tasks = tasks
    m.channels = 16
    m.refine_head.num_heads = 2
    m.refine_head.num_blocks = 1
    m.backbone.init_cfg = None
    if MODE == 'equiv':
        m.refine_head.use_noise = False
        for part in (m.backbone, m.neck, m.init_heads, m.conditioner):
            part.norm_cfg = gn
    ds = cfg.train_dataloader.dataset
    ds.data_root = DATA_ROOT
    ds.generate = None
    ds.tasks = tuple(tasks)
    if MODE == 'equiv':
        ds.label_setting = 'full'
        ds.split_file = None
        ds.pipeline = cfg.test_pipeline
        sampler = dict(type='PartialLabelSampler', shuffle=True, seed=0)
    elif MODE == 'nohang':
        ds.label_setting = 'one_label'
        ds.split_file = os.path.join(OUT_DIR, 'nohang_split.json')
        sampler = dict(type='PartialLabelSampler', shuffle=False, seed=0)
    else:
        ds.label_setting = 'one_label'
        ds.pop('split_file', None)
        ds.pipeline[3].crop_size = (32, 32)  # MultiTaskRandomCrop
        ds.pipeline[6].size = (32, 32)  # MultiTaskPad
        sampler = dict(type='PartialLabelSampler', shuffle=True, seed=0)
    cfg.train_dataloader.update(
        batch_size=BATCH, num_workers=0, persistent_workers=False,
        sampler=sampler)
    # the order these runs need is the sampler's own, not task-covering batches
    cfg.train_dataloader.pop('batch_sampler', None)
    vds = cfg.val_dataloader.dataset
    vds.update(data_root=DATA_ROOT, generate=None, tasks=tuple(tasks))
    cfg.val_dataloader.update(batch_size=BATCH, num_workers=0,
                              persistent_workers=False)
    cfg.val_evaluator = [
        dict(type='SemSegMetric', prefix='semseg', num_classes=9),
        dict(type='NormalsMetric', prefix='normals'),
        dict(type='DepthMetric', prefix='depth'),
    ]
    cfg.test_dataloader = None
    cfg.test_evaluator = None
    cfg.test_cfg = None
    iters = 2 if MODE == 'nohang' else 4
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters,
                         val_interval=iters if MODE == 'equiv' else 1000)
    if MODE != 'equiv':
        cfg.val_dataloader = None
        cfg.val_evaluator = None
        cfg.val_cfg = None
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False)]
    cfg.optim_wrapper = dict(type='OptimWrapper',
                             optimizer=dict(type='SGD', lr=0.01, momentum=0.9))
    cfg.default_hooks.checkpoint = dict(type='AtomicCheckpointHook',
                                        by_epoch=False, interval=2)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.default_hooks.visualization = dict(type='MultiTaskVisualizationHook',
                                           draw=False)
    cfg.log_processor = dict(by_epoch=False)
    cfg.work_dir = os.path.join(OUT_DIR, f'work_{MODE}_{WORLD}' +
                                ('_resumed' if RESUME_FROM else ''))
    cfg.randomness = dict(seed=0)
    cfg.log_level = 'WARNING'
    cfg.find_unused_parameters = False
    if RESUME_FROM:
        cfg.resume = True
        cfg.load_from = RESUME_FROM
    return cfg


def main():
    from mmengine.hooks import Hook
    from mmengine.runner import Runner

    from mmdmtl.engine import setup_distributed
    from mmdmtl.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    cfg = build_cfg()
    if WORLD > 1:
        cfg.env_cfg.dist_cfg = dict(backend='gloo', timeout=60)
        setup_distributed(cfg, 'pytorch')
        cfg.launcher = 'pytorch'
    else:
        cfg.launcher = 'none'

    losses = []

    class Record(Hook):
        priority = 'LOWEST'

        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            losses.append({k: float(v.detach()) for k, v in outputs.items()})

    runner = Runner.from_cfg(cfg)
    runner.register_hook(Record())
    runner.train()
    model = runner.model.module if hasattr(runner.model, 'module') else \
        runner.model
    out = dict(
        rank=RANK, world=WORLD, losses=losses,
        weights={k: float(v.double().sum()) for k, v in
                 model.state_dict().items() if v.is_floating_point()},
        val={k: float(runner.message_hub.get_scalar(k).current())
             for k in runner.message_hub.log_scalars if k.startswith('val/')})
    name = f'{MODE}_{WORLD}_{RANK}' + ('_resumed' if RESUME_FROM else '')
    with open(os.path.join(OUT_DIR, name + '.json'), 'w') as f:
        json.dump(out, f)
    if WORLD > 1:
        torch.distributed.destroy_process_group()


if __name__ == '__main__':
    main()
