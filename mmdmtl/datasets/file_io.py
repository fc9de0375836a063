"""Checked readers for the files multi-task datasets are made of.

Every reader raises an error that names the file at fault: a missing file
(``FileNotFoundError``), a file that cannot be decoded or is cut short
(``DataFileError``), or an array of the wrong shape/dtype (``DataFileError``).
OpenCV decodes a truncated JPEG/PNG without complaint (it fills the missing rows
with grey), so the image readers check the end-of-image markers first.
"""
import os.path as osp
import re
from collections import Counter
from typing import Iterable, Optional, Sequence, Tuple

import cv2
import numpy as np


class DataFileError(ValueError):
    """A data file exists but its content is unusable (corrupt, truncated, wrong
    shape/dtype/value range). The message names the file."""


def _read_bytes(path: str) -> bytes:
    if not osp.isfile(path):
        raise FileNotFoundError(f'data file not found: {path}')
    try:
        with open(path, 'rb') as f:
            return f.read()
    except OSError as e:
        raise DataFileError(f'cannot read {path}: {e}') from e


def _check_complete(data: bytes, path: str) -> None:
    """Refuse truncated JPEG/PNG files (OpenCV would decode them silently)."""
    if data[:3] == b'\xff\xd8\xff':  # JPEG: must end with the EOI marker
        tail = data[-1024:]
        if b'\xff\xd9' not in tail:
            raise DataFileError(
                f'truncated or corrupt JPEG (no end-of-image marker): {path}')
    elif data[:8] == b'\x89PNG\r\n\x1a\n':  # PNG: must end with IEND
        if b'IEND' not in data[-64:]:
            raise DataFileError(
                f'truncated or corrupt PNG (no IEND chunk): {path}')


def read_image(path: str, flag: int = cv2.IMREAD_COLOR) -> np.ndarray:
    """Decode an image file (BGR for colour, as OpenCV/mmcv do)."""
    data = _read_bytes(path)
    if not data:
        raise DataFileError(f'empty image file: {path}')
    _check_complete(data, path)
    img = cv2.imdecode(np.frombuffer(data, np.uint8), flag)
    if img is None:
        raise DataFileError(f'cannot decode image file: {path}')
    return img


def read_label_png(path: str) -> np.ndarray:
    """A single-channel label image (PNG palette/grey, 8 or 16 bit) as stored."""
    img = read_image(path, cv2.IMREAD_UNCHANGED)
    if img.ndim == 3:
        # Palette PNGs are decoded by OpenCV as colour; PIL keeps the indices.
        from PIL import Image
        with Image.open(path) as im:
            if im.mode not in ('P', 'L', 'I', 'I;16'):
                raise DataFileError(
                    f'label image {path} has mode {im.mode} with '
                    f'{img.shape[2]} channels: expected a single-channel map')
            img = np.array(im)
    return img


def read_npy(path: str,
             ndim: Optional[Sequence[int]] = None,
             channels: Optional[int] = None,
             kinds: str = 'fiub') -> np.ndarray:
    """Load a .npy array and check its rank, channel count and dtype kind.

    Args:
        ndim: allowed numbers of dimensions.
        channels: required size of the last axis when the array is 3-D.
        kinds: allowed numpy dtype kinds ('f' float, 'i' int, 'u' uint, 'b' bool).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'data file not found: {path}')
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise DataFileError(f'cannot load .npy file {path}: {e}') from e
    if ndim is not None and arr.ndim not in tuple(ndim):
        raise DataFileError(f'{path}: array of shape {arr.shape}, expected '
                            f'{"/".join(map(str, ndim))} dimensions')
    if channels is not None and arr.ndim == 3 and arr.shape[2] != channels:
        raise DataFileError(f'{path}: array of shape {arr.shape}, expected '
                            f'{channels} channels in the last axis')
    if arr.dtype.kind not in kinds:
        raise DataFileError(f'{path}: dtype {arr.dtype} not allowed here '
                            f'(allowed kinds {kinds!r})')
    return arr


def read_mat(path: str) -> dict:
    """Load a MATLAB .mat file (v5) with scipy."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'data file not found: {path}')
    from scipy.io import loadmat
    try:
        return loadmat(path)
    except Exception as e:  # scipy raises several unrelated types here
        raise DataFileError(f'cannot read .mat file {path}: {e}') from e


def _check_id_stays_inside(sid: str, path: str, lineno: int) -> None:
    # Ids become paths under data_root: an absolute path or a '..' step would
    # read files outside it.
    parts = re.split(r'[\\/]', sid)
    if osp.isabs(sid) or sid.startswith(('/', '\\')) or re.match(
            r'^[A-Za-z]:', sid) or '..' in parts or '\0' in sid:
        raise DataFileError(
            f'{path}:{lineno}: image id {sid!r} would read a file outside '
            'data_root (absolute path or ".."); ids are names or relative paths '
            'below data_root')


def read_id_list(path: str) -> list:
    """Image ids, one a line (blank lines ignored); every id must stay inside
    data_root (no absolute path, no ``..``)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'split list not found: {path}')
    ids = []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            sid = line.strip()
            if sid:
                _check_id_stays_inside(sid, path, lineno)
                ids.append(sid)
    dup = len(ids) - len(set(ids))
    if dup:
        raise DataFileError(f'{path}: {dup} repeated image id(s)')
    return ids


def drop_id_suffixes(ids: Sequence[str], known: Iterable[str],
                     source: str = 'split list') -> list:
    """``ids`` with a file suffix dropped where the id itself is unknown but its
    stem is a known id (``0000.jpg`` -> ``0000``): split lists written from file
    names work as they are. Raises ``DataFileError`` when two entries become one."""
    known = set(known)
    out = []
    for i in ids:
        stem, ext = osp.splitext(i)
        out.append(stem if i not in known and ext and stem in known else i)
    dup = sorted(i for i, n in Counter(out).items() if n > 1)
    if dup:
        raise DataFileError(f'{source}: image id(s) listed twice (with and without '
                            f'their suffix?): {dup[:3]}')
    return out


def check_same_size(arr: np.ndarray, img_shape: Tuple[int, int], path: str,
                    what: str) -> None:
    if tuple(arr.shape[:2]) != tuple(img_shape[:2]):
        raise DataFileError(
            f'{what} {path} has size {tuple(arr.shape[:2])} but its image has '
            f'size {tuple(img_shape[:2])}')

