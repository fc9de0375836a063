import pytest
import torch

from mmengine.evaluator import Evaluator

from mmdmtl.evaluation import MultiTaskGain, SemSegMetric
from mmdmtl.registry import METRICS


def _samples(make_sample):
    g = torch.Generator().manual_seed(0)
    out = []
    for i in range(4):
        gt = torch.randint(0, 3, (1, 6, 6), generator=g)
        pred = torch.where(torch.rand(1, 6, 6, generator=g) < 0.7, gt,
                           torch.zeros_like(gt))
        d = torch.rand(1, 6, 6, generator=g) + 1
        labels = {'semseg': gt} if i % 2 else {'depth': d}
        out.append(make_sample({'semseg': pred, 'depth': d * 1.1}, labels,
                               name=f'{i}.png'))
    return out


def test_gain_wraps_metrics_inside_stock_evaluator(make_sample):
    ref = {'semseg/mIoU': 50.0, 'depth/abs_err': 0.1}
    ev = Evaluator(dict(type='mmdmtl.MultiTaskGain', reference=ref,
                        task_metrics=[dict(type='mmdmtl.SemSegMetric', num_classes=3),
                                 dict(type='mmdmtl.DepthMetric')]))
    ev.dataset_meta = dict(classes=['a', 'b', 'c'])
    samples = _samples(make_sample)
    ev.process(samples[:2])
    ev.process(samples[2:])
    res = ev.evaluate(4)
    miou, abs_err = res['semseg/mIoU'], res['depth/abs_err']
    g_seg = (miou - 50) / 50 * 100
    g_dep = -(abs_err - 0.1) / 0.1 * 100
    assert res['multi_task/gain_semseg_mIoU'] == pytest.approx(g_seg)
    assert res['multi_task/gain_depth_abs_err'] == pytest.approx(g_dep)
    assert res['multi_task/delta_m'] == pytest.approx((g_seg + g_dep) / 2)
    # the wrapped metrics give the same numbers as on their own
    alone = SemSegMetric(num_classes=3)
    alone.process({}, [s for s in samples])
    assert alone.evaluate(4)['semseg/mIoU'] == miou


def test_gain_errors(make_sample):
    with pytest.raises(ValueError, match='used twice'):
        MultiTaskGain([dict(type='SemSegMetric', num_classes=2),
                       dict(type='SemSegMetric', num_classes=2)])
    m = METRICS.build(dict(type='MultiTaskGain', reference={'edge/odsF': 60.0},
                           task_metrics=[dict(type='SemSegMetric', num_classes=3)]))
    m.process({}, _samples(make_sample))
    with pytest.raises(KeyError, match='edge/odsF'):
        m.evaluate(4)
    no_ref = MultiTaskGain([SemSegMetric(num_classes=3)])
    no_ref.process({}, _samples(make_sample))
    assert set(no_ref.evaluate(4)) == {'semseg/mIoU', 'semseg/aAcc', 'semseg/mAcc'}
