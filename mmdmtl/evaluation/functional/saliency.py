"""Binary precision/recall counts at many thresholds and the F-beta measure.

For K sorted thresholds a pixel of probability q is positive at every threshold
t <= q, so the counts at all thresholds come from one ``searchsorted`` and one
histogram per batch (O(pixels log K), not O(pixels K)).
"""
from typing import Dict, Sequence, Union

import numpy as np
import torch

ArrayLike = Union[np.ndarray, torch.Tensor]


def default_saliency_thresholds(step: float = 0.05) -> np.ndarray:
    """0.05, 0.10, ..., 0.95 (the published protocol)."""
    n = int(round(1.0 / step)) - 1
    return np.round(step * np.arange(1, n + 1), 10)


def _as_tensor(x: ArrayLike) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    return x


def batch_binary_pr_counts(probs: Sequence[ArrayLike],
                           gts: Sequence[ArrayLike],
                           thresholds: Sequence[float],
                           ignore_index: int = 255,
                           published_double_sigmoid: bool = False
                           ) -> Dict[str, np.ndarray]:
    """Per-sample true/predicted/actual positive counts at each threshold.

    A pixel is predicted positive at threshold t when ``prob >= t``. Pixels
    labelled ``ignore_index`` are left out; any other non-zero label is positive.

    Args:
        probs: probabilities of the positive class, maps of any shape.
        gts: 0/1 labels of the same shapes.
        thresholds: K thresholds (any order; outputs follow the given order).
        published_double_sigmoid: apply a sigmoid to the probability first, as the
            published DiffusionMTL/InvPT code does (its maps already were
            probabilities); only for comparing with those numbers.

    Returns:
        dict with ``tp`` and ``pred_pos`` [B, K] and ``gt_pos``, ``valid`` [B]
        (all int64).
    """
    num = len(probs)
    if len(gts) != num:
        raise ValueError(f'{num} predictions but {len(gts)} labels')
    th = torch.as_tensor(np.asarray(thresholds, dtype=np.float64))
    k = th.numel()
    qs, ys, segs = [], [], []
    for i, (q, g) in enumerate(zip(probs, gts)):
        q, g = _as_tensor(q).double(), _as_tensor(g).to(_as_tensor(q).device)
        if q.shape != g.shape:
            raise ValueError(f'sample {i}: prediction shape {tuple(q.shape)} != '
                             f'label shape {tuple(g.shape)}')
        valid = g != ignore_index
        qs.append(q[valid])
        ys.append(g[valid] != 0)
        segs.append(torch.full((int(valid.sum()), ), i, dtype=torch.long,
                               device=q.device))
    if num == 0:
        z = np.zeros((0, k), np.int64)
        return dict(tp=z, pred_pos=z, gt_pos=np.zeros(0, np.int64),
                    valid=np.zeros(0, np.int64))
    q, y, s = torch.cat(qs), torch.cat(ys), torch.cat(segs)
    if published_double_sigmoid:
        q = torch.sigmoid(q)
    th = th.to(q.device)
    th_sorted, order = torch.sort(th)
    # number of sorted thresholds <= q: the pixel is positive at those.
    n_pos = torch.searchsorted(th_sorted, q, right=True)

    def counts_at(sel):
        h = torch.bincount(s[sel] * (k + 1) + n_pos[sel], minlength=num * (k + 1))
        h = h.reshape(num, k + 1)
        # positive at sorted threshold j  <=>  n_pos > j
        c = h.flip(1).cumsum(1).flip(1)[:, 1:]
        out = torch.empty_like(c)
        out[:, order] = c
        return out.cpu().numpy().astype(np.int64)

    everything = torch.ones_like(y)
    return dict(
        tp=counts_at(y),
        pred_pos=counts_at(everything),
        gt_pos=torch.bincount(s[y], minlength=num).cpu().numpy().astype(np.int64),
        valid=torch.bincount(s, minlength=num).cpu().numpy().astype(np.int64))


def fbeta_from_counts(tp: ArrayLike,
                      pred_pos: ArrayLike,
                      gt_pos: ArrayLike,
                      beta_sq: float = 0.3) -> Dict[str, np.ndarray]:
    """Precision, recall and F_beta per threshold from pooled counts.

    P = TP / predicted positives, R = TP / actual positives (0 when the
    denominator is 0), F = (1 + b2) P R / (b2 P + R) (0 when P = R = 0).
    """
    tp = np.asarray(tp, np.float64)
    pp = np.asarray(pred_pos, np.float64)
    gp = np.broadcast_to(np.asarray(gt_pos, np.float64), tp.shape)
    prec = np.divide(tp, pp, out=np.zeros_like(tp), where=pp > 0)
    rec = np.divide(tp, gp, out=np.zeros_like(tp), where=gp > 0)
    den = beta_sq * prec + rec
    f = np.divide((1 + beta_sq) * prec * rec, den, out=np.zeros_like(tp),
                  where=den > 0)
    return dict(precision=prec, recall=rec, f=f)


def max_fbeta(tp: ArrayLike,
              pred_pos: ArrayLike,
              gt_pos: ArrayLike,
              thresholds: Sequence[float],
              beta_sq: float = 0.3) -> Dict[str, float]:
    """maxF (fraction) of pooled counts and the threshold reaching it."""
    r = fbeta_from_counts(tp, pred_pos, gt_pos, beta_sq)
    j = int(np.argmax(r['f']))
    return dict(maxF=float(r['f'][j]), threshold=float(np.asarray(thresholds)[j]),
                precision=float(r['precision'][j]), recall=float(r['recall'][j]))
