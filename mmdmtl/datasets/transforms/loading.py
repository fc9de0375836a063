"""Loading transforms: the image and the labels of the labelled tasks."""
from typing import Optional, Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from mmdmtl.registry import TRANSFORMS
from mmdmtl.structures import TASKS, check_task_names
from ..file_io import DataFileError, check_same_size, read_image, read_npy
from .annotation_decoders import decode

# Key of each task's label in the pipeline's results dict (``TaskSpec.result_key``).
RESULT_KEYS = {task: spec.result_key for task, spec in TASKS.items()}
KEY_TO_TASK = {v: k for k, v in RESULT_KEYS.items()}


@TRANSFORMS.register_module()
class LoadMultiTaskImage(BaseTransform):
    """Load an image file (JPEG/PNG, checked for truncation) or an MTAN-style
    ``.npy`` (float [H, W, 3] RGB in [0, 1]).

    Images are returned in BGR order either way (as OpenCV/mmcv load them), so
    one data preprocessor (``bgr_to_rgb=True``) serves every dataset; ``.npy``
    images become float32 in [0, 255] (no rounding).

    Required Keys: img_path, (img_fmt: 'image' | 'npy')
    Added Keys: img, img_shape, ori_shape

    Args:
        to_float32 (bool): convert decoded JPEG/PNG images to float32.
    """

    def __init__(self, to_float32: bool = False):
        self.to_float32 = to_float32

    def transform(self, results: dict) -> dict:
        path = results['img_path']
        if results.get('img_fmt', 'image') == 'npy' or path.endswith('.npy'):
            arr = read_npy(path, ndim=(3, ), channels=3, kinds='fiu')
            if arr.dtype.kind == 'f':
                if not np.isfinite(arr).all():
                    raise DataFileError(f'{path}: image holds NaN/inf')
                if arr.min() < -1e-3 or arr.max() > 1 + 1e-3:
                    raise DataFileError(
                        f'{path}: float image values {arr.min():.3f}..'
                        f'{arr.max():.3f}, expected [0, 1]')
                img = np.clip(arr, 0, 1).astype(np.float32) * 255.0
            else:
                img = arr.astype(np.float32)
            img = np.ascontiguousarray(img[..., ::-1])  # RGB -> BGR
        else:
            img = read_image(path)
            if self.to_float32:
                img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self):
        return f'{type(self).__name__}(to_float32={self.to_float32})'


NORMAL_MODES = ('unit', 'raw')


@TRANSFORMS.register_module()
class LoadMultiTaskAnnotations(BaseTransform):
    """Load the labels of the tasks this image is labelled for, and check them.

    Only tasks in ``labeled_tasks`` are read (unlabelled tasks have no record in
    ``ann_info`` at all). Checks, each raising an error naming the file: label
    size equals the image size; class ids in ``[0, num_classes)`` or 255;
    binary maps in {0, 1, 255}; normals finite (and, in ``'unit'`` mode, unit
    vectors); depth finite and >= 0.

    Auxiliary labels: ``results['aux_ann_info']`` ({task: record}) lists labels
    that a transform needs even when the image is not labelled for the task
    (PASCAL's ``cat_max_ratio`` crop check reads semseg on every image, as the
    published loader does). They are loaded into their results key and follow
    every transform, but ``labeled_tasks`` does not list them, so
    ``PackMultiTaskInputs`` drops them: no loss ever sees them.

    Required Keys: ann_info, labeled_tasks, img_shape, (task_classes,
        aux_ann_info)
    Modified Keys: seg_fields
    Added Keys: gt_seg_map (semseg), gt_part_seg, gt_sal_map, gt_normal_map,
        gt_edge_map, gt_depth_map (each only when labelled or auxiliary)

    Args:
        tasks (Sequence[str], optional): load only these tasks (default: all
            labelled ones); ``labeled_tasks`` is narrowed to them.
        normal_mode (str): ``'unit'`` (default): valid normals must be unit
            vectors within ``normal_tolerance`` and are renormalised exactly;
            vectors shorter than ``invalid_normal_norm`` are invalid (set to
            0). ``'raw'``: values kept as decoded and only the exact zero
            vector is invalid (the published PASCAL_MT / NYUD_MT rule: their
            loaders neither renormalise nor drop short vectors).
        normal_tolerance (float): allowed | |n| - 1 | of valid normals
            ('unit' mode).
        invalid_normal_norm (float): normals shorter than this are invalid
            ('unit' mode).
        load_aux (bool): load ``aux_ann_info`` labels (default True).
    """

    def __init__(self,
                 tasks: Optional[Sequence[str]] = None,
                 normal_mode: str = 'unit',
                 normal_tolerance: float = 0.1,
                 invalid_normal_norm: float = 0.1,
                 load_aux: bool = True):
        self.tasks = None if tasks is None else check_task_names(
            tasks, where='LoadMultiTaskAnnotations(tasks=...)')
        if normal_mode not in NORMAL_MODES:
            raise ValueError(f'normal_mode must be one of {list(NORMAL_MODES)}, '
                             f'got {normal_mode!r}')
        self.normal_mode = normal_mode
        self.normal_tolerance = normal_tolerance
        self.invalid_normal_norm = invalid_normal_norm
        self.load_aux = load_aux

    def _check_normals(self, arr: np.ndarray, path: str) -> np.ndarray:
        if not np.isfinite(arr).all():
            raise DataFileError(f'{path}: normals hold NaN/inf')
        if self.normal_mode == 'raw':
            # Components of stored normals lie in [-1, 1] (PASCAL's white =
            # (1, 1, 1) included): anything else is a wrong format.
            if arr.size and np.abs(arr).max() > 1 + 1e-3:
                raise DataFileError(
                    f'{path}: normal components up to '
                    f'{np.abs(arr).max():.3f}, expected values in [-1, 1]')
            return np.ascontiguousarray(arr, dtype=np.float32)
        norm = np.linalg.norm(arr, axis=-1)
        valid = (norm >= self.invalid_normal_norm) & (norm > 0)
        off = np.abs(norm[valid] - 1)
        if off.size and off.max() > self.normal_tolerance:
            frac = float((off > self.normal_tolerance).mean())
            raise DataFileError(
                f'{path}: normals are not unit vectors ({frac:.1%} of the '
                f'valid pixels have | |n| - 1 | > {self.normal_tolerance}'
                f', max {off.max():.3f})')
        out = np.zeros_like(arr, dtype=np.float32)
        out[valid] = arr[valid] / norm[valid, None]
        return out

    def _check(self, task: str, arr: np.ndarray, path: str,
               results: dict) -> np.ndarray:
        kind = TASKS[task].kind
        if kind == 'class':
            n = results.get('task_classes', {}).get(task)
            if n is not None:
                bad = (arr >= n) & (arr != 255)
                if bad.any():
                    vals = np.unique(arr[bad])[:10].tolist()
                    raise DataFileError(
                        f'{path}: {task} class id(s) {vals} out of range '
                        f'(num_classes={n}, 255 = ignore)')
        elif kind == 'binary':
            bad = (arr > 1) & (arr != 255)
            if bad.any():
                raise DataFileError(f'{path}: {task} values '
                                    f'{np.unique(arr[bad])[:10].tolist()} are '
                                    'not 0/1/255')
        elif kind == 'normals':
            arr = self._check_normals(arr, path)
        elif kind == 'depth':
            if not np.isfinite(arr).all():
                raise DataFileError(
                    f'{path}: depth holds {int((~np.isfinite(arr)).sum())} '
                    'NaN/inf value(s)')
            if arr.size and arr.min() < 0:
                raise DataFileError(f'{path}: negative depth {arr.min()} '
                                    '(0 marks invalid pixels)')
        return arr

    def _load(self, task: str, record: dict, results: dict,
              seg_fields: list) -> None:
        path = record.get('path')
        arr = decode(record, img_shape=results['img_shape'])
        check_same_size(arr, results['img_shape'], path, f'{task} label')
        key = RESULT_KEYS[task]
        results[key] = self._check(task, arr, path, results)
        if key not in seg_fields:
            seg_fields.append(key)

    def transform(self, results: dict) -> dict:
        labeled = tuple(results.get('labeled_tasks', ()))
        if self.tasks is not None:
            labeled = tuple(t for t in labeled if t in self.tasks)
            results['labeled_tasks'] = labeled
        ann_info = results.get('ann_info', {})
        seg_fields = list(results.get('seg_fields', []))
        for task in labeled:
            if task not in ann_info:
                raise KeyError(f'{results.get("img_path")}: task {task!r} is '
                               'labelled but has no annotation record')
            self._load(task, ann_info[task], results, seg_fields)
        if self.load_aux:
            for task, record in (results.get('aux_ann_info') or {}).items():
                if task not in labeled:
                    self._load(task, record, results, seg_fields)
        results['seg_fields'] = seg_fields
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(tasks={self.tasks}, '
                f'normal_mode={self.normal_mode!r}, '
                f'normal_tolerance={self.normal_tolerance}, '
                f'load_aux={self.load_aux})')
