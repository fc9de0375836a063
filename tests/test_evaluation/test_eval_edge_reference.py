"""The fast edge evaluation (issue 19) gives exactly the counts of the
implementation it replaced.

``mmdmtl/testing/edge_reference.py`` is a frozen copy of
``mmdmtl/evaluation/functional/edge.py`` from before the speed-up; it is loaded by
path (never as a ``tests.x`` package import). Every case compares cntR, sumR, cntP
and sumP for equality, with the compiled kernels and with the numpy fallback.
Small images and few thresholds keep this fast; the 512x512 / 99-threshold
comparison is in tools/benchmarks/edge_eval_throughput.py (it asserts equality).
"""
import math

import numpy as np
import pytest
from scipy.ndimage import binary_dilation, gaussian_filter

from mmdmtl.evaluation.functional import bwmorph_thin, edge_pr_counts
from mmdmtl.evaluation.functional import edge as edge_mod
from mmdmtl.testing import edge_reference

KEYS = ('cntR', 'sumR', 'cntP', 'sumP')


REF = edge_reference
PATHS = ['compiled', 'numpy']


@pytest.fixture(params=PATHS)
def path(request, monkeypatch):
    if request.param == 'compiled':
        if not edge_mod.use_compiled():
            pytest.skip('numba not installed')
    else:
        monkeypatch.setenv('MMDMTL_EDGE_NO_NUMBA', '1')
        assert not edge_mod.use_compiled()
    return request.param


def _assert_same(prob, gt, thresholds, max_dist, thin=True):
    ref = REF.edge_pr_counts(prob, gt, thresholds, max_dist, thin, 255, 'scipy')
    new = edge_pr_counts(prob, gt, thresholds, max_dist, thin, 255, 'scipy')
    for k in KEYS:
        assert new[k].dtype == np.int64
        np.testing.assert_array_equal(new[k], ref[k], err_msg=k)
    return new


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


TH = [0.05, 0.2, 0.45, 0.7]


@pytest.mark.parametrize('size', [(48, 64), (37, 53), (61, 29)])
def test_random_blurry_predictions(path, size):
    rng = np.random.default_rng(sum(size))
    for trial in range(2):
        gt = _label(rng, *size)
        prob = _blurry(rng, gt)
        _assert_same(prob, gt, TH, 0.0075 if trial else 0.011)
        _assert_same(prob, gt, 5, 0.02, thin=False)


def test_thick_predictions(path):
    rng = np.random.default_rng(1)
    gt = _label(rng, 56, 72)
    thick = binary_dilation(np.roll(gt, 1, axis=1), iterations=4).astype(float)
    prob = 0.3 * thick + 0.6 * gaussian_filter(thick, 2) + 0.05 * rng.random(gt.shape)
    _assert_same(np.clip(prob, 0, 1), gt, TH, 0.011)
    # plateaus of one value: several thresholds give the same map
    _assert_same(thick * 0.5, gt, [0.1, 0.3, 0.5, 0.6], 0.011)
    # a prediction covering the whole image at the lowest threshold
    _assert_same(0.02 + 0.9 * thick, gt, [0.01, 0.5], 0.0075)


def test_real_nyud_edge_maps(path, shared_data):
    files = sorted((shared_data / 'nyud_v2' / 'NYUD_MT' / 'edge').glob('*.npy'))
    assert len(files) >= 3
    rng = np.random.default_rng(2)
    labels = [np.load(f) for f in files[:3]]
    for i, lab in enumerate(labels):
        y0, x0 = 40 * i, 60 * i
        gt = (lab[y0:y0 + 90, x0:x0 + 110] > 0).astype(np.uint8)
        gt[:2] = 255 if i == 1 else gt[:2]  # an ignored band on one image
        other = labels[(i + 1) % 3][y0:y0 + 90, x0:x0 + 110].astype(float)
        prob = np.clip(0.6 * gaussian_filter((gt == 1) * 1.0, 1.2) * 3
                       + 0.4 * gaussian_filter(other, 1.0)
                       + 0.1 * rng.random(gt.shape), 0, 1)
        _assert_same(prob, gt, TH, 0.011)
        # the label of another image as a sharp prediction
        _assert_same(other, gt, [0.5], 0.011)


def test_degenerate_inputs(path):
    rng = np.random.default_rng(3)
    gt = _label(rng, 33, 41)
    prob = _blurry(rng, gt)
    empty = np.zeros_like(gt)
    c = _assert_same(prob, empty, TH, 0.0075)  # empty label
    assert (c['sumR'] == 0).all() and (c['cntR'] == 0).all() and c['sumP'].any()
    c = _assert_same(np.zeros(gt.shape), gt, TH, 0.0075)  # all-zero prediction
    assert (c['sumP'] == 0).all() and (c['sumR'] > 0).all()
    _assert_same(np.ones(gt.shape), gt, TH, 0.0075)  # all on
    _assert_same(np.full(gt.shape, 255), np.full(gt.shape, 255, np.uint8), TH,
                 0.0075)  # everything ignored
    for shape in [(1, 1), (1, 7), (6, 1), (2, 3), (5, 5)]:  # tiny and odd sizes
        g = (rng.random(shape) < 0.4).astype(np.uint8)
        p = rng.random(shape)
        _assert_same(p, g, TH, 0.3)
        _assert_same(p[None], g[None], TH, 0.3)  # [1, H, W] inputs


def test_radius_on_the_pixel_grid(path):
    # diagonal 50: max_dist 0.1 is exactly 5 px, where (3, 4) and (5, 0) lie
    rng = np.random.default_rng(4)
    gt = (rng.random((30, 40)) < 0.03).astype(np.uint8)
    prob = np.roll(gt, (3, 4), axis=(0, 1)) * 0.9 + np.roll(gt, 5, axis=1) * 0.6
    for md in (0.1, 0.1 - 1e-9, 0.1 + 1e-9, 0.0283, 0.05):
        _assert_same(prob, gt, [0.3, 0.7], md, thin=False)


def test_dense_matching_graph(path):
    """Many crossing candidate pairs (augmenting paths needed), no thinning."""
    rng = np.random.default_rng(5)
    for trial in range(3):
        gt = (rng.random((40, 44)) < 0.15).astype(np.uint8)
        prob = rng.random((40, 44))
        _assert_same(prob, gt, [0.6, 0.8, 0.9], 0.03 + 0.02 * trial, thin=False)


def test_thinning_equals_reference(path):
    rng = np.random.default_rng(6)
    maps = [gaussian_filter(rng.random((45, 57)), 2) > 0.5 for _ in range(3)]
    maps.append(binary_dilation(rng.random((45, 57)) < 0.03, iterations=3))
    maps.append(np.ones((45, 57), bool))
    maps = np.stack(maps)
    np.testing.assert_array_equal(bwmorph_thin(maps), REF.bwmorph_thin(maps))
    for n in (1, 2, 5):
        np.testing.assert_array_equal(bwmorph_thin(maps, max_iter=n),
                                      REF.bwmorph_thin(maps, max_iter=n))


def test_compiled_matching_equals_scipy():
    if not edge_mod.use_compiled():
        pytest.skip('numba not installed')
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
        assert got == REF.match_count(pred, gt, md, 'scipy')
