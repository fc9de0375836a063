"""The task table: one row per dense-prediction task, keyed by its published name.

A task's name is the key everywhere (configs, split files, losses, metric prefixes,
visualisation). Everything that differs between tasks and is not a learned parameter
lives here, so adding a task touches this table, a loader and a metric.
"""
from dataclasses import dataclass
from typing import Iterable, Optional, Tuple


@dataclass(frozen=True)
class TaskSpec:
    """What a task's label and prediction look like.

    Attributes:
        name: published task name.
        gt_field: ``MultiTaskDataSample`` field of the label (a PixelData).
        pred_field: field of the final prediction (a PixelData).
        kind: ``'class'`` (integer map, ``ignore_index`` ignored), ``'binary'``
            (0/1 map, ``ignore_index`` ignored; predicted as a probability),
            ``'normals'`` (3xHxW unit vectors, the zero vector is invalid) or
            ``'depth'`` (1xHxW metres/disparity, 0 is invalid).
        label_channels: channels of the label map.
        pad_value: value that padding and missing pixels take in the label map; it
            always means "no label here".
        out_channels: channels the network predicts; ``None`` means the number of
            classes of the dataset.
        ignore_index: the "no label" value of class/binary maps.
        result_key: key of the label in a pipeline's results dict (semseg keeps
            mmseg's ``gt_seg_map``, so mmseg transforms that read it work).
        loss_weight: default loss weight lambda_t (the official PASCAL recipe;
            depth has no published DiffusionMTL weight, 1 is the NYUD/Cityscapes
            lineage's).
        classes_key / palette_key: ``dataset.metainfo`` keys of a class task's
            class names and colours (None for the other tasks).
        logits_field: mmseg's data-sample field of the task's logits
            (``seg_logits``); ours are ``logits_<task>`` (``keep_logits``).
    """
    name: str
    gt_field: str
    pred_field: str
    kind: str
    label_channels: int
    pad_value: float
    out_channels: Optional[int]
    ignore_index: Optional[int] = None
    result_key: str = ''
    loss_weight: float = 1.0
    classes_key: Optional[str] = None
    palette_key: Optional[str] = None
    logits_field: Optional[str] = None

    @property
    def is_classification(self) -> bool:
        return self.kind in ('class', 'binary')


IGNORE_INDEX = 255

TASKS = {
    spec.name: spec
    for spec in (
        TaskSpec('semseg', 'gt_sem_seg', 'pred_sem_seg', 'class', 1,
                 IGNORE_INDEX, None, IGNORE_INDEX, result_key='gt_seg_map',
                 loss_weight=1.0, classes_key='classes', palette_key='palette',
                 logits_field='seg_logits'),
        TaskSpec('human_parts', 'gt_part_seg', 'pred_part_seg', 'class', 1,
                 IGNORE_INDEX, None, IGNORE_INDEX, result_key='gt_part_seg',
                 loss_weight=2.0, classes_key='part_classes',
                 palette_key='part_palette'),
        # Saliency is learned as 2-class CE (as published) and predicted as the
        # probability of the salient class.
        TaskSpec('sal', 'gt_sal_map', 'pred_sal_map', 'binary', 1, IGNORE_INDEX,
                 2, IGNORE_INDEX, result_key='gt_sal_map', loss_weight=5.0),
        TaskSpec('normals', 'gt_normal_map', 'pred_normal_map', 'normals', 3,
                 0.0, 3, result_key='gt_normal_map', loss_weight=10.0),
        TaskSpec('edge', 'gt_edge_map', 'pred_edge_map', 'binary', 1,
                 IGNORE_INDEX, 1, IGNORE_INDEX, result_key='gt_edge_map',
                 loss_weight=50.0),
        TaskSpec('depth', 'gt_depth_map', 'pred_depth_map', 'depth', 1, 0.0,
                 1, result_key='gt_depth_map', loss_weight=1.0),
    )
}
TASK_NAMES: Tuple[str, ...] = tuple(TASKS)


def check_task_names(names: Iterable[str], where: str = 'tasks') -> Tuple[str, ...]:
    """Validate task names and return them as a tuple (order kept).

    Raises:
        ValueError: naming every unknown or repeated task and ``where`` it came from.
    """
    if isinstance(names, str):
        names = (names, )
    names = tuple(names)
    unknown = [n for n in names if n not in TASKS]
    if unknown:
        raise ValueError(f'unknown task name(s) {unknown} in {where}; valid task '
                         f'names are {list(TASK_NAMES)}')
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f'task name(s) {repeated} repeated in {where}')
    return names


def get_task(name: str) -> TaskSpec:
    """The ``TaskSpec`` of ``name``; a ValueError lists the valid names."""
    check_task_names((name, ), where='get_task()')
    return TASKS[name]


def task_out_channels(task: str, num_classes: Optional[int] = None) -> int:
    """Channels a network predicts for ``task`` (classes for class maps)."""
    spec = get_task(task)
    if spec.out_channels is not None:
        return spec.out_channels
    if not num_classes:
        raise ValueError(f'task {task!r} predicts one channel per class: give its '
                         'number of classes')
    return int(num_classes)
