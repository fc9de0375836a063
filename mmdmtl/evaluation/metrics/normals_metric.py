"""Surface normals: angle-error statistics pooled over all valid pixels."""
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from mmdmtl.registry import METRICS
from ..functional import (DEFAULT_ANGLE_THRESHOLDS, batch_normal_stats,
                          normal_scores, num_angle_bins)
from .base_dense_metric import BaseDenseMetric


@METRICS.register_module()
class NormalsMetric(BaseDenseMetric):
    """Normal angle errors (degrees): mean, median, rmse and the percentage of
    pixels with error < 11.25 / 22.5 / 30 degrees, pooled over every valid pixel
    of the data set (valid = label is not the zero vector).

    The angle is 2 * atan2(|p - g|, |p + g|) between the unit-normalised
    prediction and label. mean = sum / N, rmse = sqrt(sum of squares / N), the
    percentages count ``angle < threshold`` exactly. The median is read from a
    histogram of ``bin_width`` (0.01) degree bins and is exact to the bin width
    (the upper edge of the bin holding the median pixel is returned).

    Record per labelled sample: count, sum, sum of squares, counts below the
    thresholds, and the non-empty bins of the angle histogram (at most
    180 / bin_width entries, whatever the image size).

    Args:
        thresholds (list[float]): default (11.25, 22.5, 30).
        bin_width (float): histogram bin of the median, degrees. Default 0.01.
        with_median (bool): keep the histogram and report the median.
        normalize (bool): scale predictions and labels to unit length first.
    """
    default_task = 'normals'

    def __init__(self,
                 thresholds: Sequence[float] = DEFAULT_ANGLE_THRESHOLDS,
                 bin_width: float = 0.01,
                 with_median: bool = True,
                 normalize: bool = True,
                 task: Optional[str] = None,
                 prefix: Optional[str] = None,
                 collect_device: str = 'cpu') -> None:
        super().__init__(task=task, prefix=prefix, collect_device=collect_device)
        self.thresholds = tuple(float(t) for t in thresholds)
        self.n_bins = num_angle_bins(bin_width)
        self.bin_width = float(bin_width)
        self.with_median = with_median
        self.normalize = normalize

    def batch_records(self, preds: List[Any], gts: List[Any],
                      samples: List[Any]) -> List[Dict]:
        s = batch_normal_stats(preds, gts, self.thresholds, self.bin_width,
                               self.with_median, self.normalize)
        out = []
        for i in range(len(preds)):
            rec = dict(counted=True, count=int(s['count'][i]),
                       sum=float(s['sum'][i]), sum_sq=float(s['sum_sq'][i]),
                       below=s['below'][i])
            if self.with_median:
                nz = np.flatnonzero(s['hist'][i])
                # sparse histogram: only the occupied bins travel
                rec['hist_bins'] = nz.astype(np.int32)
                rec['hist_counts'] = s['hist'][i][nz]
            out.append(rec)
        return out

    def compute_metrics(self, results: List[Dict]) -> Dict[str, float]:
        rec = self.counted(results)
        if not rec:
            self._warn_empty()
        count = sum(r['count'] for r in rec)
        total = sum(r['sum'] for r in rec)
        total_sq = sum(r['sum_sq'] for r in rec)
        below = (np.sum([r['below'] for r in rec], axis=0)
                 if rec else np.zeros(len(self.thresholds)))
        hist = None
        if self.with_median:
            hist = np.zeros(self.n_bins, dtype=np.int64)
            for r in rec:
                np.add.at(hist, r['hist_bins'], r['hist_counts'])
        return normal_scores(count, total, total_sq, below, hist, self.bin_width,
                             self.thresholds)
