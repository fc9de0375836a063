"""Geometric transforms that move every task's label with the image.

They act on ``results['img']`` and every key of ``results['seg_fields']``
(filled by ``LoadMultiTaskAnnotations``), with the rules each task needs:

* class/binary maps, normals and depth are resampled with nearest neighbour
  (no new class ids, no blended normals, no depth mixed across a boundary);
* flipping negates the normal component of the flipped axis (x for a
  horizontal flip, y for a vertical one);
* depth values are kept by default when scaling (NYUD_MT / PASCAL protocol) and
  divided by the scale factor with ``depth_rescale=True`` (the MTAN/MTPSL
  RandomScaleCrop protocol: zooming in by s brings the scene s times closer);
* padding uses each task's pad value (255 for class/binary maps, 0 for normals
  and depth, ``pad_val`` for the image).
"""
from typing import Optional, Sequence, Tuple, Union

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms import RandomFlip as MMCV_RandomFlip
from mmcv.transforms import Resize as MMCV_Resize
from mmcv.transforms.utils import cache_randomness
from mmseg.datasets.transforms import RandomCrop as MMSegRandomCrop

from mmdmtl.registry import TRANSFORMS
from mmdmtl.structures import TASKS
from .loading import KEY_TO_TASK

NORMAL_KEY = TASKS['normals'].result_key
DEPTH_KEY = TASKS['depth'].result_key


def field_pad_value(key: str, default: float = 255) -> float:
    """The pad value of a results key (its task's pad value)."""
    task = KEY_TO_TASK.get(key)
    return TASKS[task].pad_value if task is not None else default


@TRANSFORMS.register_module()
class MultiTaskRandomFlip(MMCV_RandomFlip):
    """Random flip of the image and every label, negating the normals' flipped
    component (mmcv's/mmseg's RandomFlip flip the map but not the vectors).

    Required Keys: img, (seg_fields and their maps)
    Modified Keys: img, every key of seg_fields
    Added Keys: flip, flip_direction

    Args: as ``mmcv.transforms.RandomFlip`` (prob, direction).
    """

    def _flip(self, results: dict) -> None:
        direction = results['flip_direction']
        results['img'] = mmcv.imflip(results['img'], direction=direction)
        for key in results.get('seg_fields', []):
            if results.get(key) is None:
                continue
            flipped = mmcv.imflip(results[key], direction=direction)
            if key == NORMAL_KEY:
                flipped = flipped.copy()
                if direction in ('horizontal', 'diagonal'):
                    flipped[..., 0] *= -1
                if direction in ('vertical', 'diagonal'):
                    flipped[..., 1] *= -1
                # -0.0 of invalid (zero) normals is harmless but keep them 0.
                flipped += 0.0
            results[key] = flipped


def _resize_fields(results: dict, size_wh: Tuple[int, int], keep_ratio: bool,
                   depth_factor: Optional[float]) -> None:
    for key in results.get('seg_fields', []):
        if results.get(key) is None:
            continue
        arr = mmcv.imresize(results[key], size_wh, interpolation='nearest')
        if key == DEPTH_KEY and depth_factor is not None:
            arr = arr / np.float32(depth_factor)
        results[key] = arr


@TRANSFORMS.register_module()
class MultiTaskResize(MMCV_Resize):
    """``mmcv`` Resize that resizes every label map with nearest neighbour.

    Required Keys: img, (seg_fields and their maps)
    Modified Keys: img, img_shape, every key of seg_fields
    Added Keys: scale, scale_factor, keep_ratio

    Args:
        depth_rescale (bool): divide depth values by the scale factor (MTAN
            protocol). Default False (values kept).
        Other args as ``mmcv.transforms.Resize`` (scale, scale_factor,
        keep_ratio, interpolation of the image).
    """

    def __init__(self, *args, depth_rescale: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.depth_rescale = depth_rescale

    def _resize_seg(self, results: dict) -> None:
        h, w = results['img'].shape[:2]
        factor = None
        if self.depth_rescale:
            sw, sh = results['scale_factor']
            factor = float(np.sqrt(sw * sh))
        _resize_fields(results, (w, h), self.keep_ratio, factor)

    def __repr__(self):
        return super().__repr__()[:-1] + f', depth_rescale={self.depth_rescale})'


SIZE_ROUNDING = ('truncate', 'round')


def scaled_size(hw: Tuple[int, int], ratio: float,
                rounding: str = 'truncate') -> Tuple[int, int]:
    """(h, w) of an image of size ``hw`` scaled by ``ratio``: ``int(x * s)``
    ('truncate', the published PASCAL_MT / NYUD_MT ``RandomScaling``) or what
    mmcv's ``Resize(scale_factor=s, keep_ratio=True)`` gives ('round': the sizes
    rounded, then the aspect ratio kept, as earlier mmdmtl versions did)."""
    if rounding == 'truncate':
        return int(hw[0] * ratio), int(hw[1] * ratio)
    if rounding == 'round':
        target = (int(hw[1] * ratio + 0.5), int(hw[0] * ratio + 0.5))
        w, h = mmcv.rescale_size((hw[1], hw[0]), target)
        return h, w
    raise ValueError(f'unknown size rounding {rounding!r}; choose one of '
                     f'{list(SIZE_ROUNDING)}')


@TRANSFORMS.register_module()
class MultiTaskRandomScale(BaseTransform):
    """Rescale the image (and labels) by a factor drawn uniformly from
    ``ratio_range``, relative to the image's own size (the PASCAL_MT recipe's
    "random scale 0.5-2.0").

    Required Keys: img, (seg_fields and their maps)
    Modified Keys: img, img_shape, every key of seg_fields
    Added Keys: scale, scale_factor, keep_ratio

    Args:
        ratio_range (tuple[float]): (min, max) scale factor.
        interpolation (str): image interpolation ('bilinear').
        depth_rescale (bool): see ``MultiTaskResize``.
        rounding (str): new size = ``int(x * s)`` ('truncate', default, as
            the published loaders) or as mmcv's keep-ratio Resize ('round',
            earlier mmdmtl versions; often 1 px larger).
    """

    def __init__(self,
                 ratio_range: Tuple[float, float] = (0.5, 2.0),
                 interpolation: str = 'bilinear',
                 depth_rescale: bool = False,
                 rounding: str = 'truncate'):
        lo, hi = ratio_range
        if not 0 < lo <= hi:
            raise ValueError(f'ratio_range must satisfy 0 < min <= max, got '
                             f'{ratio_range}')
        if rounding not in SIZE_ROUNDING:
            raise ValueError(f'rounding must be one of {list(SIZE_ROUNDING)}, '
                             f'got {rounding!r}')
        self.ratio_range = (float(lo), float(hi))
        self.interpolation = interpolation
        self.depth_rescale = depth_rescale
        self.rounding = rounding

    @cache_randomness
    def _random_ratio(self) -> float:
        return float(np.random.uniform(*self.ratio_range))

    def transform(self, results: dict) -> dict:
        ratio = self._random_ratio()
        h, w = results['img'].shape[:2]
        nh, nw = scaled_size((h, w), ratio, self.rounding)
        if (nh, nw) == (h, w):
            # The published loaders skip scale 1 (and sizes that do not move).
            results['scale'] = (w, h)
            results['scale_factor'] = (1.0, 1.0)
            results['keep_ratio'] = True
            return results
        resize = MultiTaskResize(
            scale=(max(nw, 1), max(nh, 1)),
            keep_ratio=False,
            interpolation=self.interpolation,
            depth_rescale=self.depth_rescale)
        results = resize(results)
        results['keep_ratio'] = True
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(ratio_range={self.ratio_range}, '
                f'interpolation={self.interpolation}, '
                f'depth_rescale={self.depth_rescale}, '
                f'rounding={self.rounding!r})')


@TRANSFORMS.register_module()
class MultiTaskRandomCrop(MMSegRandomCrop):
    """mmseg's ``RandomCrop`` on the image and every label of ``seg_fields`` (at
    most ``crop_size``; smaller images are kept whole, pad them afterwards).

    ``cat_max_ratio < 1`` retries (up to 10 times) crops in which one semseg
    class covers more than that fraction of the labelled pixels, as mmseg and
    the published PASCAL_MT loaders do. It reads ``gt_seg_map`` whether or not
    the image is labelled for semseg: PASCAL datasets load it on every image
    as an auxiliary label (the published rule).
    What differs from mmseg's: images without any semseg map skip the check
    (one draw) instead of failing, labels absent from a sample are skipped,
    a bad ``crop_size`` is a ValueError, and ``crop_bbox`` (the window, clipped
    to the image) is recorded in the results.

    Required Keys: img, (seg_fields and their maps, gt_seg_map)
    Modified Keys: img, img_shape, every key of seg_fields
    Added Keys: crop_bbox

    Args:
        crop_size (int | tuple[int, int]): (h, w) of the crop.
        cat_max_ratio (float): max fraction of one class in the crop.
        ignore_index (int): label ignored by the ratio check.
    """

    def __init__(self,
                 crop_size: Union[int, Tuple[int, int]],
                 cat_max_ratio: float = 1.0,
                 ignore_index: int = 255):
        if isinstance(crop_size, int):
            crop_size = (crop_size, crop_size)
        if not (len(crop_size) == 2 and min(crop_size) > 0):
            raise ValueError(f'crop_size must be positive (h, w), got '
                             f'{crop_size}')
        super().__init__(tuple(int(c) for c in crop_size), cat_max_ratio,
                         ignore_index)

    @cache_randomness
    def crop_bbox(self, results: dict) -> Tuple[int, int, int, int]:
        if self.cat_max_ratio < 1.0 and results.get('gt_seg_map') is None:
            # Nothing to check: mmseg's draw without the ratio test.
            ratio, self.cat_max_ratio = self.cat_max_ratio, 1.0
            try:
                return super().crop_bbox(results)
            finally:
                self.cat_max_ratio = ratio
        return super().crop_bbox(results)

    def transform(self, results: dict) -> dict:
        y1, _, x1, _ = bbox = self.crop_bbox(results)
        results['img'] = self.crop(results['img'], bbox)
        h, w = results['img'].shape[:2]
        results['img_shape'] = (h, w)
        for key in results.get('seg_fields', []):
            if results.get(key) is not None:
                results[key] = self.crop(results[key], bbox)
        results['crop_bbox'] = (y1, y1 + h, x1, x1 + w)
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(crop_size={self.crop_size}, '
                f'cat_max_ratio={self.cat_max_ratio})')


def _torch_resize(arr: np.ndarray, size_hw: Tuple[int, int],
                  mode: str) -> np.ndarray:
    """``torch.nn.functional.interpolate`` of an [H, W(, C)] array (what the
    MTAN/MTPSL loaders call): 'bilinear' with align_corners=True, or
    'nearest' (torch's legacy nearest: source index floor(i * in / out))."""
    import torch
    import torch.nn.functional as F
    a = np.ascontiguousarray(arr)
    squeeze = a.ndim == 2
    t = torch.from_numpy(a[..., None] if squeeze else a)
    dtype = t.dtype
    t = t.permute(2, 0, 1)[None]
    if mode == 'bilinear':
        t = F.interpolate(t.float(), size=size_hw, mode='bilinear',
                          align_corners=True)
    else:
        t = F.interpolate(t.float(), size=size_hw, mode='nearest').to(dtype)
    out = t[0].permute(1, 2, 0).numpy()
    return out[..., 0] if squeeze else out


@TRANSFORMS.register_module()
class RandomScaleCrop(BaseTransform):
    """MTAN/MTPSL augmentation (NYUv2 / Cityscapes partial-label protocol):
    pick a scale s from ``scales``, crop a random window of size
    (int(H/s), int(W/s)) and resize it back to (H, W); depth values are divided
    by s. The output size equals the input size.

    It resamples as the MTAN/MTPSL ``RandomScaleCrop`` does, with torch's
    ``interpolate``: image and normals bilinear with align_corners=True
    (normals are then not renormalised: near invalid pixels they are
    shortened, as in the published code), class maps and depth 'nearest'.

    Required Keys: img, (seg_fields and their maps)
    Modified Keys: img, every key of seg_fields
    Added Keys: scale_factor
    """

    def __init__(self, scales: Sequence[float] = (1.0, 1.2, 1.5)):
        if not scales or min(scales) < 1:
            raise ValueError(f'scales must be >= 1, got {scales}')
        self.scales = tuple(float(s) for s in scales)

    @cache_randomness
    def _params(self, h: int, w: int):
        s = self.scales[np.random.randint(len(self.scales))]
        ch, cw = int(h / s), int(w / s)
        y = np.random.randint(0, h - ch + 1)
        x = np.random.randint(0, w - cw + 1)
        return s, y, x, ch, cw

    @staticmethod
    def _resize(key: Optional[str], arr: np.ndarray, h: int,
                w: int) -> np.ndarray:
        linear = key is None or key == NORMAL_KEY
        out = _torch_resize(arr, (h, w), 'bilinear' if linear else 'nearest')
        return out.astype(arr.dtype) if key is not None else out

    def transform(self, results: dict) -> dict:
        h, w = results['img'].shape[:2]
        s, y, x, ch, cw = self._params(h, w)
        img = results['img'][y:y + ch, x:x + cw]
        results['img'] = self._resize(None, img, h, w)
        for key in results.get('seg_fields', []):
            if results.get(key) is None:
                continue
            arr = self._resize(key, results[key][y:y + ch, x:x + cw], h, w)
            if key == DEPTH_KEY:
                arr = arr / np.float32(s)
            results[key] = arr
        results['scale_factor'] = (s, s)
        return results

    def __repr__(self):
        return f'{type(self).__name__}(scales={self.scales})'


def _pad(arr: np.ndarray, shape: Tuple[int, int], value: float) -> np.ndarray:
    # A scalar cv2 border value fills only the first channel: give one per
    # channel.
    val = value if arr.ndim == 2 else tuple([value] * arr.shape[2])
    return mmcv.impad(arr, shape=shape, pad_val=val)


@TRANSFORMS.register_module()
class MultiTaskPad(BaseTransform):
    """Pad the image and every label at the bottom/right, each label with its
    task's pad value (class/binary 255, normals and depth 0).

    ``img_shape`` keeps the size of the real content (predictions are cropped to
    it); ``pad_shape`` is the padded size.

    Required Keys: img, (seg_fields and their maps)
    Modified Keys: img, every key of seg_fields
    Added Keys: pad_shape, pad_fixed_size, pad_size_divisor

    Args:
        size (tuple[int, int], optional): (h, w) to pad to (never crops:
            larger inputs keep their size).
        size_divisor (int, optional): pad h, w up to a multiple of this.
        pad_val (float): image pad value.
        pad_labels (bool): pad the labels too (training). False at test time
            keeps the labels at the image's real size, where the metrics
            compare them with the predictions cropped to ``img_shape``.
    """

    def __init__(self,
                 size: Optional[Union[int, Tuple[int, int]]] = None,
                 size_divisor: Optional[int] = None,
                 pad_val: float = 0,
                 pad_labels: bool = True):
        self.pad_labels = pad_labels
        if size is None and size_divisor is None:
            raise ValueError('MultiTaskPad needs size or size_divisor')
        if isinstance(size, int):
            size = (size, size)
        self.size = None if size is None else tuple(size)
        self.size_divisor = size_divisor
        self.pad_val = pad_val

    def transform(self, results: dict) -> dict:
        h, w = results['img'].shape[:2]
        th, tw = h, w
        if self.size is not None:
            th, tw = max(h, self.size[0]), max(w, self.size[1])
        if self.size_divisor:
            d = self.size_divisor
            th, tw = -(-th // d) * d, -(-tw // d) * d
        if (th, tw) != (h, w):
            results['img'] = _pad(results['img'], (th, tw), self.pad_val)
            for key in (results.get('seg_fields', [])
                        if self.pad_labels else []):
                if results.get(key) is None:
                    continue
                results[key] = _pad(results[key], (th, tw),
                                    field_pad_value(key))
        results['img_shape'] = (h, w)
        results['pad_shape'] = (th, tw)
        results['pad_fixed_size'] = self.size
        results['pad_size_divisor'] = self.size_divisor
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(size={self.size}, size_divisor='
                f'{self.size_divisor}, pad_val={self.pad_val}, '
                f'pad_labels={self.pad_labels})')
