"""Edge (boundary) evaluation with the BSDS protocol: odsF, oisF and AP.

Per image and per threshold t (BSDS500 ``evaluation_bdry_image`` / Dollar's
``edgesEvalImg``):

1. binarise the probability map, ``E_t = prob >= max(t, eps)``; ignored label
   pixels are removed from ``E_t`` (they are neither predictions nor labels);
2. thin ``E_t`` to one-pixel-wide curves (MATLAB ``bwmorph(E_t, 'thin', inf)``);
3. match the thinned pixels one-to-one with the label's edge pixels, a pair being
   allowed when its Euclidean distance is <= ``max_dist * image diagonal``
   (BSDS ``correspondPixels``);
4. keep the counts ``cntR`` (matched label pixels), ``sumR`` (label pixels),
   ``cntP`` (matched predicted pixels), ``sumP`` (predicted pixels).

These four [K] vectors are the whole per-image record (O(thresholds)). From the
records of a data set:

- ODS: R = sum cntR / sum sumR and P = sum cntP / sum sumP at each threshold,
  F = 2PR / (P + R); the best F over the thresholds, searched (as BSDS does) on
  the straight segments between consecutive thresholds (100 points each);
- OIS: each image's counts at its own best (discrete) threshold are summed, then
  F of the pooled counts;
- AP: the pooled P(R) curve (one point per threshold, R = 0 points and repeated
  recalls dropped) is linearly interpolated at R = 0, 0.01, ..., 1; points
  outside the curve's recall range are dropped and the sum is divided by 100.

The one-to-one matching: BSDS solves a min-cost assignment whose outlier cost
(100 x the radius) makes it a maximum-cardinality matching with a distance
tie-break. Only the number of matches enters the counts, so the ``'scipy'``
backend computes a maximum-cardinality matching (Hopcroft-Karp on the graph of
pairs within the radius) directly; the ``'pyedgeeval'`` backend calls pyEdgeEval's
Cython port of the BSDS C++ code. They agree except in the rare cases where the
BSDS solver's sparse random outlier graph returns a smaller matching.
"""
import math
from typing import Dict, Optional, Sequence, Tuple, Union

import numba
import numpy as np

try:
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import maximum_bipartite_matching
    from scipy.spatial import cKDTree
except ImportError:  # pragma: no cover - scipy is a runtime requirement
    cKDTree = None


# ---------------------------------------------------------------------------
# Thresholds
# ---------------------------------------------------------------------------


def edge_thresholds(thresholds: Union[int, Sequence[float]] = 99) -> np.ndarray:
    """BSDS threshold convention.

    An int K gives K evenly spaced thresholds strictly inside (0, 1):
    ``linspace(1/(K+1), 1 - 1/(K+1), K)`` (K = 99 gives 0.01 ... 0.99, the
    BSDS/edgesEval default). A sequence is used as given (sorted ascending).
    """
    if isinstance(thresholds, (int, np.integer)):
        k = int(thresholds)
        if k < 1:
            raise ValueError(f'edge thresholds: need at least 1, got {k}')
        return np.linspace(1.0 / (k + 1), 1.0 - 1.0 / (k + 1), k)
    th = np.sort(np.asarray(list(thresholds), dtype=np.float64))
    if th.ndim != 1 or th.size == 0:
        raise ValueError(f'edge thresholds must be an int or a non-empty list, '
                         f'got {thresholds!r}')
    return th


# ---------------------------------------------------------------------------
# Thinning (MATLAB bwmorph 'thin', Inf), vectorised over a stack of maps
# ---------------------------------------------------------------------------

# 3x3 neighbourhood code: bit (dy + 1) * 3 + (dx + 1) for offset (dy, dx).
_OFFSETS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]


def _thin_luts() -> Tuple[np.ndarray, np.ndarray]:
    """Keep-tables of the two sub-iterations of the thinning of Lam, Lee and
    Suen (1992), the algorithm MATLAB's ``bwmorph(.., 'thin')`` documents.

    With neighbours x1..x8 counter-clockwise from east, a foreground pixel is
    deleted in sub-iteration 1 when G1, G2 and G3 hold, in sub-iteration 2 when
    G1, G2 and G3' hold:
      G1: X_H = sum_i [x_{2i-1} = 0 and (x_{2i} = 1 or x_{2i+1} = 1)] = 1;
      G2: 2 <= min(n1, n2) <= 3 with n1 = sum_k (x_{2k-1} or x_{2k}),
          n2 = sum_k (x_{2k} or x_{2k+1});
      G3: (x2 or x3 or not x8) and x1 = 0;  G3': (x6 or x7 or not x4) and x5 = 0.
    """
    codes = np.arange(512)
    bit = {off: (codes >> i) & 1 for i, off in enumerate(_OFFSETS)}
    # x1..x8: E, NE, N, NW, W, SW, S, SE (row index grows downwards)
    x = [None,
         bit[(0, 1)], bit[(-1, 1)], bit[(-1, 0)], bit[(-1, -1)],
         bit[(0, -1)], bit[(1, -1)], bit[(1, 0)], bit[(1, 1)]]
    x.append(x[1])  # x9 = x1
    centre = bit[(0, 0)].astype(bool)
    xh = sum(((x[2 * i - 1] == 0) & ((x[2 * i] == 1) | (x[2 * i + 1] == 1)))
             for i in range(1, 5))
    n1 = sum((x[2 * k - 1] | x[2 * k]) for k in range(1, 5))
    n2 = sum((x[2 * k] | x[2 * k + 1]) for k in range(1, 5))
    mn = np.minimum(n1, n2)
    g12 = (xh == 1) & (mn >= 2) & (mn <= 3)
    g3 = ((x[2] | x[3] | (1 - x[8])) & x[1]) == 0
    g3p = ((x[6] | x[7] | (1 - x[4])) & x[5]) == 0
    keep1 = centre & ~(g12 & g3)
    keep2 = centre & ~(g12 & g3p)
    return keep1, keep2


_KEEP1, _KEEP2 = _thin_luts()


def bwmorph_thin(bw: np.ndarray, max_iter: Optional[int] = None) -> np.ndarray:
    """Thin binary maps to one-pixel-wide curves (MATLAB ``bwmorph(bw,'thin',n)``).

    Works on a stack [..., H, W], map by map, as a compiled (numba) loop over
    pixels. Only pixels whose 3x3 neighbourhood changed since a sub-iteration
    last examined them are examined again (a pixel's fate depends on its
    neighbourhood only), so the cost follows the number of foreground pixels
    and deletions, not H x W x iterations.

    Args:
        bw: boolean (or 0/1) array [..., H, W]; outside the map counts as 0.
        max_iter: number of full iterations (None = until nothing changes).

    Returns:
        bool array of the same shape.
    """
    bw = np.asarray(bw)
    if bw.ndim < 2:
        raise ValueError(f'bwmorph_thin needs [..., H, W] maps, got shape {bw.shape}')
    shape = bw.shape
    h, w = shape[-2:]
    stack = bw.reshape(-1, h, w)
    pad = np.zeros((stack.shape[0], h + 2, w + 2), dtype=np.uint8)
    pad[:, 1:-1, 1:-1] = stack != 0
    _nb_thin_stack(pad.reshape(stack.shape[0], -1), w + 2, _KEEP1, _KEEP2,
                   -1 if max_iter is None else int(max_iter))
    return (pad[:, 1:-1, 1:-1] != 0).reshape(shape)


# ---------------------------------------------------------------------------
# Compiled kernels (numba): thinning of a stack of maps, exact matching
# ---------------------------------------------------------------------------
# Loops over pixels: the parallel thinning (decisions of a sub-iteration from the
# map as it was before it, deletions applied together) with a work list of the
# pixels whose neighbourhood changed, and Hopcroft-Karp on the pairs within the
# radius. The number of matches of a maximum matching is unique, so every exact
# maximum matching gives the same counts.

_njit = numba.njit(cache=True, nogil=True)


@_njit
def _nb_binarize(prob, th, out, wp):
    """out[k] (flat padded maps, zero on entry) = prob >= th[k] (th ascending)."""
    h, w = prob.shape
    k = th.shape[0]
    for y in range(h):
        row = (y + 1) * wp + 1
        for x in range(w):
            v = prob[y, x]
            j = 0
            while j < k and v >= th[j]:
                out[j, row + x] = 1
                j += 1


@_njit
def _nb_thin_stack(flat2d, wp, keep1, keep2, max_iter):
    """Thin every row of ``flat2d`` (padded maps [n, (h+2)*(w+2)], 0/1, a
    zero border) in place; max_iter < 0 means until nothing changes."""
    n_maps, n = flat2d.shape
    offs = np.empty(9, np.int64)
    i = 0
    for dy in range(-1, 2):
        for dx in range(-1, 2):
            offs[i] = dy * wp + dx
            i += 1
    lists = np.empty((2, n), np.int32)
    inl = np.zeros((2, n), np.uint8)
    dele = np.empty(n, np.int32)
    for m in range(n_maps):
        flat = flat2d[m]
        len0 = 0
        for p in range(n):
            if flat[p] != 0:
                lists[0, len0] = p
                lists[1, len0] = p
                inl[0, p] = 1
                inl[1, p] = 1
                len0 += 1
        lens = [len0, len0]
        it = 0
        while max_iter < 0 or it < max_iter:
            changed = False
            for s in range(2):
                keep = keep1 if s == 0 else keep2
                nd = 0
                for k in range(lens[s]):
                    p = lists[s, k]
                    inl[s, p] = 0
                    if flat[p] == 0:
                        continue
                    code = 0
                    for b in range(9):
                        code |= np.int64(flat[p + offs[b]]) << b
                    if not keep[code]:
                        dele[nd] = p
                        nd += 1
                lens[s] = 0
                if nd == 0:
                    continue
                changed = True
                for k in range(nd):
                    flat[dele[k]] = 0
                for k in range(nd):
                    p = dele[k]
                    for b in range(9):
                        q = p + offs[b]
                        if flat[q] != 0:
                            for t in range(2):
                                if inl[t, q] == 0:
                                    inl[t, q] = 1
                                    lists[t, lens[t]] = q
                                    lens[t] += 1
            it += 1
            if not changed:
                break
        # leave the scratch flags clean for the next map
        for t in range(2):
            for k in range(lens[t]):
                inl[t, lists[t, k]] = 0


@_njit
def _nb_match_count(flat, wp, h, w, gid, n_gt, near, ody, odx):
    """Size of a maximum matching between the on pixels of ``flat`` (a padded
    map) and the label pixels (``gid`` [h, w]: label index or -1), a pair being
    allowed at offset (ody[i], odx[i]). ``near`` [h, w] marks pixels with at
    least one label pixel within the radius. Hopcroft-Karp."""
    n_off = ody.shape[0]
    # left nodes: predicted pixels near a label pixel; CSR adjacency
    n_left = 0
    n_edges = 0
    for y in range(h):
        row = (y + 1) * wp + 1
        for x in range(w):
            if flat[row + x] != 0 and near[y, x]:
                n_left += 1
                for i in range(n_off):
                    yy = y + ody[i]
                    xx = x + odx[i]
                    if 0 <= yy < h and 0 <= xx < w and gid[yy, xx] >= 0:
                        n_edges += 1
    if n_left == 0 or n_edges == 0:
        return 0
    indptr = np.empty(n_left + 1, np.int64)
    indices = np.empty(n_edges, np.int32)
    u = 0
    e = 0
    indptr[0] = 0
    for y in range(h):
        row = (y + 1) * wp + 1
        for x in range(w):
            if flat[row + x] != 0 and near[y, x]:
                for i in range(n_off):
                    yy = y + ody[i]
                    xx = x + odx[i]
                    if 0 <= yy < h and 0 <= xx < w:
                        g = gid[yy, xx]
                        if g >= 0:
                            indices[e] = g
                            e += 1
                u += 1
                indptr[u] = e
    match_l = np.full(n_left, -1, np.int32)
    match_r = np.full(n_gt, -1, np.int32)
    size = 0
    for u in range(n_left):  # greedy start
        for k in range(indptr[u], indptr[u + 1]):
            v = indices[k]
            if match_r[v] < 0:
                match_r[v] = u
                match_l[u] = v
                size += 1
                break
    inf = np.int32(2**31 - 1)
    dist = np.empty(n_left, np.int32)
    queue = np.empty(n_left, np.int32)
    ptr = np.empty(n_left, np.int64)
    stack = np.empty(n_left + 1, np.int32)
    vstack = np.empty(n_left + 1, np.int32)
    while True:
        # BFS layers from the free left nodes
        qh = 0
        qt = 0
        for u in range(n_left):
            if match_l[u] < 0:
                dist[u] = 0
                queue[qt] = u
                qt += 1
            else:
                dist[u] = inf
        found = False
        while qh < qt:
            u = queue[qh]
            qh += 1
            for k in range(indptr[u], indptr[u + 1]):
                w2 = match_r[indices[k]]
                if w2 < 0:
                    found = True
                elif dist[w2] == inf:
                    dist[w2] = dist[u] + 1
                    queue[qt] = w2
                    qt += 1
        if not found:
            break
        for u in range(n_left):
            ptr[u] = indptr[u]
        # vertex-disjoint shortest augmenting paths (iterative DFS)
        for u0 in range(n_left):
            if match_l[u0] >= 0:
                continue
            sp = 0
            stack[0] = u0
            while sp >= 0:
                u = stack[sp]
                advanced = False
                while ptr[u] < indptr[u + 1]:
                    v = indices[ptr[u]]
                    ptr[u] += 1
                    w2 = match_r[v]
                    if w2 < 0:
                        vstack[sp] = v
                        for lv in range(sp, -1, -1):
                            match_r[vstack[lv]] = stack[lv]
                            match_l[stack[lv]] = vstack[lv]
                        size += 1
                        sp = -2  # done with u0
                        advanced = True
                        break
                    elif dist[w2] == dist[u] + 1:
                        vstack[sp] = v
                        sp += 1
                        stack[sp] = w2
                        advanced = True
                        break
                if sp == -2:
                    break
                if not advanced:
                    dist[u] = inf  # dead end in this phase
                    sp -= 1
    return size


# ---------------------------------------------------------------------------
# One-to-one matching
# ---------------------------------------------------------------------------


def _pyedgeeval_available() -> bool:
    try:
        from pyEdgeEval._lib import correspond_pixels  # noqa: F401
    except Exception:
        return False
    return True


def resolve_backend(backend: str) -> str:
    if backend not in ('auto', 'pyedgeeval', 'scipy'):
        raise ValueError(f"edge matching backend must be 'auto', 'pyedgeeval' or "
                         f"'scipy', got {backend!r}")
    if backend == 'auto':
        return 'pyedgeeval' if _pyedgeeval_available() else 'scipy'
    if backend == 'pyedgeeval' and not _pyedgeeval_available():
        raise ImportError("edge matching backend 'pyedgeeval' needs the pyEdgeEval "
                          'package (pip install pyEdgeEval==0.2.8); or use '
                          "backend='scipy'")
    return backend


def match_count(pred: np.ndarray,
                gt: np.ndarray,
                max_dist: float,
                backend: str = 'scipy') -> int:
    """Number of one-to-one matches between the pixels of two binary maps.

    Args:
        pred, gt: binary maps [H, W].
        max_dist: allowed distance as a fraction of the image diagonal.
        backend: 'scipy' (exact maximum cardinality matching, default, ~6x
            faster), 'pyedgeeval' (BSDS correspondPixels) or 'auto' (pyedgeeval
            when installed, else scipy).
    """
    pred = np.asarray(pred) != 0
    gt = np.asarray(gt) != 0
    if pred.shape != gt.shape or pred.ndim != 2:
        raise ValueError(f'edge maps must be 2-D and equal in shape, got '
                         f'{pred.shape} and {gt.shape}')
    if not pred.any() or not gt.any():
        return 0
    backend = resolve_backend(backend)
    h, w = pred.shape
    if backend == 'pyedgeeval':
        from pyEdgeEval._lib import correspond_pixels
        m1, _, _, _ = correspond_pixels(pred, gt, max_dist=max_dist)
        return int((m1 > 0).sum())
    radius = max_dist * math.sqrt(h * h + w * w)
    p_pts = np.argwhere(pred)
    g_pts = np.argwhere(gt)
    tp, tg = cKDTree(p_pts), cKDTree(g_pts)
    # inclusive radius (BSDS allows d^2 <= r^2); a tiny slack absorbs rounding.
    pairs = tp.sparse_distance_matrix(tg, radius * (1 + 1e-12) + 1e-12,
                                      output_type='coo_matrix')
    if pairs.nnz == 0:
        return 0
    graph = csr_matrix((np.ones(pairs.nnz, dtype=np.int8), (pairs.row, pairs.col)),
                       shape=(len(p_pts), len(g_pts)))
    match = maximum_bipartite_matching(graph, perm_type='column')
    return int((match >= 0).sum())


# ---------------------------------------------------------------------------
# Per-image counts and data-set scores
# ---------------------------------------------------------------------------


def edge_pr_counts(prob: np.ndarray,
                   gt: np.ndarray,
                   thresholds: Union[int, Sequence[float]] = 99,
                   max_dist: float = 0.0075,
                   thin: bool = True,
                   ignore_index: int = 255,
                   backend: str = 'scipy') -> Dict[str, np.ndarray]:
    """BSDS counts of one image at every threshold.

    Args:
        prob: edge probability [H, W] (or [1, H, W]) in [0, 1].
        gt: edge label of the same size: 1 = edge, 0 = no edge, ``ignore_index``
            = ignored (neither label nor prediction).
        thresholds: int K (BSDS spacing) or explicit thresholds.
        max_dist: matching radius as a fraction of the image diagonal
            (0.0075 PASCAL-Context, 0.011 NYUD-v2).
        thin: thin each binarised map first (BSDS protocol).
        backend: see :func:`match_count`.

    Returns:
        dict of int64 [K] arrays ``cntR``, ``sumR``, ``cntP``, ``sumP``.
    """
    prob = np.asarray(prob, dtype=np.float64)
    gt = np.asarray(gt)
    if prob.ndim == 3 and prob.shape[0] == 1:
        prob = prob[0]
    if gt.ndim == 3 and gt.shape[0] == 1:
        gt = gt[0]
    if prob.shape != gt.shape or prob.ndim != 2:
        raise ValueError(f'edge prediction shape {prob.shape} and label shape '
                         f'{gt.shape} must be equal [H, W] maps')
    th = edge_thresholds(thresholds)
    ignore = gt == ignore_index
    gt_edge = (gt != 0) & ~ignore
    prob = np.where(ignore, -np.inf, prob)  # never predicted
    th_eff = np.maximum(th, np.finfo(np.float64).eps)
    return _counts(prob, gt_edge, th_eff, max_dist, thin, backend)


def _disc_offsets(radius: float) -> Tuple[np.ndarray, np.ndarray]:
    """Offsets (dy, dx) of the pixel pairs that :func:`match_count` allows at
    ``radius``, decided by the same cKDTree query (so the same inclusive,
    slightly padded test of the distance)."""
    r = int(math.ceil(radius)) + 1
    grid = np.stack(np.mgrid[-r:r + 1, -r:r + 1], -1).reshape(-1, 2)
    pairs = cKDTree(np.zeros((1, 2), np.int64)).sparse_distance_matrix(
        cKDTree(grid), radius * (1 + 1e-12) + 1e-12, output_type='coo_matrix')
    off = grid[pairs.col]
    return (np.ascontiguousarray(off[:, 0], dtype=np.int64),
            np.ascontiguousarray(off[:, 1], dtype=np.int64))


@_njit
def _nb_near(gt_edge, ody, odx):
    """Pixels with a label pixel at one of the offsets (the disc is symmetric)."""
    h, w = gt_edge.shape
    near = np.zeros((h, w), np.bool_)
    for y in range(h):
        for x in range(w):
            if gt_edge[y, x]:
                for i in range(ody.shape[0]):
                    yy = y + ody[i]
                    xx = x + odx[i]
                    if 0 <= yy < h and 0 <= xx < w:
                        near[yy, xx] = True
    return near


# Above this many offsets (radius ~36 px) the kd-tree pair search is used.
_MAX_STENCIL = 4096


def _counts(prob, gt_edge, th_eff, max_dist, thin, backend):
    """:func:`edge_pr_counts` after the input checks: binarise all thresholds
    in one pass, thin the stack, match each map (Hopcroft-Karp on the pairs of
    a precomputed disc stencil; the kd-tree matching for larger radii or the
    pyEdgeEval backend); a map equal to the previous threshold's reuses its
    count."""
    h, w = prob.shape
    k = len(th_eff)
    wp = w + 2
    flat = np.zeros((k, (h + 2) * wp), dtype=np.uint8)
    _nb_binarize(np.ascontiguousarray(prob, dtype=np.float64),
                 np.ascontiguousarray(th_eff, dtype=np.float64), flat, wp)
    if thin:
        _nb_thin_stack(flat, wp, _KEEP1, _KEEP2, -1)
    sum_p = flat.sum(1, dtype=np.int64)
    n_gt = int(gt_edge.sum())
    sum_r = np.full(k, n_gt, dtype=np.int64)
    cnt = np.zeros(k, dtype=np.int64)
    if n_gt == 0 or not sum_p.any():
        return dict(cntR=cnt.copy(), sumR=sum_r, cntP=cnt, sumP=sum_p)
    backend = resolve_backend(backend)
    stencil = None
    if backend == 'scipy':
        ody, odx = _disc_offsets(max_dist * math.sqrt(h * h + w * w))
        if len(ody) <= _MAX_STENCIL:
            gt_c = np.ascontiguousarray(gt_edge, dtype=np.bool_)
            gid = np.full((h, w), -1, dtype=np.int32)
            gid[gt_c] = np.arange(n_gt, dtype=np.int32)
            stencil = (gid, _nb_near(gt_c, ody, odx), ody, odx)
    prev = None
    for j in range(k):
        if sum_p[j] == 0:
            cnt[j] = 0
        elif prev is not None and sum_p[j] == sum_p[prev] and np.array_equal(
                flat[j], flat[prev]):
            cnt[j] = cnt[prev]  # same map as the previous threshold
        elif stencil is not None:
            gid, near, ody, odx = stencil
            cnt[j] = _nb_match_count(flat[j], wp, h, w, gid, n_gt, near, ody, odx)
        else:
            bw = flat[j].reshape(h + 2, wp)[1:-1, 1:-1] != 0
            cnt[j] = match_count(bw, gt_edge, max_dist, backend)
        prev = j
    return dict(cntR=cnt.copy(), sumR=sum_r, cntP=cnt, sumP=sum_p)


def _rpf(cnt_r, sum_r, cnt_p, sum_p):
    cnt_r, sum_r = np.asarray(cnt_r, np.float64), np.asarray(sum_r, np.float64)
    cnt_p, sum_p = np.asarray(cnt_p, np.float64), np.asarray(sum_p, np.float64)
    r = cnt_r / np.maximum(sum_r, 1)  # 0 where there is nothing to recall
    p = cnt_p / np.maximum(sum_p, 1)
    f = _fmeasure(p, r)
    return r, p, f


def _fmeasure(p, r):
    p, r = np.asarray(p, np.float64), np.asarray(r, np.float64)
    den = p + r
    return np.divide(2 * p * r, den, out=np.zeros_like(den), where=den > 0)


def _best_interpolated(th, r, p):
    """BSDS ``findBestRPF``: best F on the segments between thresholds."""
    if len(th) == 1:
        return float(th[0]), float(r[0]), float(p[0]), float(_fmeasure(p, r)[0])
    a = np.linspace(0, 1, 100)[None, :]
    b = 1 - a
    rj = r[1:, None] * a + r[:-1, None] * b
    pj = p[1:, None] * a + p[:-1, None] * b
    tj = th[1:, None] * a + th[:-1, None] * b
    fj = _fmeasure(pj, rj)
    idx = np.unravel_index(int(np.argmax(fj)), fj.shape)
    return float(tj[idx]), float(rj[idx]), float(pj[idx]), float(fj[idx])


def edge_scores(cnt_r: np.ndarray,
                sum_r: np.ndarray,
                cnt_p: np.ndarray,
                sum_p: np.ndarray,
                thresholds: Union[int, Sequence[float]] = 99
                ) -> Dict[str, float]:
    """odsF, oisF and AP (fractions) from per-image counts [N, K].

    See the module docstring for the exact definitions.
    """
    th = edge_thresholds(thresholds)
    cnt_r, sum_r = np.atleast_2d(cnt_r), np.atleast_2d(sum_r)
    cnt_p, sum_p = np.atleast_2d(cnt_p), np.atleast_2d(sum_p)
    if cnt_r.shape[-1] != len(th):
        raise ValueError(f'edge counts have {cnt_r.shape[-1]} thresholds but '
                         f'{len(th)} thresholds were given')
    if cnt_r.shape[0] == 0:
        return dict(odsF=float('nan'), oisF=float('nan'), AP=float('nan'),
                    ods_threshold=float('nan'))
    # ODS
    r, p, _ = _rpf(cnt_r.sum(0), sum_r.sum(0), cnt_p.sum(0), sum_p.sum(0))
    ods_t, _, _, ods_f = _best_interpolated(th, r, p)
    # OIS: each image at its best discrete threshold (first maximum)
    _, _, f_img = _rpf(cnt_r, sum_r, cnt_p, sum_p)
    best = np.argmax(f_img, axis=1)
    rows = np.arange(cnt_r.shape[0])
    _, _, ois_f = _rpf(cnt_r[rows, best].sum(), sum_r[rows, best].sum(),
                       cnt_p[rows, best].sum(), sum_p[rows, best].sum())
    # AP
    ap = average_precision(r, p)
    return dict(odsF=float(ods_f), oisF=float(ois_f), AP=float(ap),
                ods_threshold=float(ods_t))


def average_precision(recall: np.ndarray, precision: np.ndarray) -> float:
    """BSDS area under the P(R) curve (see module docstring)."""
    recall = np.asarray(recall, np.float64)
    precision = np.asarray(precision, np.float64)
    keep = recall > 0
    recall, precision = recall[keep], precision[keep]
    if recall.size == 0:
        return 0.0
    uniq, first = np.unique(recall, return_index=True)
    if uniq.size < 2:
        return 0.0
    grid = np.linspace(0, 1, 101)
    inside = (grid >= uniq[0]) & (grid <= uniq[-1])
    vals = np.interp(grid[inside], uniq, precision[first])
    return float(vals.sum() / 100.0)
