"""The one loader for files that may come from elsewhere: none of them can run code.

* ``load_torch_file``: checkpoints (training's own, released ones, converted ones)
  and ``.pth`` split files, through torch's weights-only unpickler with exactly the
  types MMEngine's checkpoints hold allow-listed (``checkpoint_compat``). A file that
  needs anything else is refused with ``UnsafeFileError`` naming the file and the
  refused type; a damaged file with ``DamagedFileError`` naming it.
* ``load_pickled_npy``: the object ``.npy`` split files of MTPSL/DiffusionMTL (a
  pickled ``dict {task: [image_id, ...]}``) through an allow-list unpickler that
  accepts exactly what those files hold (numpy's array/scalar reconstruction and
  dtypes, plus Python's containers and strings) and refuses every other global.
* ``register_safe_checkpoint_loader``: MMEngine's local checkpoint loader (used by
  ``load_from``, ``resume`` and the inferencer) goes through ``load_torch_file``, so
  every checkpoint mmdmtl reads gets the same named errors.

Nothing here ever falls back to a full unpickler.
"""
import io
import os.path as osp
import pickle
import re
import zipfile

import numpy as np

#: The globals the published ``.npy`` split files reference (numpy 1.x and 2.x
#: module names); nothing else is ever constructed.
_NPY_ALLOWED = {
    ('numpy', 'ndarray'), ('numpy', 'dtype'),
    ('numpy.core.multiarray', '_reconstruct'),
    ('numpy.core.multiarray', 'scalar'),
    ('numpy._core.multiarray', '_reconstruct'),
    ('numpy._core.multiarray', 'scalar'),
}


class UnsafeFileError(ValueError):
    """A file would need code to be run to load it (refused)."""


class DamagedFileError(ValueError):
    """A file is truncated or not in the expected format."""


def _refusal(path: str, what: str, found: str) -> UnsafeFileError:
    return UnsafeFileError(
        f'refusing to load {what} {path}: it references {found}, which is not '
        'a tensor, array or plain container, and loading it could run code; '
        'mmdmtl loads only weights and plain data (re-save the file with '
        'torch.save(state_dict) / a JSON split file from a trusted copy)')


def load_torch_file(path: str, what: str = 'checkpoint',
                    map_location='cpu'):
    """``torch.load(path, weights_only=True)`` with named errors (see module doc)."""
    import torch

    from .checkpoint_compat import register_checkpoint_safe_globals
    register_checkpoint_safe_globals()
    path = osp.expanduser(str(path))
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} not found: {path}')
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        text = str(err)
        if 'Weights only load failed' not in text:
            raise DamagedFileError(
                f'{what} {path} cannot be read ({text.splitlines()[0]}); it is '
                'damaged or not a PyTorch file: re-download or re-save it') \
                from None
        found = (re.search(r'GLOBAL\s+([\w.]+)', text) or re.search(
            r'Unsupported (?:class|operand)\s*:?\s*([\w.]+)', text))
        raise _refusal(path, what, found.group(1) if found else
                       'an object that is not allow-listed') from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as err:
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise DamagedFileError(
            f'{what} {path} is truncated or damaged ({first}); re-download or '
            're-save it') from None


class _AllowListUnpickler(pickle.Unpickler):

    def __init__(self, file, path: str, what: str):
        super().__init__(file)
        self._path, self._what = path, what

    def find_class(self, module: str, name: str):
        if (module, name) in _NPY_ALLOWED:
            return super().find_class(module, name)
        raise _refusal(self._path, self._what, f'{module}.{name}')


def load_pickled_npy(path: str, what: str = 'split file'):
    """The object held by an object ``.npy`` file (``np.save`` of a dict), read
    with the allow-list unpickler; plain (non-object) arrays are returned as
    ``np.load(allow_pickle=False)`` reads them."""
    from numpy.lib import format as npy_format
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} not found: {path}')
    with open(path, 'rb') as f:
        try:
            major, _ = npy_format.read_magic(f)
            read_header = getattr(npy_format, f'read_array_header_{major}_0')
            shape, _, dtype = read_header(f)
        except (ValueError, AttributeError) as err:
            raise DamagedFileError(f'{what} {path} is not a .npy file ({err})') \
                from None
        if not dtype.hasobject:
            f.seek(0)
            return np.load(f, allow_pickle=False)
        try:
            obj = _AllowListUnpickler(io.BytesIO(f.read()), path, what).load()
        except UnsafeFileError:
            raise
        except Exception as err:  # noqa: BLE001 - any decoding failure
            raise DamagedFileError(f'{what} {path} cannot be read ({err}); it '
                                   'is damaged or truncated') from None
    if isinstance(obj, np.ndarray) and obj.shape == () and not shape:
        return obj.item()
    return obj


def _load_local_checkpoint(filename, map_location=None):
    return load_torch_file(filename, 'checkpoint', map_location)


def register_safe_checkpoint_loader() -> None:
    """Route MMEngine's local checkpoint loading through ``load_torch_file``."""
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(prefixes='', loader=_load_local_checkpoint,
                                     force=True)
