"""Every shipped experiment config parses, names what it is, and builds (shrunk)."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from mmdmtl.registry import MODELS

REPO = Path(__file__).resolve().parents[2]
EXPERIMENTS = sorted((REPO / 'configs' / 'diffusionmtl').glob('*.py')) + sorted(
    (REPO / 'configs' / 'baselines').glob('*.py'))
DATASET_TASKS = {
    'pascal-context': dict(semseg=21, human_parts=7, sal=2, normals=3, edge=1),
    'nyud-v2': dict(semseg=13, depth=1, normals=3),
    'cityscapes': dict(semseg=7, depth=1),
    'synthetic-scenes': dict(semseg=9, human_parts=7, sal=2, normals=3, edge=1,
                             depth=1),
}


def _shrink(model_cfg):
    model_cfg.channels = 16
    model_cfg.backbone.update(base_channels=8, init_cfg=None)
    model_cfg.init_heads.num_blocks = 1
    model_cfg.neck.in_channels = [8, 16, 32, 64]
    if model_cfg.get('refine_head'):
        model_cfg.refine_head.num_heads = 2
    return model_cfg


def test_there_is_a_config_for_every_dataset_setting_and_variant():
    names = {p.stem for p in EXPERIMENTS}
    for ds in ('pascal-context', 'nyud-v2', 'cityscapes'):
        for setting in ('one-label', 'random-label'):
            for method in ('diffusionmtl-feature', 'diffusionmtl-prediction',
                           'mtl-baseline'):
                assert f'{method}_r18_{ds}_{setting}' in names
            for task in DATASET_TASKS[ds]:
                assert f'stl-{task.replace("_", "-")}_r18_{ds}_{setting}' in names
    for abl in ('no-mtc', 'no-diffusion'):
        assert f'diffusionmtl-feature-{abl}_r18_pascal-context_one-label' in names


def test_official_schedule():
    cfg = Config.fromfile(REPO / 'configs/_base_/schedules/schedule_100e_adam.py')
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.weight_decay) == ('Adam', 2e-5, 1e-6)
    assert cfg.optim_wrapper.clip_grad.max_norm == 10
    assert cfg.param_scheduler[0].type == 'PolyLR' and cfg.param_scheduler[0].power == 0.9
    assert cfg.train_cfg.max_epochs == 100
    assert cfg.default_scope == 'mmdmtl'


@pytest.mark.parametrize('path', EXPERIMENTS, ids=lambda p: p.stem)
def test_experiment_config_parses_and_builds(path):
    cfg = Config.fromfile(path)
    m = cfg.model
    assert m.type == 'MultiTaskEncoderDecoder'
    parts = path.stem.split('_')
    if len(parts) != 4 or parts[2] not in DATASET_TASKS:
        # not an experiment of the paper's grid (e.g. the demo): it must build
        m.data_preprocessor = None
        assert set(MODELS.build(_shrink(m)).eval()(torch.randn(1, 3, 32, 32))) == \
            set(m.tasks)
        return
    method, backbone, ds, setting = parts
    assert backbone == 'r18' and setting in ('one-label', 'random-label')
    if ds == 'pascal-context':
        assert cfg.train_dataloader.batch_size == 6  # official
    assert m.data_preprocessor.type == 'MultiTaskDataPreProcessor'
    if method.startswith('stl-'):
        task = method[4:].replace('-', '_')
        assert dict(m.tasks) == {task: DATASET_TASKS[ds][task]}
        assert tuple(cfg.train_dataloader.dataset.tasks) == (task, )
        assert tuple(cfg.test_dataloader.dataset.tasks) == (task, )
        assert [e.prefix for e in cfg.val_evaluator] == [task]
    else:
        assert dict(m.tasks) == DATASET_TASKS[ds]
    if method.startswith('diffusionmtl'):
        assert m.refine_head.diffuse == method.split('-')[1]
        assert m.refine_head.scheduler.num_train_timesteps == 2
        assert m.refine_head.scheduler.type == 'DDPMScheduler'
        # the published model: bare neck and conditioner, no zero-init residuals
        assert m.neck.norm_cfg is None and m.neck.act_cfg is None
        assert m.backbone.zero_init_residual is False
        if m.conditioner is not None:
            assert m.conditioner.norm_cfg is None and m.conditioner.act_cfg is None
        assert (m.conditioner is None) == ('no-mtc' in method)
        assert m.refine_head.use_noise == ('no-diffusion' not in method)
    else:
        assert m.refine_head is None and m.conditioner is None
    m.data_preprocessor = None
    model = MODELS.build(_shrink(m)).eval()
    out = model(torch.randn(1, 3, 32, 32), mode='tensor')
    assert set(out) == set(m.tasks)
