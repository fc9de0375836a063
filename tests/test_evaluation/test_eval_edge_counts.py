"""The edge evaluation gives exactly the stored counts.

``tests/data/edge_counts.npz`` holds cntR, sumR, cntP and sumP ([4, K]) of every
case below, and the thinned maps of the thinning case, computed once (issue 26) by the
implementation of before the speed-up of issue 19 (which the compiled kernels
matched case by case). The inputs are rebuilt here from fixed seeds; a change of
any count is a change of the metric. pyEdgeEval is the outside check of the
thinning and the matching (test_eval_fn_edge.py).
"""
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import binary_dilation, gaussian_filter

from mmdmtl.evaluation.functional import bwmorph_thin, edge_pr_counts
from mmdmtl.evaluation.functional import edge as edge_mod

KEYS = ('cntR', 'sumR', 'cntP', 'sumP')
EXPECTED = Path(__file__).resolve().parents[1] / 'data' / 'edge_counts.npz'
TH = [0.05, 0.2, 0.45, 0.7]


@pytest.fixture(scope='module')
def expected():
    with np.load(EXPECTED, allow_pickle=False) as f:
        return dict(f)


def _label(rng, h, w, n_lines=3, n_rings=2):
    gt = np.zeros((h, w), np.uint8)
    for _ in range(n_lines):
        if rng.random() < 0.5:
            gt[rng.integers(0, h), rng.integers(0, w // 2):rng.integers(w // 2, w)] = 1
        else:
            gt[rng.integers(0, h // 2):rng.integers(h // 2, h), rng.integers(0, w)] = 1
    yy, xx = np.mgrid[:h, :w]
    for _ in range(n_rings):
        cy, cx = rng.integers(0, h), rng.integers(0, w)
        r = rng.integers(3, max(4, min(h, w) // 3))
        gt[np.abs(np.hypot(yy - cy, xx - cx) - r) < 0.5] = 1
    return gt


def _blurry(rng, gt, sigma=1.5, noise=0.25):
    shifted = np.roll(gt, tuple(rng.integers(-2, 3, 2)), axis=(0, 1)).astype(float)
    prob = gaussian_filter(shifted, sigma) * 4
    prob += noise * gaussian_filter(rng.random(gt.shape), 2)
    return np.clip(prob, 0, 1)


def random_blurry_cases(size):
    rng = np.random.default_rng(sum(size))
    for trial in range(2):
        gt = _label(rng, *size)
        prob = _blurry(rng, gt)
        yield prob, gt, TH, 0.0075 if trial else 0.011, True
        yield prob, gt, 5, 0.02, False


def thick_cases():
    rng = np.random.default_rng(1)
    gt = _label(rng, 56, 72)
    thick = binary_dilation(np.roll(gt, 1, axis=1), iterations=4).astype(float)
    prob = 0.3 * thick + 0.6 * gaussian_filter(thick, 2) + 0.05 * rng.random(gt.shape)
    yield np.clip(prob, 0, 1), gt, TH, 0.011, True
    # plateaus of one value: several thresholds give the same map
    yield thick * 0.5, gt, [0.1, 0.3, 0.5, 0.6], 0.011, True
    # a prediction covering the whole image at the lowest threshold
    yield 0.02 + 0.9 * thick, gt, [0.01, 0.5], 0.0075, True


def nyud_cases(shared_data):
    files = sorted((shared_data / 'nyud_v2' / 'NYUD_MT' / 'edge').glob('*.npy'))
    assert len(files) >= 3
    rng = np.random.default_rng(2)
    labels = [np.load(f, allow_pickle=False) for f in files[:3]]
    for i, lab in enumerate(labels):
        y0, x0 = 40 * i, 60 * i
        gt = (lab[y0:y0 + 90, x0:x0 + 110] > 0).astype(np.uint8)
        gt[:2] = 255 if i == 1 else gt[:2]  # an ignored band on one image
        other = labels[(i + 1) % 3][y0:y0 + 90, x0:x0 + 110].astype(float)
        prob = np.clip(0.6 * gaussian_filter((gt == 1) * 1.0, 1.2) * 3
                       + 0.4 * gaussian_filter(other, 1.0)
                       + 0.1 * rng.random(gt.shape), 0, 1)
        yield prob, gt, TH, 0.011, True
        # the label of another image as a sharp prediction
        yield other, gt, [0.5], 0.011, True


def degenerate_cases():
    rng = np.random.default_rng(3)
    gt = _label(rng, 33, 41)
    prob = _blurry(rng, gt)
    yield prob, np.zeros_like(gt), TH, 0.0075, True  # empty label
    yield np.zeros(gt.shape), gt, TH, 0.0075, True  # all-zero prediction
    yield np.ones(gt.shape), gt, TH, 0.0075, True  # all on
    yield (np.full(gt.shape, 255), np.full(gt.shape, 255, np.uint8), TH, 0.0075,
           True)  # everything ignored
    for shape in [(1, 1), (1, 7), (6, 1), (2, 3), (5, 5)]:  # tiny and odd sizes
        g = (rng.random(shape) < 0.4).astype(np.uint8)
        p = rng.random(shape)
        yield p, g, TH, 0.3, True
        yield p[None], g[None], TH, 0.3, True  # [1, H, W] inputs


def radius_cases():
    # diagonal 50: max_dist 0.1 is exactly 5 px, where (3, 4) and (5, 0) lie
    rng = np.random.default_rng(4)
    gt = (rng.random((30, 40)) < 0.03).astype(np.uint8)
    prob = np.roll(gt, (3, 4), axis=(0, 1)) * 0.9 + np.roll(gt, 5, axis=1) * 0.6
    for md in (0.1, 0.1 - 1e-9, 0.1 + 1e-9, 0.0283, 0.05):
        yield prob, gt, [0.3, 0.7], md, False


def dense_graph_cases():
    """Many crossing candidate pairs (augmenting paths needed), no thinning."""
    rng = np.random.default_rng(5)
    for trial in range(3):
        gt = (rng.random((40, 44)) < 0.15).astype(np.uint8)
        prob = rng.random((40, 44))
        yield prob, gt, [0.6, 0.8, 0.9], 0.03 + 0.02 * trial, False


def thinning_maps():
    rng = np.random.default_rng(6)
    maps = [gaussian_filter(rng.random((45, 57)), 2) > 0.5 for _ in range(3)]
    maps.append(binary_dilation(rng.random((45, 57)) < 0.03, iterations=3))
    maps.append(np.ones((45, 57), bool))
    return np.stack(maps)


def all_cases(shared_data):
    """name -> generator of (prob, gt, thresholds, max_dist, thin)."""
    cases = {f'random_{h}x{w}': random_blurry_cases((h, w))
             for h, w in [(48, 64), (37, 53), (61, 29)]}
    cases.update(thick=thick_cases(), degenerate=degenerate_cases(),
                 radius=radius_cases(), dense_graph=dense_graph_cases())
    if shared_data is not None:
        cases['nyud'] = nyud_cases(shared_data)
    return cases


def _check(name, cases, expected):
    n = 0
    for i, (prob, gt, th, md, thin) in enumerate(cases):
        got = edge_pr_counts(prob, gt, th, md, thin, 255, 'scipy')
        assert all(got[k].dtype == np.int64 for k in KEYS)
        np.testing.assert_array_equal(np.stack([got[k] for k in KEYS]),
                                      expected[f'{name}/{i}'],
                                      err_msg=f'{name} case {i}: {KEYS}')
        n += 1
    assert f'{name}/{n}' not in expected, f'{name}: stored cases not rebuilt'
    return n


@pytest.mark.parametrize('name', ['random_48x64', 'random_37x53', 'random_61x29',
                                  'thick', 'degenerate', 'radius', 'dense_graph'])
def test_counts_equal_the_stored_counts(name, expected):
    assert _check(name, all_cases(None)[name], expected) > 0


def test_real_nyud_edge_maps_equal_the_stored_counts(shared_data, expected):
    assert _check('nyud', nyud_cases(shared_data), expected) == 6


def test_degenerate_counts():
    """What the stored counts of the degenerate cases say, in words."""
    cases = list(degenerate_cases())
    c = edge_pr_counts(*cases[0][:4])  # empty label
    assert (c['sumR'] == 0).all() and (c['cntR'] == 0).all() and c['sumP'].any()
    c = edge_pr_counts(*cases[1][:4])  # all-zero prediction
    assert (c['sumP'] == 0).all() and (c['sumR'] > 0).all()


def test_thinning_equals_the_stored_maps(expected):
    maps = thinning_maps()
    for n in ('inf', 1, 2, 5):
        got = bwmorph_thin(maps, max_iter=None if n == 'inf' else n)
        want = np.unpackbits(expected[f'thin/{n}'], count=maps.size)
        np.testing.assert_array_equal(got, want.reshape(maps.shape).astype(bool),
                                      err_msg=f'max_iter={n}')


def test_compiled_matching_equals_scipy():
    """The stencil Hopcroft-Karp kernel against the kd-tree + scipy matching."""
    rng = np.random.default_rng(7)
    for trial in range(20):
        h, w = rng.integers(5, 30, 2)
        pred = rng.random((h, w)) < rng.uniform(0.05, 0.5)
        gt = rng.random((h, w)) < rng.uniform(0.05, 0.5)
        md = rng.uniform(0.02, 0.2)
        ody, odx = edge_mod._disc_offsets(md * math.hypot(h, w))
        gid = np.full((h, w), -1, np.int32)
        gid[gt] = np.arange(gt.sum(), dtype=np.int32)
        flat = np.zeros((h + 2) * (w + 2), np.uint8)
        flat.reshape(h + 2, w + 2)[1:-1, 1:-1] = pred
        got = edge_mod._nb_match_count(flat, w + 2, h, w, gid, int(gt.sum()),
                                       edge_mod._nb_near(gt, ody, odx), ody, odx)
        assert got == edge_mod.match_count(pred, gt, md, 'scipy')
