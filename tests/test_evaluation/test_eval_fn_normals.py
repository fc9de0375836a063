import math

import numpy as np
import pytest
import torch

from mmdmtl.evaluation.functional import (batch_normal_stats,
                                          histogram_median, normal_angles,
                                          normal_scores)


def _unit(x):
    return x / np.linalg.norm(x, axis=0, keepdims=True)


def test_angles_hand_made():
    g = torch.zeros(3, 1, 4)
    g[2] = 1.0
    p = torch.tensor([[0., 1., 0., 0.], [0., 0., 1., 0.], [1., 0., 1., -1.]])
    p = p.reshape(3, 1, 4)
    ang, valid = normal_angles(p, g)
    assert valid.all()
    np.testing.assert_allclose(ang.reshape(-1).numpy(), [0, 90, 45, 180],
                               atol=1e-4)
    g[:, 0, 1] = 0  # zero vector = invalid
    ang, valid = normal_angles(p, g)
    assert valid.reshape(-1).tolist() == [True, False, True, True]


def test_stats_match_brute_force():
    r = np.random.default_rng(0)
    preds = [r.normal(size=(3, 6, 5)), r.normal(size=(3, 4, 4))]
    gts = [_unit(r.normal(size=(3, 6, 5))), _unit(r.normal(size=(3, 4, 4)))]
    gts[0][:, 0, :] = 0
    s = batch_normal_stats([torch.tensor(p) for p in preds],
                           [torch.tensor(g) for g in gts])
    all_angles = []
    for b in range(2):
        p, g = _unit(preds[b]), gts[b]
        valid = np.linalg.norm(g, axis=0) > 0
        ang = np.degrees(np.arccos(np.clip((p * g).sum(0), -1, 1)))[valid]
        all_angles.append(ang)
        assert s['count'][b] == valid.sum()
        assert s['sum'][b] == pytest.approx(ang.sum(), rel=1e-4)
        np.testing.assert_array_equal(
            s['below'][b], [np.sum(ang < t) for t in (11.25, 22.5, 30)])
        assert s['hist'][b].sum() == valid.sum()
    a = np.concatenate(all_angles)
    res = normal_scores(s['count'].sum(), s['sum'].sum(), s['sum_sq'].sum(),
                        s['below'].sum(0), s['hist'].sum(0), 0.01)
    assert res['mean'] == pytest.approx(a.mean(), rel=1e-4)
    assert res['rmse'] == pytest.approx(math.sqrt((a**2).mean()), rel=1e-4)
    lower_median = np.sort(a)[(len(a) + 1) // 2 - 1]
    assert lower_median <= res['median'] + 1e-3
    assert res['median'] - lower_median <= 0.01 + 1e-3
    assert res['22.5'] == pytest.approx(100 * np.mean(a < 22.5))


def test_perfect_prediction_is_zero():
    g = torch.tensor(_unit(np.random.default_rng(1).normal(size=(3, 5, 5))))
    s = batch_normal_stats([g * 3.0], [g])  # scale does not matter
    res = normal_scores(s['count'][0], s['sum'][0], s['sum_sq'][0], s['below'][0],
                        s['hist'][0], 0.01)
    assert res['mean'] == pytest.approx(0, abs=1e-3)
    assert res['median'] == pytest.approx(0.01)
    assert res['11.25'] == 100.0


def test_histogram_median_exact_to_bin():
    hist = np.zeros(18000, np.int64)
    hist[[100, 250, 251]] = [1, 1, 1]  # values in [1.00,1.01), [2.50, ...)
    assert histogram_median(hist, 0.01) == pytest.approx(2.51)
    assert math.isnan(histogram_median(np.zeros(5), 0.01))
