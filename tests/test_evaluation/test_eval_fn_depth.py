import math

import numpy as np
import pytest
import torch

from mmdmtl.evaluation.functional import batch_depth_sums, depth_scores


def test_pooled_depth_matches_brute_force():
    r = np.random.default_rng(0)
    gts = [r.uniform(0.5, 5, (1, 6, 7)), r.uniform(0.5, 5, (1, 3, 3))]
    gts[0][0, :2] = 0  # invalid
    preds = [g * r.uniform(0.7, 1.4, g.shape) for g in gts]
    s = batch_depth_sums([torch.tensor(p) for p in preds],
                         [torch.tensor(g) for g in gts])
    tot = {k: v.sum() for k, v in s.items()}
    res = depth_scores(tot)
    p = np.concatenate([x[g > 0] for x, g in zip(preds, gts)])
    g = np.concatenate([y[y > 0] for y in gts])
    assert tot['count'] == g.size
    assert res['abs_err'] == pytest.approx(np.abs(p - g).mean())
    assert res['rmse'] == pytest.approx(math.sqrt(((p - g)**2).mean()))
    assert res['abs_rel'] == pytest.approx((np.abs(p - g) / g).mean())
    assert res['log_rmse'] == pytest.approx(
        math.sqrt(((np.log(p) - np.log(g))**2).mean()))
    ratio = np.maximum(p / g, g / p)
    for k in (1, 2, 3):
        assert res[f'delta{k}'] == pytest.approx(100 * np.mean(ratio < 1.25**k))


def test_pixel_pooling_not_image_mean():
    # image A: 1 pixel error 1; image B: 3 pixels error 0 -> pooled 0.25
    s = batch_depth_sums([torch.tensor([[2.0]]), torch.ones(1, 3)],
                         [torch.tensor([[1.0]]), torch.ones(1, 3)])
    assert depth_scores({k: v.sum() for k, v in s.items()})['abs_err'] == 0.25


def test_perfect_and_empty():
    g = torch.rand(1, 4, 4) + 0.1
    res = depth_scores({k: v.sum() for k, v in batch_depth_sums([g], [g]).items()})
    assert res['abs_err'] == 0 and res['rmse'] == 0 and res['delta1'] == 100
    empty = batch_depth_sums([g], [torch.zeros_like(g)])
    assert math.isnan(depth_scores({k: v.sum() for k, v in empty.items()})
                      ['abs_err'])
