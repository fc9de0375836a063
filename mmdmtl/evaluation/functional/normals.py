"""Surface-normal angle errors and their pooled statistics.

The angle between unit vectors p and g is computed as 2 * atan2(|p - g|, |p + g|),
which is accurate everywhere (acos(p.g) loses precision near 0 and 180 degrees).

Per-image statistics are O(bins): the angle sum, the sum of squares, counts below
each threshold (exact), and a histogram of the angles (default 0.01 degree bins over
[0, 180]) from which the dataset median is read. The median is exact to the bin
width: the returned value is the upper edge of the bin holding the median pixel.
"""
import math
from typing import Dict, Sequence, Tuple, Union

import numpy as np
import torch

ArrayLike = Union[np.ndarray, torch.Tensor]

DEFAULT_ANGLE_THRESHOLDS = (11.25, 22.5, 30.0)


def _as_float(x: ArrayLike) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    return x.float()


def normal_angles(pred: ArrayLike,
                  gt: ArrayLike,
                  normalize: bool = True,
                  channel_dim: int = 0) -> Tuple[torch.Tensor, torch.Tensor]:
    """Angle (degrees) between predicted and true normals at every pixel.

    Args:
        pred: predictions, 3 channels along ``channel_dim`` (e.g. [3, H, W]).
        gt: labels of the same shape; the zero vector marks invalid pixels.
        normalize: scale both to unit length first (predictions are rarely
            exactly unit; labels stored as 8-bit PNGs are not).
        channel_dim: the dimension holding x, y, z.

    Returns:
        (angles, valid): float tensors of the map shape without the channel dim;
        ``angles`` is 0 where ``valid`` is False.
    """
    p, g = _as_float(pred), _as_float(gt).to(_as_float(pred).device)
    if p.shape != g.shape:
        raise ValueError(f'normal prediction shape {tuple(p.shape)} != label '
                         f'shape {tuple(g.shape)}')
    if p.shape[channel_dim] != 3:
        raise ValueError(f'normal maps need 3 channels in dim {channel_dim}, got '
                         f'shape {tuple(p.shape)}')
    g_norm = g.norm(dim=channel_dim, keepdim=True)
    valid = (g_norm > 0).squeeze(channel_dim)
    if normalize:
        p = p / p.norm(dim=channel_dim, keepdim=True).clamp_min(1e-12)
        g = g / g_norm.clamp_min(1e-12)
    diff = (p - g).norm(dim=channel_dim)
    summ = (p + g).norm(dim=channel_dim)
    ang = torch.rad2deg(2 * torch.atan2(diff, summ))
    return torch.where(valid, ang, torch.zeros_like(ang)), valid


def batch_normal_stats(preds: Sequence[ArrayLike],
                       gts: Sequence[ArrayLike],
                       thresholds: Sequence[float] = DEFAULT_ANGLE_THRESHOLDS,
                       bin_width: float = 0.01,
                       with_histogram: bool = True,
                       normalize: bool = True) -> Dict[str, np.ndarray]:
    """Sufficient statistics of the angle errors of each sample ([3, H, W] maps).

    The maps of a batch may differ in size; they are concatenated and reduced
    with per-sample segment ids (no loop over pixels).

    Returns:
        dict of arrays with leading dim B: ``count`` (valid pixels, int64),
        ``sum`` and ``sum_sq`` (float64, degrees), ``below`` [B, K] (int64,
        pixels with angle < threshold k) and, if ``with_histogram``, ``hist``
        [B, n_bins] (int64) with n_bins = ceil(180 / bin_width).
    """
    num = len(preds)
    if len(gts) != num:
        raise ValueError(f'{num} predictions but {len(gts)} labels')
    angs, segs = [], []
    for i, (p, g) in enumerate(zip(preds, gts)):
        ang, valid = normal_angles(p, g, normalize=normalize)
        a = ang[valid].double()
        angs.append(a)
        segs.append(torch.full((a.numel(), ), i, dtype=torch.long, device=a.device))
    device = angs[0].device if angs else torch.device('cpu')
    a = torch.cat(angs) if angs else torch.zeros(0, dtype=torch.float64)
    s = torch.cat(segs) if segs else torch.zeros(0, dtype=torch.long)
    out = dict(
        count=torch.bincount(s, minlength=num).cpu().numpy().astype(np.int64),
        sum=torch.zeros(num, dtype=torch.float64, device=device).index_add_(
            0, s, a).cpu().numpy(),
        sum_sq=torch.zeros(num, dtype=torch.float64, device=device).index_add_(
            0, s, a * a).cpu().numpy())
    th = torch.as_tensor(list(thresholds), dtype=torch.float64, device=device)
    k = len(th)
    # n = number of sorted thresholds <= angle; the angle is below sorted
    # threshold j iff j >= n, so below[j] = #(n <= j): a cumulated histogram of n.
    th_sorted, order = torch.sort(th)
    n_le = torch.searchsorted(th_sorted, a, right=True)
    hist_k = torch.bincount(s * (k + 1) + n_le, minlength=num * (k + 1))
    below_sorted = hist_k.reshape(num, k + 1).cumsum(1)[:, :k]
    below = torch.empty_like(below_sorted)
    below[:, order] = below_sorted
    out['below'] = below.cpu().numpy().astype(np.int64)
    if with_histogram:
        n_bins = num_angle_bins(bin_width)
        b = torch.clamp((a / bin_width).long(), 0, n_bins - 1)
        hist = torch.bincount(s * n_bins + b, minlength=num * n_bins)
        out['hist'] = hist.reshape(num, n_bins).cpu().numpy().astype(np.int64)
    return out


def num_angle_bins(bin_width: float) -> int:
    if not bin_width > 0:
        raise ValueError(f'angle bin width must be positive, got {bin_width}')
    return int(math.ceil(180.0 / bin_width - 1e-9))


def histogram_median(hist: ArrayLike, bin_width: float) -> float:
    """Median of the values histogrammed in ``hist`` (bins [k*w, (k+1)*w)).

    Returns the upper edge of the bin that holds the lower median element, i.e.
    the median rounded up to the bin grid (error < ``bin_width``).
    """
    hist = np.asarray(hist, dtype=np.int64)
    total = int(hist.sum())
    if total == 0:
        return float('nan')
    rank = (total + 1) // 2  # 1-based rank of the (lower) median
    k = int(np.searchsorted(np.cumsum(hist), rank))
    return float((k + 1) * bin_width)


def normal_scores(count: float,
                  total: float,
                  total_sq: float,
                  below: ArrayLike,
                  hist: ArrayLike = None,
                  bin_width: float = 0.01,
                  thresholds: Sequence[float] = DEFAULT_ANGLE_THRESHOLDS
                  ) -> Dict[str, float]:
    """Pooled scores from dataset-wide sums: mean, median, rmse (degrees) and the
    percentage of pixels below each threshold (keys like ``'11.25'``)."""
    if count <= 0:
        res = dict(mean=float('nan'), rmse=float('nan'))
        if hist is not None:
            res['median'] = float('nan')
        res.update({_fmt(t): float('nan') for t in thresholds})
        return res
    res = dict(mean=float(total / count), rmse=float(math.sqrt(total_sq / count)))
    if hist is not None:
        res['median'] = histogram_median(hist, bin_width)
    below = np.asarray(below, dtype=np.float64)
    res.update({_fmt(t): float(100.0 * below[j] / count)
                for j, t in enumerate(thresholds)})
    return res


def _fmt(t: float) -> str:
    return f'{t:g}'
