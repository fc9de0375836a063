"""Depth error sums, pooled over every valid pixel of a data set.

Per-image statistics are O(1): the number of valid pixels and the sums of
|e|, e^2, |e| / gt, (log p - log g)^2 and the counts of the delta thresholds,
so the data-set scores weigh every valid pixel equally (pixel-pooled).
"""
import math
from typing import Dict, Sequence, Union

import numpy as np
import torch

ArrayLike = Union[np.ndarray, torch.Tensor]

DEPTH_SUM_KEYS = ('count', 'abs', 'sq', 'rel', 'log_sq', 'delta1', 'delta2',
                  'delta3')


def _as_float(x: ArrayLike) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    return x.double()


def batch_depth_sums(preds: Sequence[ArrayLike],
                     gts: Sequence[ArrayLike],
                     min_pred: float = 1e-9,
                     delta_base: float = 1.25) -> Dict[str, np.ndarray]:
    """Per-sample error sums over the valid pixels (gt > 0; NaN/inf labels are
    invalid too).

    The prediction is clamped to ``min_pred`` inside log and ratio terms only
    (so a zero or negative prediction gives a large but finite log error);
    abs/sq/rel errors use the raw prediction.

    Returns:
        dict of [B] arrays: ``count`` (int64) and float64 ``abs``, ``sq``,
        ``rel``, ``log_sq``; ``delta1..3`` (int64) count pixels with
        max(p/g, g/p) < delta_base ** k.
    """
    num = len(preds)
    if len(gts) != num:
        raise ValueError(f'{num} predictions but {len(gts)} labels')
    ps, gs, segs = [], [], []
    for i, (p, g) in enumerate(zip(preds, gts)):
        p, g = _as_float(p), _as_float(g)
        g = g.to(p.device)
        if p.shape != g.shape:
            raise ValueError(f'sample {i}: depth prediction shape '
                             f'{tuple(p.shape)} != label shape {tuple(g.shape)}')
        valid = torch.isfinite(g) & (g > 0)
        ps.append(p[valid])
        gs.append(g[valid])
        segs.append(torch.full((int(valid.sum()), ), i, dtype=torch.long,
                               device=p.device))
    if num == 0:
        return {k: np.zeros(0) for k in DEPTH_SUM_KEYS}
    p, g, s = torch.cat(ps), torch.cat(gs), torch.cat(segs)
    device = p.device

    def seg_sum(v):
        return torch.zeros(num, dtype=torch.float64, device=device).index_add_(
            0, s, v.double()).cpu().numpy()

    err = p - g
    pc = p.clamp_min(min_pred)
    ratio = torch.maximum(pc / g, g / pc)
    out = dict(
        count=torch.bincount(s, minlength=num).cpu().numpy().astype(np.int64),
        abs=seg_sum(err.abs()),
        sq=seg_sum(err * err),
        rel=seg_sum(err.abs() / g),
        log_sq=seg_sum((torch.log(pc) - torch.log(g))**2))
    for k in (1, 2, 3):
        out[f'delta{k}'] = seg_sum(
            (ratio < delta_base**k).double()).round().astype(np.int64)
    return out


def depth_scores(sums: Dict[str, float]) -> Dict[str, float]:
    """Pooled scores from data-set-wide sums.

    abs_err = sum|e| / N, rmse = sqrt(sum e^2 / N), abs_rel = sum(|e|/g) / N,
    log_rmse = sqrt(sum (log p - log g)^2 / N), delta_k = 100 * #(ratio <
    1.25^k) / N (percent); errors are in the label's unit.
    """
    n = float(sums['count'])
    if n <= 0:
        return {k: float('nan') for k in ('abs_err', 'rmse', 'abs_rel',
                                          'log_rmse', 'delta1', 'delta2',
                                          'delta3')}
    return dict(
        abs_err=float(sums['abs'] / n),
        rmse=float(math.sqrt(sums['sq'] / n)),
        abs_rel=float(sums['rel'] / n),
        log_rmse=float(math.sqrt(sums['log_sq'] / n)),
        delta1=float(100.0 * sums['delta1'] / n),
        delta2=float(100.0 * sums['delta2'] / n),
        delta3=float(100.0 * sums['delta3'] / n))
