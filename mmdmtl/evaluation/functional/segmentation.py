"""Class-map statistics: confusion matrices, per-class areas and IoU.

Everything is computed with one ``bincount`` per batch: the maps of a batch are
flattened and concatenated (they may differ in size) and each pixel's bin is offset
by its sample's index, so a batch costs no Python loop over pixels or classes.
"""
from typing import Dict, Sequence, Tuple, Union

import numpy as np
import torch

ArrayLike = Union[np.ndarray, torch.Tensor]


def _as_long(x: ArrayLike) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(np.ascontiguousarray(x))
    return x.long()


def batch_confusion_matrices(preds: Sequence[ArrayLike],
                             gts: Sequence[ArrayLike],
                             num_classes: int,
                             ignore_index: int = 255) -> torch.Tensor:
    """One confusion matrix per sample.

    Args:
        preds: predicted class maps, any shape (e.g. [1, H, W]); values outside
            ``[0, num_classes)`` count as wrong predictions of no class.
        gts: label maps of the same shapes as ``preds``; ``ignore_index`` and
            values outside ``[0, num_classes)`` are ignored.
        num_classes: number of classes C.
        ignore_index: label value that is ignored.

    Returns:
        int64 tensor [B, C, C + 1]: entry (b, g, p) counts the pixels of sample b
        labelled g and predicted p; the last column counts predictions outside the
        class range (they add to the label area but to no predicted area).
    """
    if len(preds) != len(gts):
        raise ValueError(f'{len(preds)} predictions but {len(gts)} labels')
    if num_classes <= 0:
        raise ValueError(f'num_classes must be positive, got {num_classes}')
    num = len(preds)
    if num == 0:
        return torch.zeros((0, num_classes, num_classes + 1), dtype=torch.long)
    flat_p, flat_g, seg = [], [], []
    for i, (p, g) in enumerate(zip(preds, gts)):
        p, g = _as_long(p), _as_long(g)
        if p.shape != g.shape:
            raise ValueError(f'sample {i}: prediction shape {tuple(p.shape)} != '
                             f'label shape {tuple(g.shape)}')
        flat_p.append(p.reshape(-1))
        flat_g.append(g.reshape(-1).to(p.device))
        seg.append(torch.full((p.numel(), ), i, dtype=torch.long, device=p.device))
    p = torch.cat(flat_p)
    g = torch.cat(flat_g)
    s = torch.cat(seg)
    valid = (g != ignore_index) & (g >= 0) & (g < num_classes)
    p, g, s = p[valid], g[valid], s[valid]
    p = torch.where((p >= 0) & (p < num_classes), p, torch.full_like(p, num_classes))
    width = num_classes + 1
    idx = (s * num_classes + g) * width + p
    counts = torch.bincount(idx, minlength=num * num_classes * width)
    return counts.reshape(num, num_classes, width).cpu()


def confusion_matrix(pred: ArrayLike,
                     gt: ArrayLike,
                     num_classes: int,
                     ignore_index: int = 255) -> np.ndarray:
    """Confusion matrix [C, C] (rows = label, columns = prediction) of one map.

    Predictions outside the class range are not in this square matrix; use
    :func:`batch_confusion_matrices` (its extra column keeps them) when they
    must count as misses.
    """
    return batch_confusion_matrices([pred], [gt], num_classes,
                                    ignore_index)[0, :, :num_classes].numpy()


def areas_from_confusion(conf: ArrayLike) -> Tuple[np.ndarray, np.ndarray,
                                                   np.ndarray]:
    """Per-class (intersection, predicted area, label area) from confusion matrices.

    Args:
        conf: [..., C, C] or [..., C, C + 1] (rows = label, columns = prediction;
            an extra last column holds out-of-range predictions).

    Returns:
        Three int64 arrays [..., C].
    """
    conf = np.asarray(conf.cpu() if isinstance(conf, torch.Tensor) else conf)
    num_classes = conf.shape[-2]
    square = conf[..., :num_classes]
    intersect = np.diagonal(square, axis1=-2, axis2=-1).astype(np.int64)
    label_area = conf.sum(-1).astype(np.int64)
    pred_area = square.sum(-2).astype(np.int64)
    return intersect, pred_area, label_area


def batch_class_areas(preds: Sequence[ArrayLike],
                      gts: Sequence[ArrayLike],
                      num_classes: int,
                      ignore_index: int = 255
                      ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-sample per-class (intersection, predicted area, label area), [B, C] each.

    These three vectors are the sufficient statistics of mIoU, aAcc and mAcc: a
    per-sample record of O(classes).
    """
    return areas_from_confusion(
        batch_confusion_matrices(preds, gts, num_classes, ignore_index))


def segmentation_scores(intersect: ArrayLike, pred_area: ArrayLike,
                        label_area: ArrayLike) -> Dict[str, object]:
    """Scores from dataset-wide per-class areas (summed over images first).

    IoU_c = I_c / (P_c + L_c - I_c); a class with an empty union has IoU NaN and
    is left out of the mean (as mmseg does). aAcc = sum I / sum L over all
    labelled pixels; Acc_c = I_c / L_c. Values are fractions (not x100).

    Returns:
        dict with ``mIoU``, ``aAcc``, ``mAcc`` (floats) and ``IoU``, ``Acc``
        (arrays [C]).
    """
    i = np.asarray(intersect, dtype=np.float64)
    p = np.asarray(pred_area, dtype=np.float64)
    lab = np.asarray(label_area, dtype=np.float64)
    union = p + lab - i
    with np.errstate(divide='ignore', invalid='ignore'):
        iou = np.where(union > 0, i / np.where(union > 0, union, 1), np.nan)
        acc = np.where(lab > 0, i / np.where(lab > 0, lab, 1), np.nan)
    total = lab.sum()
    return dict(
        mIoU=_nanmean(iou),
        aAcc=float(i.sum() / total) if total > 0 else float('nan'),
        mAcc=_nanmean(acc),
        IoU=iou,
        Acc=acc)


def _nanmean(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=np.float64)
    ok = ~np.isnan(x)
    return float(x[ok].mean()) if ok.any() else float('nan')


def mean_iou(pred: ArrayLike,
             gt: ArrayLike,
             num_classes: int,
             ignore_index: int = 255) -> float:
    """mIoU (fraction) of one map, or of a stack of maps pooled together."""
    i, p, lab = batch_class_areas([pred], [gt], num_classes, ignore_index)
    return segmentation_scores(i[0], p[0], lab[0])['mIoU']
