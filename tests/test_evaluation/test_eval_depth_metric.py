import numpy as np
import pytest
import torch

from mmdmtl.evaluation import DepthMetric


def test_depth_metric_pooled(make_sample):
    r = np.random.default_rng(0)
    gts = [r.uniform(1, 4, (1, 5, 6)).astype(np.float32) for _ in range(3)]
    gts[1][0, :3] = 0
    preds = [g + r.normal(0, 0.3, g.shape).astype(np.float32) for g in gts]
    samples = [make_sample({'depth': torch.tensor(p)}, {'depth': torch.tensor(g)})
               for p, g in zip(preds, gts)]
    samples.append(make_sample({'depth': torch.ones(1, 5, 6)}, {}))  # unlabelled
    m = DepthMetric()
    m.process({}, samples)
    assert len(m.results) == 4 and not m.results[3]['counted']
    res = m.evaluate(4)
    p = np.concatenate([x[g > 0] for x, g in zip(preds, gts)]).astype(np.float64)
    g = np.concatenate([y[y > 0] for y in gts]).astype(np.float64)
    assert res['depth/abs_err'] == pytest.approx(np.abs(p - g).mean(), rel=1e-6)
    assert res['depth/rmse'] == pytest.approx(np.sqrt(((p - g)**2).mean()), rel=1e-6)
    assert res['depth/delta1'] == pytest.approx(
        100 * np.mean(np.maximum(p / g, g / p) < 1.25))
    assert set(res) == {f'depth/{k}' for k in ('abs_err', 'rmse', 'abs_rel',
                                               'log_rmse', 'delta1', 'delta2',
                                               'delta3')}


def test_perfect_depth(make_sample):
    g = torch.rand(1, 4, 4) + 0.5
    m = DepthMetric(prefix='nyu_depth')
    m.process({}, [make_sample({'depth': g}, {'depth': g})])
    res = m.evaluate(1)
    assert res['nyu_depth/abs_err'] == 0 and res['nyu_depth/delta3'] == 100
