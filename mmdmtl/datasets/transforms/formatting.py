"""Pack a results dict into the model's inputs and a ``MultiTaskDataSample``."""
from typing import Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import PixelData

from mmdmtl.registry import TRANSFORMS
from mmdmtl.structures import TASKS, MultiTaskDataSample
from .loading import RESULT_KEYS

DEFAULT_META_KEYS = ('img_path', 'sample_id', 'sample_idx', 'ori_shape',
                     'img_shape', 'pad_shape', 'scale_factor', 'flip',
                     'flip_direction', 'labeled_tasks')


@TRANSFORMS.register_module()
class PackMultiTaskInputs(BaseTransform):
    """Pack the image into ``inputs`` (uint8/float tensor [3, H, W], channel
    order as loaded, BGR) and every loaded label into its ``MultiTaskDataSample``
    field (mmseg's PackSegInputs keeps only gt_sem_seg/edge/depth).

    Label tensors: class/binary maps int64 [1, H, W]; normals float32 [3, H, W];
    depth float32 [1, H, W]. A task that is not labelled gets no field.

    Required Keys: img, labeled_tasks, (gt_* maps of the labelled tasks)
    Added Keys: inputs, data_samples

    Args:
        meta_keys (Sequence[str]): results keys copied into the metainfo (the
            absent ones are skipped).
    """

    def __init__(self, meta_keys: Sequence[str] = DEFAULT_META_KEYS):
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        img = results['img']
        if img.ndim == 2:
            img = img[..., None]
        inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
        sample = MultiTaskDataSample()
        labeled = tuple(results.get('labeled_tasks', ()))
        for task in labeled:
            arr = results.get(RESULT_KEYS[task])
            if arr is None:
                raise KeyError(f'{results.get("img_path")}: task {task!r} is '
                               f'labelled but {RESULT_KEYS[task]} was not '
                               'loaded (LoadMultiTaskAnnotations missing?)')
            spec = TASKS[task]
            if spec.kind == 'normals':
                data = torch.from_numpy(
                    np.ascontiguousarray(arr.transpose(2, 0, 1),
                                         dtype=np.float32))
            elif spec.is_classification:
                data = torch.from_numpy(arr.astype(np.int64))[None]
            else:
                data = torch.from_numpy(
                    np.ascontiguousarray(arr, dtype=np.float32))[None]
            setattr(sample, spec.gt_field, PixelData(data=data))
        meta = {k: results[k] for k in self.meta_keys if k in results}
        meta['labeled_tasks'] = labeled
        sample.set_metainfo(meta)
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self):
        return f'{type(self).__name__}(meta_keys={self.meta_keys})'
