"""``MultiTaskDataSample``: one image with the labels of some tasks and the predictions
of all of them.

It extends mmseg's ``SegDataSample`` (``gt_sem_seg``/``pred_sem_seg``/``seg_logits``
keep their names) with one ``gt_*`` and one ``pred_*`` PixelData field per task in
``TASKS``. The metainfo key ``labeled_tasks`` lists the tasks whose labels this image
has; a task that is not labelled has no ``gt_*`` field at all (never a zero-filled one).
"""
from typing import List, Optional, Sequence, Tuple

import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from .tasks import TASKS, check_task_names, get_task


def _pixel_data_property(field: str) -> property:

    def getter(self):
        return getattr(self, f'_{field}')

    def setter(self, value):
        self.set_field(value, f'_{field}', dtype=PixelData)

    def deleter(self):
        delattr(self, f'_{field}')

    return property(getter, setter, deleter, doc=f'``{field}`` (PixelData)')


class MultiTaskDataSample(SegDataSample):
    """Data sample of multi-task dense prediction.

    Fields (all PixelData, each present only when set):
        gt_sem_seg / pred_sem_seg: semantic classes, [1, H, W] int64, 255 ignored.
        gt_part_seg / pred_part_seg: human parts, [1, H, W] int64, 255 ignored.
        gt_sal_map / pred_sal_map: saliency, label 0/1 (255 ignored), prediction the
            probability of "salient" in [0, 1], [1, H, W].
        gt_normal_map / pred_normal_map: surface normals, [3, H, W] float32 unit
            vectors in the camera frame; the zero vector marks invalid pixels.
        gt_edge_map / pred_edge_map: edges, label 0/1 (255 ignored), prediction a
            probability in [0, 1], [1, H, W].
        gt_depth_map / pred_depth_map: depth, [1, H, W] float32, 0 marks invalid.

    Metainfo:
        labeled_tasks (tuple[str]): the tasks labelled for this image.
    """

    # ``labeled_tasks`` is a metainfo key: BaseDataElement.set_metainfo stores
    # metainfo as attributes, so the property needs a setter, and its getter
    # must not read ``self.metainfo`` (which calls this getter: recursion).
    @property
    def labeled_tasks(self) -> Tuple[str, ...]:
        return tuple(self.__dict__.get('_labeled_tasks_value', ()))

    @labeled_tasks.setter
    def labeled_tasks(self, value) -> None:
        self.__dict__['_labeled_tasks_value'] = tuple(value)

    def is_labeled(self, task: str) -> bool:
        return task in self.labeled_tasks

    def get_gt(self, task: str) -> Optional[PixelData]:
        """The label of ``task`` or None when this image has none."""
        return getattr(self, get_task(task).gt_field, None)

    def get_pred(self, task: str) -> Optional[PixelData]:
        return getattr(self, get_task(task).pred_field, None)

    def set_gt(self, task: str, data: torch.Tensor) -> None:
        setattr(self, get_task(task).gt_field, PixelData(data=data))

    def set_pred(self, task: str, data: torch.Tensor) -> None:
        setattr(self, get_task(task).pred_field, PixelData(data=data))


# gt_sem_seg / pred_sem_seg already exist on SegDataSample.
for _spec in TASKS.values():
    for _field in (_spec.gt_field, _spec.pred_field):
        if not isinstance(getattr(SegDataSample, _field, None), property):
            setattr(MultiTaskDataSample, _field, _pixel_data_property(_field))


def labeled_task_mask(data_samples: Sequence[MultiTaskDataSample],
                      tasks: Sequence[str],
                      device=None) -> torch.Tensor:
    """Bool [B, T]: entry (b, t) says sample b has a label for tasks[t]."""
    tasks = check_task_names(tasks)
    rows = [[t in s.metainfo.get('labeled_tasks', ()) for t in tasks]
            for s in data_samples]
    return torch.tensor(rows, dtype=torch.bool, device=device).reshape(
        len(data_samples), len(tasks))


def stack_task_targets(data_samples: Sequence[MultiTaskDataSample],
                       task: str,
                       device=None) -> Tuple[torch.Tensor, torch.Tensor]:
    """Stack one task's labels of a batch.

    Samples without a label for ``task`` get a map filled with the task's pad value
    (which every loss and metric reads as "no label"), so the batch stays one tensor.

    Returns:
        (targets [B, C, H, W], labeled [B] bool). Targets are int64 for class/binary
        tasks and float32 otherwise; H, W is the largest label size in the batch
        (labels are padded bottom/right like the images).

    Raises:
        KeyError: a sample lists ``task`` in ``labeled_tasks`` but has no label field
            (names the image).
        ValueError: labels of different sizes (the data preprocessor pads them; a
            mismatch here means a pipeline did not).
    """
    spec = get_task(task)
    labeled = [task in s.metainfo.get('labeled_tasks', ()) for s in data_samples]
    maps: List[Optional[torch.Tensor]] = []
    for s, is_labeled in zip(data_samples, labeled):
        gt = getattr(s, spec.gt_field, None)
        if is_labeled and gt is None:
            raise KeyError(
                f'{s.metainfo.get("img_path", "<unknown image>")}: task {task!r} is '
                f'in labeled_tasks but the sample has no {spec.gt_field}')
        maps.append(gt.data if (is_labeled and gt is not None) else None)
    shapes = {tuple(m.shape[-2:]) for m in maps if m is not None}
    if not shapes:
        ref = data_samples[0]
        pad_shape = ref.metainfo.get('pad_shape') or ref.metainfo.get('img_shape')
        if pad_shape is None:
            raise ValueError(f'no {task} label in the batch and no img_shape to size '
                             'the placeholder')
        shapes = {tuple(pad_shape[:2])}
    if len(shapes) > 1:
        raise ValueError(f'{spec.gt_field} maps of different sizes {sorted(shapes)} '
                         'in one batch: pad them in the data preprocessor')
    h, w = shapes.pop()
    dtype = torch.int64 if spec.is_classification else torch.float32
    out = torch.full((len(maps), spec.label_channels, h, w),
                     spec.pad_value,
                     dtype=dtype,
                     device=device)
    idx = [i for i, m in enumerate(maps) if m is not None]
    if idx:
        out[idx] = torch.stack([maps[i] for i in idx]).to(device=device, dtype=dtype)
    return out, torch.tensor(labeled, dtype=torch.bool, device=device)
