import numpy as np
import pytest
import torch

from mmdmtl.evaluation.functional import (batch_binary_pr_counts,
                                          default_saliency_thresholds,
                                          fbeta_from_counts, max_fbeta)


def test_thresholds_default():
    th = default_saliency_thresholds()
    assert len(th) == 19 and th[0] == 0.05 and th[-1] == 0.95


def test_counts_match_brute_force():
    r = np.random.default_rng(0)
    probs = [r.random((1, 7, 5)), r.random((1, 3, 9))]
    gts = [(r.random(p.shape) > 0.6).astype(np.int64) for p in probs]
    gts[1][0, 0, :4] = 255
    th = [0.9, 0.05, 0.5, probs[0][0, 0, 0]]  # unsorted, one exactly on a value
    c = batch_binary_pr_counts([torch.tensor(p) for p in probs],
                               [torch.tensor(g) for g in gts], th)
    for b in range(2):
        v = gts[b] != 255
        q, y = probs[b][v], gts[b][v] == 1
        for j, t in enumerate(th):
            assert c['tp'][b, j] == np.sum((q >= t) & y)
            assert c['pred_pos'][b, j] == np.sum(q >= t)
        assert c['gt_pos'][b] == y.sum() and c['valid'][b] == v.sum()


def test_fbeta_and_published_double_sigmoid():
    f = fbeta_from_counts(np.array([6, 0]), np.array([8, 0]), 10, 0.3)
    p, r = 6 / 8, 6 / 10
    assert f['f'][0] == pytest.approx(1.3 * p * r / (0.3 * p + r))
    assert f['f'][1] == 0  # no predicted positives -> P = 0, F = 0
    prob = torch.tensor([[0.0, 0.2, 0.9]])
    gt = torch.tensor([[0, 0, 1]])
    c = batch_binary_pr_counts([prob], [gt], [0.54], published_double_sigmoid=True)
    # sigmoid(0.2) = 0.5498 -> positive; sigmoid(0) = 0.5 -> negative
    assert c['pred_pos'][0, 0] == 2
    best = max_fbeta(c['tp'][0], c['pred_pos'][0], c['gt_pos'][0], [0.54])
    assert best['maxF'] == pytest.approx(1.3 * 0.5 / (0.3 * 0.5 + 1))


def test_perfect_prediction():
    gt = torch.randint(0, 2, (1, 8, 8), generator=torch.Generator().manual_seed(0))
    c = batch_binary_pr_counts([gt.float()], [gt], default_saliency_thresholds())
    best = max_fbeta(c['tp'][0], c['pred_pos'][0], c['gt_pos'][0],
                     default_saliency_thresholds())
    assert best['maxF'] == 1.0
