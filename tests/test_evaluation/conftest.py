"""Fixtures of the evaluation tests: data-sample builders in both forms the metrics
receive (MultiTaskDataSample, and the dict mmengine's Evaluator makes of it)."""
import pytest
import torch

from mmdmtl.structures import TASKS, MultiTaskDataSample


def _build(preds: dict, gts: dict, labeled=None, name='img.png', as_dict=True):
    """A sample with predictions of ``preds`` and labels of ``gts`` (task ->
    tensor); ``labeled`` defaults to the tasks with a label."""
    ds = MultiTaskDataSample(metainfo=dict(
        img_path=name,
        labeled_tasks=tuple(gts) if labeled is None else tuple(labeled)))
    for task, t in preds.items():
        ds.set_pred(task, t)
    for task, t in gts.items():
        ds.set_gt(task, t)
    return ds.to_dict() if as_dict else ds


@pytest.fixture
def make_sample():
    return _build


@pytest.fixture
def task_fields():
    return {k: (v.gt_field, v.pred_field) for k, v in TASKS.items()}


@pytest.fixture
def rng():
    return torch.Generator().manual_seed(0)
