import numpy as np
import pytest
import torch

from mmdmtl.evaluation import NormalsMetric


def test_pooled_over_pixels_and_median(make_sample):
    r = np.random.default_rng(0)
    samples, angles = [], []
    for i in range(3):
        g = r.normal(size=(3, 5, 4 + i))
        g /= np.linalg.norm(g, axis=0, keepdims=True)
        g[:, 0, 0] = 0
        p = g + 0.4 * r.normal(size=g.shape)
        samples.append(make_sample({'normals': torch.tensor(p, dtype=torch.float32)},
                                   {'normals': torch.tensor(g, dtype=torch.float32)}))
        pu = p / np.linalg.norm(p, axis=0, keepdims=True)
        v = np.linalg.norm(g, axis=0) > 0
        angles.append(np.degrees(np.arccos(np.clip((pu * g).sum(0), -1, 1)))[v])
    m = NormalsMetric()
    m.process({}, samples[:1])
    m.process({}, samples[1:])
    res = m.evaluate(3)
    a = np.concatenate(angles)
    assert res['normals/mean'] == pytest.approx(a.mean(), abs=1e-3)
    assert res['normals/rmse'] == pytest.approx(np.sqrt((a**2).mean()), abs=1e-3)
    lower_median = np.sort(a)[(len(a) + 1) // 2 - 1]
    assert lower_median - 1e-3 <= res['normals/median'] <= lower_median + 0.011
    assert res['normals/11.25'] == pytest.approx(100 * np.mean(a < 11.25))
    assert res['normals/30'] == pytest.approx(100 * np.mean(a < 30))
    # records are O(bins), not O(pixels): only occupied bins travel
    assert all(len(r['hist_bins']) <= r['count'] for r in m.results)


def test_perfect_prediction_angle_zero(make_sample):
    g = torch.zeros(3, 4, 4)
    g[2] = 1
    m = NormalsMetric(with_median=False)
    m.process({}, [make_sample({'normals': g}, {'normals': g})])
    res = m.evaluate(1)
    assert res['normals/mean'] == pytest.approx(0, abs=1e-4)
    assert 'normals/median' not in res and res['normals/11.25'] == 100.0
