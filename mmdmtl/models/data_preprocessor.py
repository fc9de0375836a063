"""``MultiTaskDataPreProcessor``: normalise, stack and pad images and every
task's labels (each with its own pad value)."""
from numbers import Number
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import ImgDataPreprocessor
from mmengine.structures import PixelData

from mmdmtl.registry import MODELS
from mmdmtl.structures import TASKS

PAD_POSITIONS = ('bottom_right', 'center')


@MODELS.register_module()
class MultiTaskDataPreProcessor(ImgDataPreprocessor):
    """Batch the output of ``PackMultiTaskInputs``: mmengine's
    ``ImgDataPreprocessor`` (its normalisation buffers and channel swap), with a
    minimum batch size, centred padding and the labels padded with the images.

    * images: to float, optional BGR->RGB, ``(x - mean) / std``, then padded
      with ``pad_val`` (after normalisation: 0 = the mean colour) to a common
      size (the largest in the batch, at least ``size``, rounded up to
      ``size_divisor``) and stacked [B, 3, H, W]. ``pad_position='center'``
      puts the image in the middle (top = (H - h) // 2, left = (W - w) // 2,
      the published PASCAL_MT / NYUD_MT ``PadImage``), ``'bottom_right'``
      (default) at the top-left corner;
    * training (``training=True``): every labelled task's map is padded to the
      same size, at the same place as its image, with its task's pad value
      (255 for class/binary maps, 0 for normals and depth;
      ``TASKS[task].pad_value``), so ``stack_task_targets`` can stack them;
    * test mode: only the inputs are padded (labels stay as they are for the
      metrics);
    * every sample's metainfo gets ``batch_input_shape``, ``pad_shape`` (both
      the batch size (H, W)) and ``padding_size`` = [left, right, top, bottom]
      between the real content (``img_shape``) and the batch, as mmseg's
      segmentors expect when they crop predictions back.

    Args:
        mean, std (Sequence[float], optional): per-channel normalisation (after
            the channel swap, i.e. in RGB when ``bgr_to_rgb``).
        size (tuple[int, int], optional): minimum (h, w) of the batch.
        size_divisor (int, optional): batch (h, w) rounded up to a multiple.
        pad_val (float): image pad value (after normalisation).
        pad_position (str): 'bottom_right' (default) or 'center'.
        bgr_to_rgb (bool): swap the channel order of the inputs.
        non_blocking (bool): non-blocking host-to-device copies.
    """

    def __init__(self,
                 mean: Optional[Sequence[Number]] = None,
                 std: Optional[Sequence[Number]] = None,
                 size: Optional[Tuple[int, int]] = None,
                 size_divisor: Optional[int] = None,
                 pad_val: Number = 0,
                 pad_position: str = 'bottom_right',
                 bgr_to_rgb: bool = False,
                 non_blocking: bool = False):
        if pad_position not in PAD_POSITIONS:
            raise ValueError(f'pad_position must be one of '
                             f'{list(PAD_POSITIONS)}, got {pad_position!r}')
        if (mean is None) != (std is None):
            raise ValueError('give both mean and std, or neither')
        if mean is not None and (len(mean) != 3 or len(std) != 3):
            raise ValueError(f'mean/std need 3 values, got {mean}/{std}')
        super().__init__(mean, std, pad_size_divisor=size_divisor or 1,
                         pad_value=pad_val, bgr_to_rgb=bgr_to_rgb,
                         non_blocking=non_blocking)
        self.pad_position = pad_position
        self.size = None if size is None else tuple(size)

    def _batch_hw(self, shapes: List[Tuple[int, int]]) -> Tuple[int, int]:
        h = max(s[0] for s in shapes)
        w = max(s[1] for s in shapes)
        if self.size is not None:
            h, w = max(h, self.size[0]), max(w, self.size[1])
        d = self.pad_size_divisor
        h, w = -(-h // d) * d, -(-w // d) * d
        return h, w

    def _normalize(self, x: torch.Tensor) -> torch.Tensor:
        x = x.float()
        if self._channel_conversion:
            x = x.flip(-3)
        if self._enable_normalize:
            x = (x - self.mean) / self.std
        return x

    def forward(self, data: dict, training: bool = False) -> Dict:
        data = self.cast_data(data)
        inputs = data['inputs']
        samples = data.get('data_samples')
        if isinstance(inputs, torch.Tensor) and inputs.dim() == 4:
            inputs = list(inputs)
        if not inputs:
            raise ValueError('empty batch')
        for i, x in enumerate(inputs):
            if x.dim() != 3 or x.shape[0] != 3:
                raise ValueError(f'input {i} has shape {tuple(x.shape)}, '
                                 'expected [3, H, W]')
        shapes = [tuple(x.shape[-2:]) for x in inputs]
        bh, bw = self._batch_hw(shapes)
        # (top, left) of every input inside the batch.
        offsets = [self._offset(s, (bh, bw)) for s in shapes]
        if all(s == (bh, bw) for s in shapes):
            # Same size: one stacked normalisation (the training fast path).
            batch = self._normalize(torch.stack(inputs))
        else:
            batch = torch.stack([
                F.pad(self._normalize(x),
                      (left, bw - x.shape[-1] - left, top,
                       bh - x.shape[-2] - top),
                      value=self.pad_value)
                for x, (top, left) in zip(inputs, offsets)
            ])
        if samples is not None:
            for x, (top, left), sample in zip(inputs, offsets, samples):
                content = sample.metainfo.get('img_shape', tuple(x.shape[-2:]))
                ch, cw = int(content[0]), int(content[1])
                # The content sits at the input's top-left corner (a pipeline
                # pad is bottom/right), the input at (top, left) of the batch.
                sample.set_metainfo(
                    dict(batch_input_shape=(bh, bw),
                         pad_shape=(bh, bw),
                         padding_size=[left, bw - cw - left, top,
                                       bh - ch - top]))
                if training:
                    self._pad_labels(sample, bh, bw, top, left)
        return dict(inputs=batch, data_samples=samples)

    def _offset(self, hw: Tuple[int, int],
                batch_hw: Tuple[int, int]) -> Tuple[int, int]:
        if self.pad_position == 'center':
            return (batch_hw[0] - hw[0]) // 2, (batch_hw[1] - hw[1]) // 2
        return 0, 0

    @staticmethod
    def _pad_labels(sample, bh: int, bw: int, top: int = 0,
                    left: int = 0) -> None:
        for task, spec in TASKS.items():
            gt = getattr(sample, spec.gt_field, None)
            if gt is None:
                continue
            m = gt.data
            h, w = m.shape[-2:]
            if (h, w) == (bh, bw):
                continue
            if h + top > bh or w + left > bw:
                raise ValueError(
                    f'{sample.metainfo.get("img_path")}: {task} label of size '
                    f'{(h, w)} does not fit the batch input {(bh, bw)} at '
                    f'offset {(top, left)}')
            padded = m.new_full((m.shape[0], bh, bw), spec.pad_value)
            padded[:, top:top + h, left:left + w] = m
            setattr(sample, spec.gt_field, PixelData(data=padded))
