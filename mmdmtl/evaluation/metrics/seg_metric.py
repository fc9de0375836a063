"""Class-map metrics: semantic segmentation and human parts."""
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.logging import MMLogger, print_log

from mmdmtl.registry import METRICS
from ..functional import batch_class_areas, segmentation_scores
from .base_dense_metric import BaseDenseMetric, sample_name


@METRICS.register_module()
class SemSegMetric(BaseDenseMetric):
    """Semantic segmentation: mIoU, aAcc, mAcc (percent), pooled over the set.

    IoU_c = TP_c / (TP_c + FP_c + FN_c) from data-set-wide per-class counts;
    classes that never occur in label or prediction (empty union) are left out
    of the mean. Per-class IoU/Acc are logged as a table.

    Record per labelled sample: per-class intersection, predicted area and label
    area (3 x C int64).

    Args:
        num_classes (int, optional): number of classes; default = the length of
            ``class_names`` or of ``dataset_meta[classes_key]``.
        class_names (list[str], optional): names for the per-class table.
        classes_key (str): the ``dataset_meta`` key holding the class names.
        ignore_index (int): label value left out. Default 255.
        log_per_class (bool): print the per-class table. Default True.
        task / prefix / collect_device: see ``BaseDenseMetric``.
    """
    default_task = 'semseg'
    default_classes_key = 'classes'

    def __init__(self,
                 num_classes: Optional[int] = None,
                 class_names: Optional[Sequence[str]] = None,
                 classes_key: Optional[str] = None,
                 ignore_index: int = 255,
                 log_per_class: bool = True,
                 task: Optional[str] = None,
                 prefix: Optional[str] = None,
                 collect_device: str = 'cpu') -> None:
        super().__init__(task=task, prefix=prefix, collect_device=collect_device)
        if self.spec.kind != 'class':
            raise ValueError(f'{type(self).__name__} evaluates class maps; task '
                             f'{self.task!r} is of kind {self.spec.kind!r}')
        if (num_classes is not None and class_names is not None
                and len(class_names) != num_classes):
            raise ValueError(f'{type(self).__name__}: num_classes={num_classes} '
                             f'but {len(class_names)} class_names given')
        self._num_classes = num_classes
        self._class_names = list(class_names) if class_names else None
        self.classes_key = classes_key or self.default_classes_key
        self.ignore_index = ignore_index
        self.log_per_class = log_per_class

    @property
    def class_names(self) -> Optional[List[str]]:
        if self._class_names:
            return self._class_names
        meta = self.dataset_meta or {}
        names = meta.get(self.classes_key)
        return list(names) if names else None

    @property
    def num_classes(self) -> int:
        if self._num_classes is not None:
            return int(self._num_classes)
        names = self.class_names
        if names:
            return len(names)
        raise ValueError(
            f'{type(self).__name__} (task {self.task!r}) cannot tell the number '
            f'of classes: give num_classes= or class_names= in the metric config, '
            f'or a dataset whose metainfo has {self.classes_key!r}')

    @property
    def dataset_meta(self) -> Optional[dict]:
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: Optional[dict]) -> None:
        # Set by the Evaluator from the dataset before the first sample: an
        # explicit num_classes/class_names that disagrees with the dataset's
        # classes would ignore (or invent) classes and still give a believable
        # mIoU.
        self._dataset_meta = dataset_meta
        names = (dataset_meta or {}).get(self.classes_key)
        mine = self._num_classes if self._num_classes is not None else (
            len(self._class_names) if self._class_names else None)
        if names and mine is not None and int(mine) != len(names):
            raise ValueError(
                f'{type(self).__name__} (task {self.task!r}) counts {mine} '
                f'classes but the dataset names {len(names)} (metainfo '
                f'{self.classes_key!r}): pixels of the other classes would be '
                'ignored or never occur; drop num_classes/class_names from the '
                'evaluator config (the dataset\'s classes are used) or fix them')

    def keep(self, gt: torch.Tensor) -> Optional[str]:
        """Reason to drop a labelled sample (None = keep it)."""
        return None

    def batch_records(self, preds: List[Any], gts: List[Any],
                      samples: List[Any]) -> List[Dict]:
        self._check_label_range(gts, samples)
        reasons = [self.keep(torch.as_tensor(g)) for g in gts]
        use = [i for i, r in enumerate(reasons) if r is None]
        inter, pred_area, label_area = batch_class_areas(
            [preds[i] for i in use], [gts[i] for i in use], self.num_classes,
            self.ignore_index)
        out: List[Dict] = [
            dict(counted=False, reason=r) if r is not None else None
            for r in reasons
        ]
        for j, i in enumerate(use):
            out[i] = dict(
                counted=True,
                intersect=inter[j],
                pred_area=pred_area[j],
                label_area=label_area[j])
        return out

    def _check_label_range(self, gts: List[Any], samples: List[Any]) -> None:
        """A label value outside [0, num_classes) (other than ignore_index) is
        an error naming the image: counting it as ignored would score a
        subset of the classes as if it were all of them."""
        for g, sample in zip(gts, samples):
            g = torch.as_tensor(g)
            bad = g[(g != self.ignore_index) & ((g < 0) |
                                                 (g >= self.num_classes))]
            if bad.numel():
                raise ValueError(
                    f'{type(self).__name__} (task {self.task!r}), image '
                    f'{sample_name(sample)}: label value {int(bad.max())} is '
                    f'outside the {self.num_classes} classes of the evaluator '
                    f'(ignore_index {self.ignore_index}); set the evaluator\'s '
                    'num_classes to the dataset\'s number of classes')

    def compute_metrics(self, results: List[Dict]) -> Dict[str, float]:
        rec = self.counted(results)
        if not rec:
            self._warn_empty()
            return dict(mIoU=float('nan'), aAcc=float('nan'), mAcc=float('nan'))
        inter = np.sum([r['intersect'] for r in rec], axis=0)
        pred = np.sum([r['pred_area'] for r in rec], axis=0)
        label = np.sum([r['label_area'] for r in rec], axis=0)
        s = segmentation_scores(inter, pred, label)
        if self.log_per_class:
            self._log_table(s['IoU'], s['Acc'], len(rec), len(results))
        return dict(
            mIoU=100.0 * s['mIoU'], aAcc=100.0 * s['aAcc'],
            mAcc=100.0 * s['mAcc'])

    def _log_table(self, iou: np.ndarray, acc: np.ndarray, n_used: int,
                   n_all: int) -> None:
        names = self.class_names or [str(i) for i in range(len(iou))]
        if len(names) != len(iou):
            names = [str(i) for i in range(len(iou))]
        logger = MMLogger.get_current_instance()
        try:
            from prettytable import PrettyTable
            table = PrettyTable()
            cols = OrderedDict(
                Class=names,
                IoU=[f'{100 * v:.2f}' for v in iou],
                Acc=[f'{100 * v:.2f}' for v in acc])
            for k, v in cols.items():
                table.add_column(k, v)
            text = table.get_string()
        except ImportError:  # pragma: no cover
            text = '\n'.join(f'{n}: IoU {100 * a:.2f} Acc {100 * b:.2f}'
                             for n, a, b in zip(names, iou, acc))
        print_log(f'per-class results of {self.prefix} ({n_used} of {n_all} '
                  f'images counted):\n' + text, logger=logger)


@METRICS.register_module()
class HumanPartsMetric(SemSegMetric):
    """Human-part segmentation mIoU (percent), pooled like ``SemSegMetric``.

    As in the PASCAL-Context multi-task protocol (ASTMT and its successors), an
    image whose label holds a single value that is background (0) or ignore
    (255), i.e. an image without people, drops out (its record says so).
    Set ``drop_images_without_parts=False`` to count them.
    """
    default_task = 'human_parts'
    default_classes_key = 'part_classes'

    def __init__(self, *args, drop_images_without_parts: bool = True,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.drop_images_without_parts = drop_images_without_parts

    def keep(self, gt: torch.Tensor) -> Optional[str]:
        if not self.drop_images_without_parts:
            return None
        flat = gt.reshape(-1)
        if flat.numel() == 0:
            return 'no human parts in label'
        first = flat[0]
        if int(first) in (0, self.ignore_index) and bool((flat == first).all()):
            return 'no human parts in label'
        return None
