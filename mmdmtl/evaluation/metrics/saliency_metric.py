"""Saliency: pooled maxF and 2-class mIoU."""
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from mmdmtl.registry import METRICS
from ..functional import (batch_binary_pr_counts, default_saliency_thresholds,
                          max_fbeta, segmentation_scores)
from .base_dense_metric import BaseDenseMetric


@METRICS.register_module()
class SaliencyMetric(BaseDenseMetric):
    """Saliency maxF and mIoU (percent), pooled over the data set.

    For each threshold t (default 0.05, 0.10, ..., 0.95) the pixels with
    ``prob >= t`` are predicted salient; TP, predicted and actual positives are
    summed over all images, then P = TP / PP, R = TP / AP and
    F = (1 + b2) P R / (b2 P + R) with b2 = 0.3; maxF is the best F over the
    thresholds. mIoU: the mean of the background and salient IoUs at
    ``iou_threshold`` (0.5) from data-set-wide counts.

    Record per labelled sample: TP and PP at each threshold (+ the IoU
    threshold), actual positives and valid pixels (O(thresholds)).

    Args:
        thresholds (list[float], optional): default 0.05..0.95 step 0.05.
        beta_sq (float): beta^2 of F-beta. Default 0.3.
        iou_threshold (float): threshold of the mIoU. Default 0.5.
        published_double_sigmoid (bool): apply a sigmoid to the stored probability
            before thresholding, reproducing the published DiffusionMTL/InvPT
            evaluation code (which applied sigmoid to maps that already were
            probabilities, so every pixel has "probability" >= 0.5). Only for
            comparing with those numbers. Default False.
        ignore_index (int): label value left out. Default 255.
    """
    default_task = 'sal'

    def __init__(self,
                 thresholds: Optional[Sequence[float]] = None,
                 beta_sq: float = 0.3,
                 iou_threshold: float = 0.5,
                 published_double_sigmoid: bool = False,
                 ignore_index: int = 255,
                 task: Optional[str] = None,
                 prefix: Optional[str] = None,
                 collect_device: str = 'cpu') -> None:
        super().__init__(task=task, prefix=prefix, collect_device=collect_device)
        th = default_saliency_thresholds() if thresholds is None else thresholds
        self.thresholds = np.asarray(list(th), dtype=np.float64)
        if self.thresholds.ndim != 1 or self.thresholds.size == 0:
            raise ValueError(f'SaliencyMetric thresholds must be a non-empty list, '
                             f'got {thresholds!r}')
        self.beta_sq = float(beta_sq)
        self.iou_threshold = float(iou_threshold)
        self.published_double_sigmoid = published_double_sigmoid
        self.ignore_index = ignore_index

    def batch_records(self, preds: List[Any], gts: List[Any],
                      samples: List[Any]) -> List[Dict]:
        th = np.append(self.thresholds, self.iou_threshold)
        c = batch_binary_pr_counts(preds, gts, th, self.ignore_index,
                                   self.published_double_sigmoid)
        return [
            dict(counted=True, tp=c['tp'][i], pred_pos=c['pred_pos'][i],
                 gt_pos=int(c['gt_pos'][i]), valid=int(c['valid'][i]))
            for i in range(len(preds))
        ]

    def compute_metrics(self, results: List[Dict]) -> Dict[str, float]:
        rec = self.counted(results)
        if not rec:
            self._warn_empty()
            return dict(maxF=float('nan'), mIoU=float('nan'))
        tp = np.sum([r['tp'] for r in rec], axis=0)
        pp = np.sum([r['pred_pos'] for r in rec], axis=0)
        gp = float(sum(r['gt_pos'] for r in rec))
        valid = float(sum(r['valid'] for r in rec))
        if valid == 0:  # all ignore: nothing to score (NaN, the base warns)
            return dict(maxF=float('nan'), mIoU=float('nan'))
        best = max_fbeta(tp[:-1], pp[:-1], gp, self.thresholds, self.beta_sq)
        # 2-class areas at the IoU threshold: class 1 = salient, 0 = background
        tp1, pp1 = float(tp[-1]), float(pp[-1])
        inter = np.array([valid - pp1 - gp + tp1, tp1])
        pred_area = np.array([valid - pp1, pp1])
        label_area = np.array([valid - gp, gp])
        seg = segmentation_scores(inter, pred_area, label_area)
        return dict(maxF=100.0 * best['maxF'], mIoU=100.0 * seg['mIoU'])
