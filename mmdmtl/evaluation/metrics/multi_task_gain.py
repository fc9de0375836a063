"""``MultiTaskGain``: runs the per-task metrics and adds Delta_m to their results.

Why a wrapping metric: mmengine's ``Evaluator`` calls every metric's ``evaluate``
separately and only merges their dicts afterwards, so a sibling metric cannot see
the others' numbers. ``MultiTaskGain`` therefore holds the per-task metrics
itself: it forwards ``process`` to each, calls each one's ``evaluate(size)`` (each
gathers its own records across ranks, in the same order on every rank), merges
their results and computes Delta_m from them. It works inside the stock
``Evaluator``, so a config lists it as its (only) metric::

    val_evaluator = dict(
        type='MultiTaskGain',
        reference='pascal_context_one_label',   # or {'semseg/mIoU': 50.34, ...}
        task_metrics=[
            dict(type='SemSegMetric'),
            dict(type='HumanPartsMetric'),
            dict(type='SaliencyMetric'),
            dict(type='NormalsMetric'),
            dict(type='EdgeMetric', max_dist=0.0075),
        ])
"""
import math
from typing import Any, Dict, List, Optional, Sequence, Union

from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from mmdmtl.registry import METRICS
from ..functional.gain import multi_task_gain, resolve_reference
from .base_dense_metric import NonFiniteMetricWarning, metric_warning


@METRICS.register_module()
class MultiTaskGain(BaseMetric):
    """Per-task metrics plus the multi-task gain Delta_m (percent).

    Delta_m = (1/T) sum_t (-1)^{l_t} (M_t - M_stl,t) / M_stl,t x 100 over the
    keys of ``reference`` (l_t = 1 when lower is better: mean/median/rmse angle,
    abs_err, abs_rel, log_rmse, ...).

    Args:
        task_metrics (list[dict | BaseMetric]): the per-task metrics. (Not
            ``metrics``: MMEngine's Runner builds any evaluator dict with a
            ``metrics`` key as an ``Evaluator``.)
        reference (dict | str, optional): single-task numbers keyed by the full
            metric names ({'semseg/mIoU': 50.34, 'normals/mean': 16.59, ...}) or
            the name of a published set in
            ``mmdmtl.evaluation.functional.STL_REFERENCES``. None: no Delta_m,
            the per-task results only.
        lower_is_better (list[str], optional): keys/names for which lower is
            better, overriding the built-in table.
        prefix (str): prefix of the gain keys. Default 'multi_task', giving
            'multi_task/delta_m' and 'multi_task/gain_<task>_<metric>'.
    """
    default_prefix = 'multi_task'

    def __init__(self,
                 task_metrics: Sequence[Union[dict, BaseMetric]],
                 reference: Optional[Union[dict, str]] = None,
                 lower_is_better: Optional[Sequence[str]] = None,
                 prefix: Optional[str] = None,
                 collect_device: str = 'cpu') -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not task_metrics:
            raise ValueError('MultiTaskGain needs a non-empty list of task_metrics')
        built: List[BaseMetric] = []
        for i, m in enumerate(task_metrics):
            if isinstance(m, dict):
                m = METRICS.build(m)
            if not isinstance(m, BaseMetric):
                raise TypeError(f'MultiTaskGain task_metrics[{i}] must be a metric '
                                f'config or a BaseMetric, got {type(m).__name__}')
            built.append(m)
        prefixes = [m.prefix for m in built]
        dup = sorted({p for p in prefixes if prefixes.count(p) > 1})
        if dup:
            raise ValueError(f'MultiTaskGain: metric prefix(es) {dup} used twice; '
                             'give each metric its own prefix=')
        self.metrics = built
        self.reference = (resolve_reference(reference)
                          if reference is not None else None)
        self.lower_is_better = (list(lower_is_better)
                                if lower_is_better is not None else None)

    @property
    def dataset_meta(self) -> Optional[dict]:
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: dict) -> None:
        self._dataset_meta = dataset_meta
        for m in self.metrics:
            m.dataset_meta = dataset_meta

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        for m in self.metrics:
            m.process(data_batch, data_samples)

    def compute_metrics(self, results: list) -> dict:
        # Never called: evaluate() delegates to the wrapped metrics.
        return {}

    def evaluate(self, size: int) -> Dict[str, float]:
        merged: Dict[str, float] = {}
        for m in self.metrics:
            res = m.evaluate(size)
            clash = sorted(set(res) & set(merged))
            if clash:
                raise ValueError(f'MultiTaskGain: metric names {clash} produced '
                                 'twice; give the metrics distinct prefixes')
            merged.update(res)
        if self.reference is not None:
            nan_keys = [k for k in self.reference
                        if k in merged and not math.isfinite(float(merged[k]))]
            if nan_keys:
                # Delta_m is NaN too (never an average over the other tasks).
                metric_warning(
                    f'MultiTaskGain: {nan_keys} are NaN (see the warnings of '
                    f'their metrics), so {self.prefix}/delta_m is NaN',
                    NonFiniteMetricWarning)
            gain = multi_task_gain(merged, self.reference, self.lower_is_better)
            merged[f'{self.prefix}/delta_m'] = gain.pop('delta_m')
            for key, value in gain.items():
                merged[f'{self.prefix}/gain_{key.replace("/", "_")}'] = value
            print_log(
                f'Delta_m = {merged[f"{self.prefix}/delta_m"]:+.2f}% against '
                f'{self.reference}', logger='current')
        return {k: float(v) for k, v in merged.items()}
