"""--cfg-options handling of the tools (mmdmtl/utils/config_overrides.py)."""
import pytest
from mmengine.config import Config

from mmdmtl.utils import config_overrides as co


@pytest.fixture
def warnings_said(monkeypatch):
    said = []
    monkeypatch.setattr(co, '_warn', said.append)
    return said


def _cfg(schedulers):
    return Config(dict(train_cfg=dict(max_iters=600, val_interval=100),
                       param_scheduler=schedulers, norm_cfg=dict(type='BN')))


def test_max_iters_carries_to_iteration_schedules_that_ended_at_it(warnings_said):
    cfg = _cfg([
        dict(type='LinearLR', by_epoch=False, begin=0, end=50),  # warm-up: kept
        dict(type='PolyLR', by_epoch=False, begin=50, end=600),
        dict(type='MultiStepLR', by_epoch=True, milestones=[8], end=600),
    ])
    co.merge_cfg_options(cfg, {'train_cfg.max_iters': 60})
    ends = [s['end'] for s in cfg.param_scheduler]
    assert cfg.train_cfg.max_iters == 60 and ends == [50, 60, 600]
    assert warnings_said == []


def test_schedules_per_optimizer_and_one_ending_elsewhere(warnings_said):
    cfg = _cfg(dict(a=[dict(type='PolyLR', by_epoch=False, end=600)],
                    b=[dict(type='PolyLR', by_epoch=False, end=500)]))
    co.merge_cfg_options(cfg, {'train_cfg.max_iters': 60})
    assert cfg.param_scheduler.a[0].end == 60 and cfg.param_scheduler.b[0].end == 500
    assert len(warnings_said) == 1
    assert 'ends at iteration 500' in warnings_said[0]
    assert "max_iters 600" in warnings_said[0] and 'max_iters=60' in warnings_said[0]


def test_no_carry_when_the_schedule_is_given_too(warnings_said):
    cfg = _cfg([dict(type='PolyLR', by_epoch=False, end=600)])
    co.merge_cfg_options(cfg, {'train_cfg.max_iters': 60,
                               'param_scheduler.0.end': 30})
    assert cfg.param_scheduler[0].end == 30


def test_unknown_top_level_key_names_the_closest(warnings_said):
    cfg = _cfg([])
    co.merge_cfg_options(cfg, {'default_hook.checkpoint.interval': 1,
                               'norm_cfg.type': 'GN', 'work_dir': '/tmp/x',
                               'zzz_unrelated': 3})
    assert len(warnings_said) == 2
    assert "'default_hook'" in warnings_said[0]
    assert "did you mean 'default_hooks'?" in warnings_said[0]
    assert "'zzz_unrelated'" in warnings_said[1]
    assert 'nothing in the config or the Runner reads it' in warnings_said[1]
    assert cfg.norm_cfg.type == 'GN'  # the config's own keys are known
