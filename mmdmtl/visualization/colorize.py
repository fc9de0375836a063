"""Turn every task's label or prediction into an RGB image (uint8, H x W x 3).

One function per kind of map in the task table (``TaskSpec.kind``):

- class maps (semseg, human_parts): a palette, one colour per class;
- binary maps (sal, edge): a heat map of the probability (labels are 0/1);
- normals: the unit vector mapped to RGB as (n + 1) / 2;
- depth: a colour map over a value range shared by label and prediction.

Pixels without a label (255 in class/binary maps, the zero normal, zero depth) are drawn
in ``INVALID_COLOR`` so that "no label here" never looks like a class or a value.
Everything is vectorised numpy/OpenCV; there is no per-pixel Python.
"""
from typing import Optional, Sequence, Tuple

import cv2
import numpy as np

INVALID_COLOR = (64, 64, 64)

# OpenCV's colour maps, by name (all exist in opencv >= 4.1).
_CMAPS = {
    'inferno': cv2.COLORMAP_INFERNO,
    'magma': cv2.COLORMAP_MAGMA,
    'viridis': cv2.COLORMAP_VIRIDIS,
    'plasma': cv2.COLORMAP_PLASMA,
    'turbo': cv2.COLORMAP_TURBO,
    'jet': cv2.COLORMAP_JET,
    'gray': None,
}


def to_numpy(x) -> np.ndarray:
    """A tensor (any device) or array as a numpy array."""
    if hasattr(x, 'detach'):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def make_palette(num_classes: int) -> np.ndarray:
    """A deterministic palette of ``num_classes`` distinct colours, uint8 [K, 3].

    Class i gets the colour whose bits are the bits of i spread over the three channels
    from the most significant bit down (the scheme of the PASCAL VOC palette): class 0 is
    black and neighbouring class ids get clearly different colours.
    """
    ids = np.arange(num_classes, dtype=np.int64)
    palette = np.zeros((num_classes, 3), dtype=np.int64)
    rest = ids.copy()
    for bit in range(7, -1, -1):
        for ch in range(3):
            palette[:, ch] |= ((rest >> ch) & 1) << bit
        rest >>= 3
    return palette.astype(np.uint8)


def _apply_cmap(values01: np.ndarray, cmap: str) -> np.ndarray:
    """values in [0, 1] (H, W) -> RGB uint8 (H, W, 3)."""
    if cmap not in _CMAPS:
        raise ValueError(f'unknown colour map {cmap!r}; choose one of {sorted(_CMAPS)}')
    v = np.nan_to_num(values01.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0)
    u8 = np.clip(np.rint(v * 255.0), 0, 255).astype(np.uint8)
    if _CMAPS[cmap] is None:
        return np.repeat(u8[..., None], 3, axis=-1)
    bgr = cv2.applyColorMap(u8, _CMAPS[cmap])
    return bgr[..., ::-1].copy()


def _squeeze_map(x, name: str) -> np.ndarray:
    a = to_numpy(x)
    if a.ndim == 3 and a.shape[0] == 1:
        a = a[0]
    if a.ndim != 2:
        raise ValueError(f'{name}: expected a [1, H, W] or [H, W] map, got shape '
                         f'{tuple(a.shape)}')
    return a


def colorize_class_map(labels,
                       palette: Optional[Sequence[Sequence[int]]] = None,
                       ignore_index: int = 255) -> np.ndarray:
    """Class ids [1, H, W] or [H, W] -> RGB. ``ignore_index`` is drawn grey.

    The palette is extended with generated colours when a label exceeds it.
    """
    lab = _squeeze_map(labels, 'class map').astype(np.int64)
    valid = lab != ignore_index
    if (lab[valid] < 0).any():
        raise ValueError(f'class map has negative ids {np.unique(lab[lab < 0])[:5]}')
    top = int(lab[valid].max()) + 1 if valid.any() else 1
    pal = (np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
           if palette is not None and len(palette) else np.zeros((0, 3), np.uint8))
    if len(pal) < top:
        pal = np.concatenate([pal, make_palette(top)[len(pal):]], axis=0)
    out = pal[np.where(valid, lab, 0)]
    out[~valid] = INVALID_COLOR
    return out


def colorize_heatmap(prob, valid=None, cmap: str = 'inferno') -> np.ndarray:
    """Probabilities in [0, 1] ([1, H, W] or [H, W]) -> RGB heat map."""
    p = _squeeze_map(prob, 'probability map').astype(np.float32)
    out = _apply_cmap(np.clip(p, 0.0, 1.0), cmap)
    if valid is not None:
        out[~np.asarray(valid, dtype=bool)] = INVALID_COLOR
    return out


def colorize_binary_label(labels, ignore_index: int = 255,
                          cmap: str = 'inferno') -> np.ndarray:
    """A 0/1 label map (ignore_index drawn grey) in the colours of the heat map."""
    lab = _squeeze_map(labels, 'binary label map')
    valid = lab != ignore_index
    return colorize_heatmap(np.where(valid, lab, 0).astype(np.float32), valid, cmap)


def colorize_normals(normals) -> np.ndarray:
    """Normals [3, H, W] (or [H, W, 3]) -> RGB as (n + 1) / 2; the zero vector (no label)
    is drawn grey. Predictions are normalised first, so raw network output also works.
    """
    n = to_numpy(normals).astype(np.float32)
    if n.ndim == 3 and n.shape[0] == 3:  # CHW (the sample format) wins when ambiguous
        n = n.transpose(1, 2, 0)
    if n.ndim != 3 or n.shape[-1] != 3:
        raise ValueError('normals: expected [3, H, W], got '
                         f'{tuple(to_numpy(normals).shape)}')
    norm = np.linalg.norm(n, axis=-1, keepdims=True)
    valid = norm[..., 0] > 1e-6
    unit = n / np.maximum(norm, 1e-6)
    out = np.clip(np.rint((unit + 1.0) * 127.5), 0, 255).astype(np.uint8)
    out[~valid] = INVALID_COLOR
    return out


def depth_range(*maps, invalid_value: float = 0.0) -> Tuple[float, float]:
    """(min, max) over the valid pixels of all given depth maps (None ones skipped),
    so that a label and its prediction share one colour scale. The 1st/99th
    percentiles are used so that a few outliers do not wash out the map."""
    vals = []
    for m in maps:
        if m is None:
            continue
        a = to_numpy(m).astype(np.float32).ravel()
        a = a[np.isfinite(a) & (a != invalid_value)]
        if a.size:
            vals.append(a)
    if not vals:
        return 0.0, 1.0
    allv = np.concatenate(vals)
    lo, hi = np.percentile(allv, [1.0, 99.0])
    if hi - lo < 1e-6:
        hi = lo + 1e-6
    return float(lo), float(hi)


def colorize_depth(depth,
                   vmin: Optional[float] = None,
                   vmax: Optional[float] = None,
                   cmap: str = 'viridis',
                   invalid_value: float = 0.0) -> np.ndarray:
    """Depth [1, H, W] or [H, W] -> RGB; near is dark, far is bright. Pixels equal to
    ``invalid_value`` (no label) are grey."""
    d = _squeeze_map(depth, 'depth map').astype(np.float32)
    if vmin is None or vmax is None:
        lo, hi = depth_range(d, invalid_value=invalid_value)
        vmin = lo if vmin is None else vmin
        vmax = hi if vmax is None else vmax
    valid = np.isfinite(d) & (d != invalid_value)
    scaled = (d - vmin) / max(vmax - vmin, 1e-6)
    return colorize_heatmap(np.clip(scaled, 0, 1), valid, cmap)


def load_image_rgb(path: str, backend_args: Optional[dict] = None) -> np.ndarray:
    """Read an image for drawing as RGB uint8 [H, W, 3].

    Besides the usual image files this reads ``.npy`` arrays (the NYUD-v2 partial-label
    layout stores images as HWC floats in [0, 1]).
    """
    import io

    import mmcv
    from mmengine import fileio
    try:
        raw = fileio.get(path, backend_args=backend_args)
    except FileNotFoundError as e:
        raise FileNotFoundError(f'image to draw not found: {path}') from e
    if str(path).endswith('.npy'):
        img = np.load(io.BytesIO(raw), allow_pickle=False)
        if img.ndim == 3 and img.shape[0] == 3 and img.shape[-1] != 3:
            img = img.transpose(1, 2, 0)
        if img.dtype != np.uint8:
            img = img.astype(np.float32)
            if img.size and img.max() <= 1.0:
                img = img * 255.0
            img = np.clip(img, 0, 255).astype(np.uint8)
        return np.ascontiguousarray(img)
    img = mmcv.imfrombytes(raw, channel_order='rgb')
    if img is None:
        raise ValueError(f'could not decode image {path}')
    return img
