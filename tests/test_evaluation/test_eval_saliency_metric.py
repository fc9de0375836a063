import numpy as np
import pytest
import torch

from mmdmtl.evaluation import SaliencyMetric


def _samples(make_sample, n=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(n):
        gt = (torch.rand(1, 8, 6 + i, generator=g) > 0.5).long()
        gt[0, 0, 0] = 255
        prob = (0.6 * gt.clamp(max=1) + 0.4 * torch.rand(gt.shape, generator=g))
        out.append(make_sample({'sal': prob}, {'sal': gt}))
    return out


def _brute(samples, sig=False):
    q = np.concatenate([s['pred_sal_map']['data'].numpy().ravel() for s in samples])
    y = np.concatenate([s['gt_sal_map']['data'].numpy().ravel() for s in samples])
    q, y = q[y != 255], y[y != 255] == 1
    if sig:
        q = 1 / (1 + np.exp(-q))
    best = 0
    for t in np.arange(1, 20) * 0.05:
        tp, pp = np.sum((q >= t) & y), np.sum(q >= t)
        p = tp / pp if pp else 0
        r = tp / y.sum()
        if p + r:
            best = max(best, 1.3 * p * r / (0.3 * p + r))
    pos = q >= 0.5
    iou1 = np.sum(pos & y) / np.sum(pos | y)
    iou0 = np.sum(~pos & ~y) / np.sum(~pos | ~y)
    return 100 * best, 100 * (iou0 + iou1) / 2


@pytest.mark.parametrize('published', [False, True])
def test_maxf_and_miou_match_brute_force(make_sample, published):
    samples = _samples(make_sample)
    m = SaliencyMetric(published_double_sigmoid=published)
    m.process({}, samples)
    res = m.evaluate(len(samples))
    maxf, miou = _brute(samples, published)
    assert res['sal/maxF'] == pytest.approx(maxf)
    assert res['sal/mIoU'] == pytest.approx(miou)


def test_perfect_and_partial(make_sample):
    gt = torch.tensor([[[0, 1], [1, 0]]])
    m = SaliencyMetric()
    m.process({}, [make_sample({'sal': gt.float()}, {'sal': gt}),
                   make_sample({'sal': gt.float()}, {'semseg': gt})])
    assert [r['counted'] for r in m.results] == [True, False]
    res = m.evaluate(2)
    assert res == {'sal/maxF': 100.0, 'sal/mIoU': 100.0}
