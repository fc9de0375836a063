"""No silent wrong number (docs/failure_modes.md): what was loaded must agree with
the config at load time (checkpoint task order/channels, evaluator classes,
model classes, batch vs split size, max_iters), and every metric follows one NaN
rule for a set with nothing valid to score."""
import math
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest
import torch
import torch.nn as nn

from mmdmtl.engine.checkpoint import CheckpointMismatchError, check_task_order
from mmdmtl.evaluation.metrics.base_dense_metric import EmptyMetricWarning
from mmdmtl.structures import MultiTaskDataSample
from mmdmtl.utils.config_checks import (ConfigCheckError, batch_exceeds_dataset,
                                        check_classes_agree, check_train_length)

REPO = Path(__file__).resolve().parents[2]
DEMO_CONFIG = REPO / 'configs' / 'diffusionmtl' / \
    'demo_diffusionmtl-feature_synthetic_one-label.py'


class _TaskModel(nn.Module):

    def __init__(self, tasks):
        super().__init__()
        self.tasks = dict(tasks)
        self.head = nn.Conv2d(4, sum(self.tasks.values()), 1)


def test_checkpoint_task_order_is_checked_at_load():
    ckpt = dict(state_dict={}, meta=dict(tasks=dict(semseg=9, depth=1,
                                                    normals=3)))
    check_task_order(_TaskModel(dict(semseg=9, depth=1, normals=3)), ckpt)
    with pytest.raises(CheckpointMismatchError) as err:
        check_task_order(_TaskModel(dict(depth=1, semseg=9, normals=3)), ckpt,
                         'ck.pth')
    msg = str(err.value)
    assert "['semseg', 'depth', 'normals']" in msg and 'ck.pth' in msg
    assert "['depth', 'semseg', 'normals']" in msg
    assert 'model.tasks = dict(semseg=9, depth=1, normals=3)' in msg
    with pytest.raises(CheckpointMismatchError, match='output channels differ'):
        check_task_order(_TaskModel(dict(semseg=8, depth=1, normals=3)), ckpt)
    # checkpoints without the record (other tools) are left to the key check
    check_task_order(_TaskModel(dict(depth=1)), dict(state_dict={}))


def test_checkpoints_record_the_task_order_and_a_swap_is_refused():
    from mmdmtl.engine.hooks import CheckpointCheckHook
    hook = CheckpointCheckHook()
    model = _TaskModel(dict(semseg=9, depth=1))
    runner = types.SimpleNamespace(model=model, work_dir='.', logger=None)
    saved = dict(meta=dict(iter=3), state_dict=model.state_dict())
    hook.before_save_checkpoint(runner, saved)
    assert list(saved['meta']['tasks'].items()) == [('semseg', 9), ('depth', 1)]
    swapped = _TaskModel(dict(depth=1, semseg=9))
    runner = types.SimpleNamespace(model=swapped, work_dir='.', logger=None,
                                   _load_from='run/iter_3.pth', _resume=False)
    with pytest.raises(CheckpointMismatchError, match='wrong heads'):
        hook.after_load_checkpoint(runner, saved)


def test_evaluator_classes_must_match_the_dataset():
    from mmdmtl.evaluation.metrics import SemSegMetric
    metric = SemSegMetric(num_classes=3)
    with pytest.raises(ValueError) as err:
        metric.dataset_meta = dict(classes=tuple('abcde'))
    assert 'counts 3 classes but the dataset names 5' in str(err.value)
    SemSegMetric().dataset_meta = dict(classes=tuple('abcde'))  # default: fine
    # a label value beyond the evaluator's classes names the image and task
    metric = SemSegMetric(num_classes=3)
    ds = MultiTaskDataSample(metainfo=dict(img_path='img_7.png',
                                           labeled_tasks=('semseg', )))
    gt = torch.zeros(1, 4, 4, dtype=torch.long)
    gt[0, 0, 0] = 4
    ds.set_gt('semseg', gt)
    ds.set_pred('semseg', torch.zeros(1, 4, 4, dtype=torch.long))
    with pytest.raises(ValueError) as err:
        metric.process({}, [ds.to_dict()])
    msg = str(err.value)
    assert "task 'semseg'" in msg and 'img_7.png' in msg and 'value 4' in msg


def test_model_classes_must_match_the_dataset():
    ds = types.SimpleNamespace(metainfo=dict(classes=tuple('abcdefghi'),
                                             part_classes=tuple('abcdefg')))
    check_classes_agree(dict(semseg=9, human_parts=7, depth=1), ds)
    with pytest.raises(ConfigCheckError) as err:
        check_classes_agree(dict(semseg=8, depth=1), ds, 'val_dataloader')
    msg = str(err.value)
    assert 'model.tasks.semseg = 8' in msg and '9 semseg classes' in msg
    assert 'val_dataloader' in msg


def test_batch_larger_than_the_split_warns():
    loader = types.SimpleNamespace(batch_size=8, dataset=list(range(5)))
    msg = batch_exceeds_dataset(loader)
    assert msg and 'only 5' in msg and 'repeats images' in msg
    assert 'x 2 processes = 8' in batch_exceeds_dataset(
        types.SimpleNamespace(batch_size=4, dataset=list(range(5))), 2)
    assert batch_exceeds_dataset(
        types.SimpleNamespace(batch_size=4, dataset=list(range(5)))) is None


@pytest.mark.parametrize('value', [0, -3])
def test_max_iters_below_one_is_an_error(value):
    with pytest.raises(ConfigCheckError,
                       match=rf'train_cfg\.max_iters = {value}: must be an int'):
        check_train_length(dict(train_cfg=dict(max_iters=value)))


def test_train_tool_max_iters_zero_one_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', str(DEMO_CONFIG), '--work-dir',
         str(tmp_path / 'w'), '--cfg-options', 'train_cfg.max_iters=0'],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env=dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS='1'))
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr
    assert 'train_cfg.max_iters = 0' in proc.stderr.splitlines()[0]


H = W = 8


def _all_invalid(task):
    """A labelled sample whose label holds no valid pixel, and a prediction."""
    if task in ('semseg', 'sal', 'edge'):
        gt = torch.full((1, H, W), 255, dtype=torch.long)
        pred = torch.zeros(1, H, W, dtype=torch.long) if task == 'semseg' \
            else torch.full((1, H, W), 0.7)
    elif task == 'normals':
        gt, pred = torch.zeros(3, H, W), torch.ones(3, H, W) / 3 ** 0.5
    else:
        gt, pred = torch.zeros(1, H, W), torch.ones(1, H, W)
    ds = MultiTaskDataSample(metainfo=dict(img_path='void.png',
                                           labeled_tasks=(task, )))
    ds.set_gt(task, gt)
    ds.set_pred(task, pred)
    return ds.to_dict()


@pytest.mark.parametrize('name,task,kwargs', [
    ('SemSegMetric', 'semseg', dict(num_classes=3)),
    ('SaliencyMetric', 'sal', {}),
    ('NormalsMetric', 'normals', {}),
    ('EdgeMetric', 'edge', dict(thresholds=5)),
    ('DepthMetric', 'depth', {}),
])
def test_one_nan_rule_for_a_set_without_valid_labels(name, task, kwargs):
    from mmdmtl.registry import METRICS
    metric = METRICS.build(dict(type=name, **kwargs))
    metric.process({}, [_all_invalid(task), _all_invalid(task)])
    with pytest.warns(EmptyMetricWarning):
        res = metric.compute_metrics(metric.results)
    assert res and all(math.isnan(v) for v in res.values()), res
