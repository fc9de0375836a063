import math

import numpy as np
import pytest

from mmdmtl.evaluation.functional import (average_precision, bwmorph_thin,
                                          edge_pr_counts, edge_scores,
                                          edge_thresholds, match_count)
from mmdmtl.evaluation.functional.edge import _pyedgeeval_available

HAS_PYEDGEEVAL = _pyedgeeval_available()
BACKENDS = ['scipy'] + (['pyedgeeval'] if HAS_PYEDGEEVAL else [])


def _brute_max_matching(pred, gt, max_dist):
    """Kuhn's augmenting paths on all pairs within the radius (brute force)."""
    h, w = pred.shape
    r2 = (max_dist * math.hypot(h, w))**2
    P, G = np.argwhere(pred), np.argwhere(gt)
    adj = [[j for j, q in enumerate(G) if ((p - q)**2).sum() <= r2 + 1e-9]
           for p in P]
    owner = [-1] * len(G)

    def augment(i, seen):
        for j in adj[i]:
            if not seen[j]:
                seen[j] = True
                if owner[j] < 0 or augment(owner[j], seen):
                    owner[j] = i
                    return True
        return False

    return sum(augment(i, [False] * len(G)) for i in range(len(P)))


def test_thresholds_bsds_convention():
    th = edge_thresholds(99)
    assert len(th) == 99 and th[0] == pytest.approx(0.01) and th[-1] == pytest.approx(0.99)
    np.testing.assert_allclose(edge_thresholds(3), [0.25, 0.5, 0.75])
    np.testing.assert_allclose(edge_thresholds([0.7, 0.2]), [0.2, 0.7])
    with pytest.raises(ValueError):
        edge_thresholds(0)


@pytest.mark.parametrize('backend', BACKENDS)
def test_matching_equals_brute_force(backend):
    r = np.random.default_rng(0)
    for trial in range(6):
        pred = r.random((14, 17)) < 0.12
        gt = r.random((14, 17)) < 0.10
        md = 0.05 + 0.05 * (trial % 3)  # radius ~1.1 .. 3.3 px
        best = _brute_max_matching(pred, gt, md)
        got = match_count(pred, gt, md, backend)
        if backend == 'scipy':
            assert got == best
        else:
            # BSDS correspondPixels draws a random sparse outlier graph and now
            # and then returns a matching one or two short of the maximum.
            assert best - 2 <= got <= best


def test_matching_radius_is_inclusive():
    pred = np.zeros((30, 40), bool)
    gt = np.zeros((30, 40), bool)
    pred[10, 10] = True
    gt[10, 15] = True  # 5 px apart; diagonal = 50 -> 0.1 * 50 = 5
    for backend in BACKENDS:
        assert match_count(pred, gt, 0.1, backend) == 1
        assert match_count(pred, gt, 0.099, backend) == 0


def test_thinning_hand_made():
    bw = np.zeros((20, 20), bool)
    bw[5:12, 3:17] = True  # 7 x 14 block thins to a horizontal segment
    t = bwmorph_thin(bw)
    assert t[8, 6:14].all() and t.sum() == 8
    line = np.zeros((9, 9), bool)
    line[4, 1:8] = True
    line[1:8, 4] = True  # a cross of 1-px lines (arms >= 3 px) stays
    np.testing.assert_array_equal(bwmorph_thin(line), line)
    dot = np.zeros((5, 5), bool)
    dot[2, 2] = True
    np.testing.assert_array_equal(bwmorph_thin(dot), dot)


def test_thinning_properties_and_stack():
    r = np.random.default_rng(3)
    from scipy.ndimage import binary_dilation
    maps = np.stack([binary_dilation(r.random((24, 30)) < 0.03, iterations=2)
                     for _ in range(5)])
    thin = bwmorph_thin(maps)
    assert (thin <= maps).all()  # only deletes
    np.testing.assert_array_equal(bwmorph_thin(thin), thin)  # idempotent
    for k in range(5):  # stacked == one by one
        np.testing.assert_array_equal(thin[k], bwmorph_thin(maps[k]))


@pytest.mark.skipif(not HAS_PYEDGEEVAL, reason='pyEdgeEval not installed')
def test_thinning_equals_pyedgeeval():
    from pyEdgeEval.preprocess import binary_thin
    r = np.random.default_rng(4)
    from scipy.ndimage import binary_dilation, gaussian_filter
    for trial in range(4):
        m = gaussian_filter(r.random((40, 50)), 2) > 0.5
        m |= binary_dilation(r.random((40, 50)) < 0.02, iterations=trial)
        np.testing.assert_array_equal(bwmorph_thin(m), binary_thin(m))


def _scores_brute(cr, sr, cp, sp, th):
    """Loop re-implementation of BSDS ODS (findBestRPF) / OIS / AP."""
    def rpf(a, b, c, d):
        r = a / b if b > 0 else 0.0
        p = c / d if d > 0 else 0.0
        return r, p, (2 * p * r / (p + r) if p + r > 0 else 0.0)
    R, P = [], []
    for k in range(len(th)):
        r, p, _ = rpf(cr[:, k].sum(), sr[:, k].sum(), cp[:, k].sum(), sp[:, k].sum())
        R.append(r)
        P.append(p)
    best = -1
    for k in range(1, len(th)):
        for a in np.linspace(0, 1, 100):
            r = R[k] * a + R[k - 1] * (1 - a)
            p = P[k] * a + P[k - 1] * (1 - a)
            best = max(best, 2 * p * r / (p + r) if p + r > 0 else 0)
    tot = np.zeros(4)
    for i in range(cr.shape[0]):
        fs = [rpf(cr[i, k], sr[i, k], cp[i, k], sp[i, k])[2] for k in range(len(th))]
        k = int(np.argmax(fs))
        tot += [cr[i, k], sr[i, k], cp[i, k], sp[i, k]]
    return best, rpf(*tot)[2], R, P


def test_scores_match_loop_implementation():
    r = np.random.default_rng(5)
    n, k = 4, 7
    sp = r.integers(0, 50, (n, k))
    sp = -np.sort(-sp, axis=1)  # fewer pixels at higher thresholds
    cp = (sp * r.uniform(0.2, 1, (n, k))).astype(int)
    sr = np.repeat(r.integers(10, 60, (n, 1)), k, axis=1)
    cr = np.minimum(cp, sr)
    th = edge_thresholds(k)
    s = edge_scores(cr, sr, cp, sp, k)
    ods, ois, R, P = _scores_brute(cr, sr, cp, sp, th)
    assert s['odsF'] == pytest.approx(ods)
    assert s['oisF'] == pytest.approx(ois)
    assert 0 <= s['AP'] <= 1


def test_average_precision_hand_made():
    # P(R) = 1 on R in [0.2, 0.8]: grid points 0.2..0.8 -> 61 points / 100
    assert average_precision([0.8, 0.5, 0.2], [1, 1, 1]) == pytest.approx(0.61)
    assert average_precision([0.3, 0.3], [0.5, 0.4]) == 0.0  # one unique recall


@pytest.mark.parametrize('backend', BACKENDS)
def test_perfect_prediction_gives_100(backend):
    gt = np.zeros((1, 40, 48), np.int64)
    gt[0, 10, 5:40] = 1
    gt[0, 5:35, 30] = 1
    gt[0, 0, :] = 255  # ignored row: neither label nor prediction
    prob = (gt == 1).astype(np.float64)
    prob[0, 0, :] = 1.0  # a confident prediction on ignored pixels is not counted
    c = edge_pr_counts(prob, gt, 9, 0.0075, backend=backend)
    assert c['sumR'][0] == (gt == 1).sum() and (c['sumP'] == c['sumR']).all()
    s = edge_scores(c['cntR'], c['sumR'], c['cntP'], c['sumP'], 9)
    if backend == 'scipy':
        assert (c['cntR'] == c['sumR']).all()
        assert s['odsF'] == pytest.approx(1.0) and s['oisF'] == pytest.approx(1.0)
    else:  # see test_matching_equals_brute_force: BSDS may miss a match
        assert (c['cntR'] >= c['sumR'] - 2).all()
        assert s['odsF'] > 0.97


def test_counts_shifted_prediction_depend_on_radius():
    gt = np.zeros((50, 50), np.int64)
    gt[20, 5:45] = 1
    prob = np.zeros((50, 50))
    prob[23, 5:45] = 0.8  # 3 px away
    diag = math.hypot(50, 50)
    near = edge_pr_counts(prob, gt, [0.5], 3.5 / diag, backend='scipy')
    far = edge_pr_counts(prob, gt, [0.5], 2.5 / diag, backend='scipy')
    assert near['cntP'][0] == 40 and far['cntP'][0] == 0
    above = edge_pr_counts(prob, gt, [0.9], 3.5 / diag, backend='scipy')
    assert above['sumP'][0] == 0 and above['sumR'][0] == 40
