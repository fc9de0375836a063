"""A non-finite prediction is never scored as a number; an evaluation with nothing
to score gives NaN. One rule for every metric (docs/failure_modes.md, "Metrics"):
any image with a NaN/inf prediction makes EVERY metric of its task NaN, with a
NonFiniteMetricWarning naming the images and their counts of non-finite values."""
import math
import warnings

import pytest
import torch

from mmdmtl.evaluation.metrics.base_dense_metric import (EmptyMetricWarning,
                                                         NonFiniteMetricWarning)
from mmdmtl.structures import MultiTaskDataSample

H = W = 24


def _gt_pred(task, g):
    """(label, good prediction) of one task, [C, H, W]."""
    if task in ('semseg', 'human_parts'):
        gt = torch.randint(0, 3, (1, H, W), generator=g)
        return gt, gt.clone()
    if task in ('sal', 'edge'):
        gt = torch.zeros(1, H, W, dtype=torch.long)
        gt[:, H // 3:2 * H // 3, W // 3] = 1
        return gt, gt.float() * 0.9 + 0.05
    if task == 'normals':
        n = torch.randn(3, H, W, generator=g)
        n = n / n.norm(dim=0, keepdim=True)
        return n, n + 0.05 * torch.randn(3, H, W, generator=g)
    if task == 'depth':
        d = torch.rand(1, H, W, generator=g) * 3 + 0.5
        return d, d * 1.05
    raise KeyError(task)


def _samples(task, bad=None, n=3, labelled=True, nan_field=None):
    """n samples of ``task``; image ``bad`` gets NaN in a third of its values."""
    g = torch.Generator().manual_seed(0)
    out = []
    for i in range(n):
        gt, pred = _gt_pred(task, g)
        ds = MultiTaskDataSample(metainfo=dict(
            img_path=f'img_{i}.png', labeled_tasks=(task, ) if labelled else ()))
        if i == bad and nan_field is None:
            pred = pred.clone()
            pred.view(-1)[::3] = float('nan')
        ds.set_pred(task, pred)
        if labelled:
            ds.set_gt(task, gt)
        if i == bad and nan_field is not None:
            from mmengine.structures import PixelData
            logits = torch.zeros(3, H, W)
            logits[0, 0, 0] = float('inf')
            ds.set_field(PixelData(data=logits), nan_field)
        out.append(ds.to_dict())
    return out


METRICS = [
    ('SemSegMetric', 'semseg', dict(num_classes=3), 'seg_logits'),
    ('SaliencyMetric', 'sal', {}, None),
    ('NormalsMetric', 'normals', {}, None),
    ('EdgeMetric', 'edge', dict(thresholds=5), None),
    ('DepthMetric', 'depth', {}, None),
]


def _build(name, kwargs):
    from mmdmtl.registry import METRICS as REG
    return REG.build(dict(type=name, **kwargs))


def _evaluate(metric, samples):
    metric.process({}, samples)
    return metric.compute_metrics(metric.results)


@pytest.mark.parametrize('name,task,kwargs,logits', METRICS)
def test_nonfinite_prediction_gives_nan_with_warning(name, task, kwargs, logits):
    good = _evaluate(_build(name, kwargs), _samples(task))
    assert good and all(math.isfinite(v) for v in good.values()), good
    with pytest.warns(NonFiniteMetricWarning) as rec:
        res = _evaluate(_build(name, kwargs),
                        _samples(task, bad=1, nan_field=logits))
    assert set(res) == set(good)
    assert all(math.isnan(v) for v in res.values()), res
    msg = str(rec[0].message)
    # names the image, its count of non-finite values, and the total evaluated
    assert 'img_1.png' in msg and '1 of 3 evaluated' in msg, msg
    if logits is None:
        n_bad = len(range(0, _gt_pred(task, torch.Generator())[1].numel(), 3))
        assert f'({n_bad} of ' in msg, msg


@pytest.mark.parametrize('name,task,kwargs,logits', METRICS + [
    ('HumanPartsMetric', 'human_parts', dict(num_classes=3), None)])
def test_empty_evaluation_gives_nan_with_warning(name, task, kwargs, logits):
    metric = _build(name, kwargs)
    with pytest.warns(EmptyMetricWarning):
        res = _evaluate(metric, _samples(task, labelled=False))
    assert res and all(math.isnan(v) for v in res.values()), res
    # and with no sample at all
    metric = _build(name, kwargs)
    with pytest.warns(EmptyMetricWarning):
        res = metric.compute_metrics([])
    assert res and all(math.isnan(v) for v in res.values()), res


def test_all_nonfinite_warns_once_and_not_as_empty():
    metric = _build('DepthMetric', {})
    samples = [s for i in range(2) for s in _samples('depth', bad=0, n=1)]
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter('always')
        res = _evaluate(metric, samples)
    kinds = [type(w.message) for w in rec]
    assert NonFiniteMetricWarning in kinds and EmptyMetricWarning not in kinds
    assert all(math.isnan(v) for v in res.values())


def test_multi_task_gain_is_nan_when_a_task_is_nan():
    from mmdmtl.evaluation.metrics import MultiTaskGain
    gain = MultiTaskGain(
        task_metrics=[dict(type='DepthMetric'), dict(type='SaliencyMetric')],
        reference={'depth/abs_err': 0.5, 'sal/maxF': 80.0})
    samples = []
    for ds_depth, ds_sal in zip(_samples('depth', bad=0), _samples('sal')):
        samples += [ds_depth, ds_sal]
    gain.process({}, samples)
    with pytest.warns(NonFiniteMetricWarning, match='delta_m is NaN'):
        res = gain.evaluate(len(samples))
    assert math.isnan(res['multi_task/delta_m'])
    assert math.isnan(res['depth/abs_err']) and math.isfinite(res['sal/maxF'])


def test_edge_seism_png_not_written_for_nan(tmp_path):
    metric = _build('EdgeMetric', dict(seism_dir=str(tmp_path / 'seism'),
                                       online=False))
    with pytest.warns(NonFiniteMetricWarning, match='img_1.png'):
        metric.process({}, _samples('edge', bad=1))
    written = sorted(p.name for p in (tmp_path / 'seism').glob('*.png'))
    assert written == ['img_0.png', 'img_2.png']
