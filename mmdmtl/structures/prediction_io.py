"""Predictions of a ``MultiTaskDataSample`` as numpy arrays, and as files."""
import os
import os.path as osp
from typing import Callable, Dict, Optional, Sequence

import cv2
import numpy as np

from .tasks import TASKS, check_task_names

#: PNG encoding of depth predictions: value = round(depth * DEPTH_PNG_SCALE) in uint16
#: (millimetres when depth is in metres). The exact values go to the .npy files.
DEPTH_PNG_SCALE = 1000.0


def predictions_to_numpy(data_sample,
                         tasks: Optional[Sequence[str]] = None
                         ) -> Dict[str, np.ndarray]:
    """Every task's prediction of one sample, in image layout.

    Returns:
        dict task -> array: class maps [H, W] int64; ``sal``/``edge`` probabilities
        [H, W] float32 in [0, 1]; ``normals`` [H, W, 3] float32 unit vectors;
        ``depth`` [H, W] float32.

    Raises:
        KeyError: a requested task has no prediction in the sample.
    """
    names = (check_task_names(tasks, 'predictions_to_numpy(tasks=...)')
             if tasks is not None else tuple(TASKS))
    out = {}
    for name in names:
        spec = TASKS[name]
        pd = getattr(data_sample, spec.pred_field, None)
        if pd is None:
            if tasks is not None:
                raise KeyError(f'no {spec.pred_field} (task {name!r}) in the '
                               f'prediction of {data_sample.metainfo.get("img_path")}')
            continue
        arr = pd.data.detach().cpu().numpy()
        if spec.kind == 'normals':
            out[name] = arr.transpose(1, 2, 0).astype(np.float32)
        elif spec.kind == 'class':
            out[name] = arr[0].astype(np.int64)
        else:
            out[name] = arr[0].astype(np.float32)
    return out


def encode_prediction_png(task: str, pred: np.ndarray) -> np.ndarray:
    """The array written as ``<task>/<stem>.png`` (as cv2.imwrite takes it).

    class maps: the class id per pixel (uint8; uint16 beyond 255 classes);
    sal/edge: probability x 255 (uint8); normals: RGB = (n + 1) / 2 x 255;
    depth: uint16, depth x ``DEPTH_PNG_SCALE``.
    """
    kind = TASKS[task].kind
    if kind == 'class':
        return pred.astype(np.uint8 if pred.max(initial=0) < 256 else np.uint16)
    if kind == 'binary':
        return np.clip(np.rint(pred * 255.0), 0, 255).astype(np.uint8)
    if kind == 'normals':
        rgb = np.clip(np.rint((pred + 1.0) * 127.5), 0, 255).astype(np.uint8)
        return rgb[..., ::-1]  # cv2 writes BGR
    if kind == 'depth':
        return np.clip(np.rint(pred * DEPTH_PNG_SCALE), 0, 65535).astype(np.uint16)
    raise ValueError(f'task {task!r}: no PNG encoding for kind {kind!r}')


def save_task_predictions(preds: Dict[str, np.ndarray],
                          out_dir: str,
                          stem: str,
                          save_npy: bool = False,
                          before_write: Optional[Callable[[str], None]] = None
                          ) -> Dict[str, str]:
    """Write ``<out_dir>/<task>/<stem>.png`` (and ``.npy`` with ``save_npy``) for each
    task of ``preds`` (from :func:`predictions_to_numpy`). ``before_write`` is
    called with every path before it is written (e.g. to say that a file of an
    earlier run is replaced).

    Returns:
        dict task -> path of the PNG written.
    """
    written = {}
    for task, pred in preds.items():
        d = osp.join(out_dir, task)
        os.makedirs(d, exist_ok=True)
        path = osp.join(d, f'{stem}.png')
        paths = [path] + ([osp.join(d, f'{stem}.npy')] if save_npy else [])
        for p in paths if before_write is not None else ():
            before_write(p)
        if not cv2.imwrite(path, encode_prediction_png(task, pred)):
            raise OSError(f'could not write {path}')
        if save_npy:
            np.save(paths[1], pred)
        written[task] = path
    return written
