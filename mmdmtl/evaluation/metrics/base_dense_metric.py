"""Shared plumbing of the per-task dense metrics.

Every metric reads the ``pred_*``/``gt_*`` PixelData fields of
``MultiTaskDataSample`` (as data samples or as the dicts mmengine's Evaluator makes
of them) and appends exactly ONE record per sample: ``{'counted': True, **stats}``
with small sufficient statistics (O(classes) / O(thresholds), never O(pixels)), or
``{'counted': False, 'reason': ...}`` when the sample has no label for the task.
``compute_metrics`` sums the counted records, so the numbers do not depend on how
the samples were split over processes (mmengine's ``collect_results`` drops the
sampler's padding by truncating to the data-set size, which is why every sample
must add exactly one record).

Non-finite predictions (one rule for every metric, docs/failure_modes.md): a
labelled sample whose prediction holds NaN/inf is recorded as
``{'counted': False, 'reason': NON_FINITE, 'nonfinite': n, ...}``, and when any
sample of the evaluation has such a record, EVERY metric of the task is reported
as NaN, with a ``NonFiniteMetricWarning`` naming the images and their counts of
non-finite pixels. A NaN prediction is never scored as "no edge", "0 degrees" or
a finite depth error, and the other images' numbers are not passed off as the
score of the whole set. An evaluation with no labelled sample, or whose labelled
samples hold no valid label pixel (all ignore/invalid), gives NaN for every
metric and an ``EmptyMetricWarning``.
"""
import functools
import logging
import math
import re
import warnings
from abc import abstractmethod
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmengine.structures import BaseDataElement

from mmdmtl.structures.tasks import TASKS, get_task

NOT_LABELLED = 'not labelled for this task'
NON_FINITE = 'non-finite prediction'


def _logit_fields(task: str):
    """Extra prediction fields checked for NaN/inf (class maps are integers; their
    logits, when a model stores them, show a broken forward pass): ours
    (``keep_logits``) and mmseg's."""
    return (f'logits_{task}', ) + ((TASKS[task].logits_field, )
                                   if TASKS[task].logits_field else ())


class MetricWarning(UserWarning):
    """Base of the warnings of mmdmtl's metrics."""


class NonFiniteMetricWarning(MetricWarning):
    """Some prediction held NaN/inf: the task's metrics are NaN."""


class EmptyMetricWarning(MetricWarning):
    """No sample counted for a task: its metrics are NaN."""


def metric_warning(message: str, category=MetricWarning) -> None:
    """A Python warning (tests, notebooks) and a WARNING in the run's log."""
    warnings.warn(message, category, stacklevel=3)
    print_log(message, logger='current', level=logging.WARNING)


def count_nonfinite(value: Any) -> int:
    """Number of NaN/inf entries of a tensor/array (0 for integer dtypes)."""
    if value is None:
        return 0
    if hasattr(value, 'is_floating_point'):  # torch.Tensor
        if not (value.is_floating_point() or value.is_complex()):
            return 0
        import torch
        return int((~torch.isfinite(value)).sum().item())
    arr = np.asarray(value)
    if not np.issubdtype(arr.dtype, np.inexact):
        return 0
    return int((~np.isfinite(arr)).sum())


def _numel(value: Any) -> int:
    if hasattr(value, 'numel'):
        return int(value.numel())
    return int(np.asarray(value).size)


def _field(sample: Any, name: str) -> Any:
    """Field ``name`` of a data sample or of its dict form (None if absent)."""
    if isinstance(sample, BaseDataElement):
        value = getattr(sample, name, None)
    elif isinstance(sample, dict):
        value = sample.get(name, sample.get('_' + name))
    else:
        raise TypeError('a data sample must be a MultiTaskDataSample or a dict, '
                        f'got {type(sample).__name__}')
    if value is None:
        return None
    if isinstance(value, BaseDataElement):
        return value.get('data')
    if isinstance(value, dict):
        if 'data' not in value:
            raise KeyError(f'field {name!r} has no "data" entry (keys: '
                           f'{sorted(value)})')
        return value['data']
    return value


def _meta(sample: Any, key: str, default: Any = None) -> Any:
    if isinstance(sample, BaseDataElement):
        return sample.metainfo.get(key, default)
    return sample.get(key, default)


def sample_name(sample: Any) -> str:
    return str(_meta(sample, 'img_path', None) or _meta(sample, 'img_id', None)
               or '<unnamed sample>')


class BaseDenseMetric(BaseMetric):
    """Base of the metrics of one dense task.

    Args:
        task (str): task name (a key of ``mmdmtl.structures.TASKS``); subclasses
            fix a default.
        prefix (str, optional): metric-name prefix; default = the task name,
            so names never clash ('semseg/mIoU', 'normals/mean', ...).
        collect_device (str): 'cpu' or 'gpu' for gathering the records.

    A sample counts for the task when the task is in its ``labeled_tasks`` and
    its ``gt_*`` field exists. Samples without any ``labeled_tasks`` metainfo
    (e.g. a stock mmseg pipeline) count when the ``gt_*`` field exists.
    """
    default_task: Optional[str] = None

    def __init_subclass__(cls, **kwargs) -> None:
        # Every subclass's compute_metrics gets the non-finite rule applied to
        # its result, so no metric can forget it.
        super().__init_subclass__(**kwargs)
        own = cls.__dict__.get('compute_metrics')
        if own is None or getattr(own, '_nonfinite_rule', False):
            return

        @functools.wraps(own)
        def compute_metrics(self, results: List[Dict], _own=own):
            if getattr(self, '_in_compute', False):  # super() of a subclass
                return _own(self, results)
            bad = [r for r in results if r.get('reason') == NON_FINITE]
            self._in_compute = True
            self._nonfinite_pending = bool(bad)
            self._empty_warned = False
            try:
                out = _own(self, results)
            finally:
                self._in_compute = False
                self._nonfinite_pending = False
            if bad and out:
                self._warn_nonfinite(bad, results)
                out = {k: float('nan') for k in out}
            elif out and not self._empty_warned and all(
                    isinstance(v, float) and math.isnan(v)
                    for v in out.values()):
                # counted images, but not one valid label pixel among them
                metric_warning(
                    f'{type(self).__name__}: the {len(self.counted(results))} '
                    f'counted image(s) of task {self.task!r} hold no valid '
                    'label pixel (all ignore/invalid); its metrics are NaN',
                    EmptyMetricWarning)
            return out

        compute_metrics._nonfinite_rule = True
        cls.compute_metrics = compute_metrics

    def __init__(self,
                 task: Optional[str] = None,
                 prefix: Optional[str] = None,
                 collect_device: str = 'cpu') -> None:
        task = task or self.default_task
        if task is None:
            raise ValueError(f'{type(self).__name__} needs a task name')
        self.task = task
        self.spec = get_task(task)
        super().__init__(collect_device=collect_device, prefix=prefix or task)

    # -- reading samples ---------------------------------------------------
    def _split(self, data_samples: Sequence[Any]
               ) -> Tuple[List[int], List[Any], List[Any], List[Dict]]:
        """(indices, preds, gts) of the samples that count, and one record slot
        per sample (None for those that count)."""
        idx, preds, gts, records = [], [], [], []
        for i, ds in enumerate(data_samples):
            gt = _field(ds, self.spec.gt_field)
            listed = _meta(ds, 'labeled_tasks', None)
            if listed is not None:
                labelled = self.task in tuple(listed)
                if labelled and gt is None:
                    raise KeyError(
                        f'{sample_name(ds)}: task {self.task!r} is in '
                        f'labeled_tasks but the sample has no '
                        f'{self.spec.gt_field}')
            else:
                labelled = gt is not None
            if not labelled:
                records.append(dict(counted=False, reason=NOT_LABELLED))
                continue
            pred = _field(ds, self.spec.pred_field)
            if pred is None:
                raise KeyError(f'{sample_name(ds)}: no prediction '
                               f'{self.spec.pred_field} for task {self.task!r} '
                               '(did the model predict this task?)')
            if tuple(pred.shape[-2:]) != tuple(gt.shape[-2:]):
                raise ValueError(
                    f'{type(self).__name__} (task {self.task!r}), image '
                    f'{sample_name(ds)}: {self.spec.pred_field} is '
                    f'{tuple(pred.shape)} but {self.spec.gt_field} is '
                    f'{tuple(gt.shape)}; predictions must be at label size')
            bad, numel = count_nonfinite(pred), _numel(pred)
            for logits_field in _logit_fields(self.task) if not bad else ():
                logits = _field(ds, logits_field)
                bad = count_nonfinite(logits)
                if bad:
                    numel = _numel(logits)
                    break
            if bad:
                records.append(dict(counted=False, reason=NON_FINITE,
                                    nonfinite=bad, numel=numel,
                                    sample=sample_name(ds)))
                continue
            idx.append(i)
            preds.append(pred.detach() if hasattr(pred, 'detach') else pred)
            gts.append(gt.detach() if hasattr(gt, 'detach') else gt)
            records.append(None)
        return idx, preds, gts, records

    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        """Append one record per sample (stats computed for the whole batch)."""
        idx, preds, gts, records = self._split(data_samples)
        if idx:
            used = [data_samples[i] for i in idx]
            try:
                per_sample = self.batch_records(preds, gts, used)
            except (ValueError, RuntimeError) as err:
                named = self._named(err, used)
                if named is err:
                    raise
                raise named from err
            for i, rec in zip(idx, per_sample):
                records[i] = rec
        self.results.extend(records)

    def _named(self, err: Exception, samples: List[Any]) -> Exception:
        """``err`` of the batch computation with the task and the image(s)
        named (the functional code only knows positions in the batch)."""
        text = str(err)
        if f'(task {self.task!r})' in text:
            return err
        m = re.match(r'sample (\d+): (.*)', text, re.S)
        if m and int(m[1]) < len(samples):
            where = sample_name(samples[int(m[1])])
            text = m[2]
        else:
            where = ', '.join(sample_name(s) for s in samples[:4]) + (
                ', ...' if len(samples) > 4 else '')
        return type(err)(f'{type(self).__name__} (task {self.task!r}), image '
                         f'{where}: {text}')

    @abstractmethod
    def batch_records(self, preds: List[Any], gts: List[Any],
                      samples: List[Any]) -> List[Dict]:
        """Records (with ``counted``) of the labelled samples of a batch."""

    @staticmethod
    def counted(results: List[Dict]) -> List[Dict]:
        return [r for r in results if r.get('counted')]

    def _warn_empty(self) -> None:
        self._empty_warned = True
        if getattr(self, '_nonfinite_pending', False):
            return  # every sample was non-finite: that warning says it
        metric_warning(
            f'{type(self).__name__}: no sample counted for task {self.task!r} '
            '(none is labelled for it, or every labelled one was left out); '
            'its metrics are NaN', EmptyMetricWarning)

    def _warn_nonfinite(self, bad: List[Dict], results: List[Dict],
                        max_names: int = 10) -> None:
        evaluated = len(bad) + len(self.counted(results))
        shown = ', '.join(f"{r.get('sample', '?')} ({r.get('nonfinite')} of "
                          f"{r.get('numel')} values)" for r in bad[:max_names])
        more = len(bad) - max_names
        if more > 0:
            shown += f', ... (+{more} more)'
        metric_warning(
            f'{type(self).__name__}: {len(bad)} of {evaluated} evaluated '
            f'image(s) have NaN/inf predictions for task {self.task!r}: '
            f'{shown}; every {self.task} metric is reported as NaN (a '
            'non-finite prediction is never scored)', NonFiniteMetricWarning)
