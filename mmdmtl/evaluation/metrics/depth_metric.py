"""Depth errors pooled over every valid pixel of the data set."""
from typing import Any, Dict, List, Optional

from mmdmtl.registry import METRICS
from ..functional import DEPTH_SUM_KEYS, batch_depth_sums, depth_scores
from .base_dense_metric import BaseDenseMetric


@METRICS.register_module()
class DepthMetric(BaseDenseMetric):
    """Depth: abs_err, rmse, abs_rel, log_rmse and delta1/2/3 (percent of pixels
    with max(p/g, g/p) < 1.25, 1.25^2, 1.25^3), pooled over all valid pixels
    (label > 0) of the data set, in the label's unit (metres, or disparity
    units on Cityscapes).

    Unlike mmseg's DepthMetric this stores O(1) sums per image (not pixels),
    averages over pixels rather than images and crops nothing.

    Record per labelled sample: the valid-pixel count and the sums of |e|, e^2,
    |e|/g, (log p - log g)^2 and the delta counts.

    Args:
        min_pred (float): predictions are clamped to this inside the log and
            ratio terms (a non-positive prediction would be undefined there).
    """
    default_task = 'depth'

    def __init__(self,
                 min_pred: float = 1e-9,
                 task: Optional[str] = None,
                 prefix: Optional[str] = None,
                 collect_device: str = 'cpu') -> None:
        super().__init__(task=task, prefix=prefix, collect_device=collect_device)
        self.min_pred = float(min_pred)

    def batch_records(self, preds: List[Any], gts: List[Any],
                      samples: List[Any]) -> List[Dict]:
        s = batch_depth_sums(preds, gts, self.min_pred)
        return [
            dict(counted=True, **{k: s[k][i].item() for k in DEPTH_SUM_KEYS})
            for i in range(len(preds))
        ]

    def compute_metrics(self, results: List[Dict]) -> Dict[str, float]:
        rec = self.counted(results)
        if not rec:
            self._warn_empty()
        sums = {k: sum(r[k] for r in rec) for k in DEPTH_SUM_KEYS}
        return depth_scores(sums)
