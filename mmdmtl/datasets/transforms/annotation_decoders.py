"""Decoders from annotation files to label arrays, one per stored format.

A dataset's ``ann_info`` record names its decoder (``fmt``) and options; every
decoder returns the pipeline-format array of one task:

* class/binary maps: ``uint8`` [H, W] (255 = ignore). uint8 because OpenCV
  resizes/warps it (int64 is not supported by ``cv2.resize``).
* normals: ``float32`` [H, W, 3] unit vectors, zero vector = invalid.
* depth: ``float32`` [H, W], 0 = invalid.

Decoders only decode; the value checks (ranges, unit norms, finite depth, size)
are done once, in ``LoadMultiTaskAnnotations``.
"""
import os
from typing import Callable, Dict, Optional, Sequence

import cv2
import numpy as np

from ..file_io import (DataFileError, read_image, read_label_png, read_mat,
                       read_npy)

ANN_DECODERS: Dict[str, Callable] = {}


def register_decoder(name: str):

    def wrap(fn):
        ANN_DECODERS[name] = fn
        return fn

    return wrap


def _to_uint8_labels(arr: np.ndarray, path: str) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr
    if arr.size and (arr.min() < 0 or arr.max() > 255):
        raise DataFileError(f'{path}: label values {arr.min()}..{arr.max()} '
                            'do not fit 0..255 (255 = ignore)')
    return arr.astype(np.uint8)


# ----------------------------------------------------------------- class maps
@register_decoder('png_class')
def decode_png_class(path: str,
                     zero_is_void: bool = False,
                     offset: int = 0,
                     **_) -> np.ndarray:
    """Class-index PNG. ``zero_is_void``: 0 means void and real classes start
    at 1 (NYUD_MT); ``offset`` is added to the other values (NYUD_MT: -1)."""
    lab = read_label_png(path).astype(np.int64)
    void = lab == 0 if zero_is_void else lab == 255
    lab = lab + offset
    lab[void] = 255
    return _to_uint8_labels(lab, path)


@register_decoder('npy_class')
def decode_npy_class(path: str, **_) -> np.ndarray:
    """MTAN-style class map: float/int [H, W], negative = ignore."""
    arr = read_npy(path, ndim=(2, 3), kinds='fiu')
    if arr.ndim == 3:
        if arr.shape[2] != 1:
            raise DataFileError(f'{path}: class map of shape {arr.shape}, '
                                'expected [H, W] or [H, W, 1]')
        arr = arr[..., 0]
    if arr.dtype.kind == 'f':
        if not np.isfinite(arr).all():
            raise DataFileError(f'{path}: class map holds NaN/inf')
        if not np.array_equal(arr, np.round(arr)):
            raise DataFileError(f'{path}: class map holds non-integer values')
    lab = arr.astype(np.int64)
    lab[lab < 0] = 255
    return _to_uint8_labels(lab, path)


# PASCAL-Part person parts grouped into the 6 PASCAL_MT parts:
# 1 head, 2 torso, 3 upper arm, 4 lower arm, 5 upper leg, 6 lower leg.
PASCAL_PERSON_PART_GROUPS = {
    'head': 1, 'hair': 1, 'leye': 1, 'reye': 1, 'lear': 1, 'rear': 1,
    'lebrow': 1, 'rebrow': 1, 'nose': 1, 'mouth': 1,
    'neck': 2, 'torso': 2,
    'luarm': 3, 'ruarm': 3,
    'llarm': 4, 'rlarm': 4, 'lhand': 4, 'rhand': 4,
    'luleg': 5, 'ruleg': 5,
    'llleg': 6, 'rlleg': 6, 'lfoot': 6, 'rfoot': 6,
}
PASCAL_PERSON_CLASS_ID = 15


@register_decoder('pascal_parts_mat')
def decode_pascal_parts_mat(path: str,
                            img_shape=None,
                            part_groups: Optional[dict] = None,
                            **_) -> np.ndarray:
    """PASCAL-Part ``Annotations_Part`` .mat -> 7-class human-parts map.

    Pixels of every person part get their group id; everything else is 0
    (background). An image without a person part is all background (as in
    PASCAL_MT), sized like its image.
    """
    groups = part_groups or PASCAL_PERSON_PART_GROUPS
    mat = read_mat(path)
    try:
        objects = mat['anno'][0][0][1][0]
    except (KeyError, IndexError, TypeError) as e:
        raise DataFileError(f'{path}: not a PASCAL-Part annotation (no '
                            f"anno.objects): {e}") from e
    target = None
    for obj in objects:
        mask = np.asarray(obj[2])
        if target is None:
            target = np.zeros(mask.shape[:2], dtype=np.uint8)
        if int(np.asarray(obj[1]).ravel()[0]) != PASCAL_PERSON_CLASS_ID:
            continue
        parts = obj[3]
        if parts.size == 0:
            continue
        for part in parts[0]:
            name = str(np.asarray(part[0]).ravel()[0])
            if name not in groups:
                raise DataFileError(f'{path}: unknown person part {name!r}')
            target[np.asarray(part[1]).astype(bool)] = groups[name]
    if target is None:
        if img_shape is None:
            raise DataFileError(f'{path}: no objects and no image size')
        target = np.zeros(img_shape[:2], dtype=np.uint8)
    return target


# --------------------------------------------------------------- binary maps
@register_decoder('png_binary')
def decode_png_binary(path: str, threshold: int = 127, **_) -> np.ndarray:
    """0..255 map -> 1 where value > threshold, else 0 (PASCAL sal_distill is
    thresholded at 127, i.e. at 0.5 of the range)."""
    m = read_label_png(path)
    if m.dtype != np.uint8:
        raise DataFileError(f'{path}: expected an 8-bit map, got {m.dtype}')
    return (m > threshold).astype(np.uint8)


@register_decoder('npy_binary')
def decode_npy_binary(path: str, threshold: float = 0.5, **_) -> np.ndarray:
    arr = read_npy(path, ndim=(2, 3), kinds='fiub')
    if arr.ndim == 3:
        if arr.shape[2] != 1:
            raise DataFileError(f'{path}: binary map of shape {arr.shape}, '
                                'expected [H, W]')
        arr = arr[..., 0]
    if arr.dtype.kind == 'f' and not np.isfinite(arr).all():
        raise DataFileError(f'{path}: binary map holds NaN/inf')
    return (arr > threshold).astype(np.uint8)


_LAST_LABEL_MAP: list = [None, None]  # [(path, size, mtime_ns), LabelMap]


def read_label_map(path: str) -> np.ndarray:
    """The ``LabelMap`` of a PASCAL-Context .mat file (class ids 0..459),
    read-only. One image's normals (valid classes) and edges both come from it:
    the last file read is kept, keyed by path, size and mtime, so it is read
    once per image."""
    st = os.stat(path) if os.path.isfile(path) else None
    key = (path, st.st_size, st.st_mtime_ns) if st else None
    if key is not None and _LAST_LABEL_MAP[0] == key:
        return _LAST_LABEL_MAP[1]
    mat = read_mat(path)
    if 'LabelMap' not in mat:
        raise DataFileError(f'{path}: no LabelMap in this .mat file')
    lab = np.asarray(mat['LabelMap'])
    lab.setflags(write=False)
    _LAST_LABEL_MAP[:] = [key, lab]
    return lab


def label_map_edges(label_map: np.ndarray) -> np.ndarray:
    """Boolean mask of ``|Laplacian(label_map)| > 0`` (OpenCV's 3x3 Laplacian,
    reflect-101 border): both sides of every boundary, before thinning."""
    lab = np.asarray(label_map).astype(np.float64)
    return np.abs(cv2.Laplacian(lab, cv2.CV_64F)) > 0


@register_decoder('pascal_context_edge_mat')
def decode_pascal_context_edge(path: str, **_) -> np.ndarray:
    """PASCAL-Context ``LabelMap`` .mat -> edge map: pixels where the
    Laplacian of the label map is non-zero (both sides of every boundary),
    thinned to one pixel by ``skimage.morphology.thin`` (the published
    PASCAL_MT rule)."""
    from skimage.morphology import thin
    return thin(label_map_edges(read_label_map(path))).astype(np.uint8)


# ------------------------------------------------------------------- normals
@register_decoder('png_normals')
def decode_png_normals(path: str,
                       white_invalid: bool = True,
                       label_map: Optional[str] = None,
                       valid_classes: Optional[Sequence[int]] = None,
                       **_) -> np.ndarray:
    """RGB PNG, n = 2 v / 255 - 1 (x = R, y = G, z = B), values as decoded (not
    renormalised here).

    Args:
        white_invalid: pixels stored as (255, 255, 255) mean "invalid" and
            become zero vectors. The published PASCAL_MT loader has no such
            rule (False there: white decodes to (1, 1, 1)).
        label_map: a PASCAL-Context .mat with a ``LabelMap``; with
            ``valid_classes`` every pixel whose LabelMap class is not listed
            becomes a zero vector (invalid), as the published PASCAL_MT loader
            does with its NYU-compatible class list.
        valid_classes: LabelMap class ids on which normals are kept.
    """
    bgr = read_image(path, cv2.IMREAD_COLOR)
    rgb = bgr[..., ::-1]
    # The published operation order (float32), so values match bit for bit.
    n = 2.0 * rgb.astype(np.float32) / 255.0 - 1.0
    if white_invalid:
        n[(rgb == 255).all(-1)] = 0
    if valid_classes is not None:
        if label_map is None:
            raise ValueError(f'{path}: valid_classes needs the label_map file')
        lab = read_label_map(label_map)
        if lab.shape[:2] != n.shape[:2]:
            raise DataFileError(
                f'{label_map}: LabelMap of size {lab.shape[:2]} does not match '
                f'the normals {path} of size {n.shape[:2]}')
        keep = np.isin(lab, np.asarray(list(valid_classes)))
        n[~keep] = 0
    return n


@register_decoder('png16_normals')
def decode_png16_normals(path: str, **_) -> np.ndarray:
    """16-bit RGB PNG, n = 2 v / 65535 - 1; (0, 0, 0) = invalid."""
    bgr = read_image(path, cv2.IMREAD_UNCHANGED)
    if bgr.ndim != 3 or bgr.shape[2] != 3 or bgr.dtype != np.uint16:
        raise DataFileError(f'{path}: expected a 16-bit RGB normals PNG, got '
                            f'{bgr.dtype} of shape {bgr.shape}')
    rgb = bgr[..., ::-1]
    invalid = (rgb == 0).all(-1)
    n = rgb.astype(np.float32) * (2.0 / 65535.0) - 1.0
    n[invalid] = 0
    return n


@register_decoder('npy_normals')
def decode_npy_normals(path: str, **_) -> np.ndarray:
    """float [H, W, 3] in [-1, 1] (or [3, H, W]); zero vector = invalid."""
    arr = read_npy(path, ndim=(3, ), kinds='f')
    if arr.shape[2] != 3 and arr.shape[0] == 3:
        arr = np.moveaxis(arr, 0, -1)
    if arr.shape[2] != 3:
        raise DataFileError(f'{path}: normals of shape {arr.shape}, expected '
                            '[H, W, 3]')
    return np.ascontiguousarray(arr, dtype=np.float32)


# --------------------------------------------------------------------- depth
@register_decoder('npy_depth')
def decode_npy_depth(path: str, scale: float = 1.0, **_) -> np.ndarray:
    """float [H, W] or [H, W, 1]; value * scale; 0 = invalid."""
    arr = read_npy(path, ndim=(2, 3), kinds='fiu')
    if arr.ndim == 3:
        if arr.shape[2] != 1:
            raise DataFileError(f'{path}: depth of shape {arr.shape}, expected '
                                '[H, W] or [H, W, 1]')
        arr = arr[..., 0]
    return np.ascontiguousarray(arr, dtype=np.float32) * np.float32(scale)


@register_decoder('png_depth')
def decode_png_depth(path: str, scale: float = 1e-3, **_) -> np.ndarray:
    """16-bit PNG depth; value * scale (1e-3: millimetres -> metres)."""
    arr = read_label_png(path)
    if arr.dtype != np.uint16:
        raise DataFileError(f'{path}: expected a 16-bit depth PNG, got '
                            f'{arr.dtype}')
    return arr.astype(np.float32) * np.float32(scale)


def decode(record: dict, img_shape=None) -> np.ndarray:
    """Run the decoder named by ``record['fmt']`` on ``record['path']``."""
    fmt = record.get('fmt')
    if fmt not in ANN_DECODERS:
        raise ValueError(f'unknown annotation format {fmt!r} for '
                         f'{record.get("path")}; known: {sorted(ANN_DECODERS)}')
    options = {k: v for k, v in record.items() if k not in ('fmt', )}
    return ANN_DECODERS[fmt](img_shape=img_shape, **options)
