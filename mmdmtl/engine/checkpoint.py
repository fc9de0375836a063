"""Checkpoint safety: atomic writes and a clear report when a checkpoint does not fit.

MMEngine 0.10.7 writes a checkpoint by opening its final name and streaming bytes into
it, so a process killed mid-save leaves a truncated ``iter_N.pth`` behind (and the
``last_checkpoint`` pointer is written the same way). ``AtomicLocalBackend`` writes to a
temporary file in the same directory, flushes it to disk and renames it over the final
name (``os.replace`` is atomic on POSIX and Windows), so a reader sees either the old
file or the complete new one, never half of one.

Loading a checkpoint of another model through ``load_from`` only logs a warning in
MMEngine (``strict=False``) and leaves the mismatched parameters at their random
initialisation. ``compare_state_dicts`` lists what does not fit (missing, unexpected and
shape-mismatched keys) and ``check_checkpoint_fits`` turns that into an error naming the
file and the keys.
"""
import os
import os.path as osp
import tempfile
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch
from mmengine.fileio import LocalBackend, register_backend

#: Name of the registered file backend (``backend_args=dict(backend=...)``).
ATOMIC_BACKEND_NAME = 'mmdmtl_atomic_local'
#: Suffix of the temporary files; leftovers of a killed save end with it.
TMP_SUFFIX = '.tmp'


def atomic_write_bytes(data: bytes, filepath: Union[str, os.PathLike]) -> None:
    """Write ``data`` to ``filepath`` so that the file is either absent/old or complete.

    The bytes go to ``.<name>.<random>.tmp`` in the same directory (same file system, so
    the final rename is atomic), are fsync'ed, then renamed over ``filepath``. On any
    error the temporary file is removed and the error re-raised.
    """
    filepath = os.fspath(filepath)
    dirname = osp.dirname(osp.abspath(filepath))
    os.makedirs(dirname, exist_ok=True)
    fd, tmp_path = tempfile.mkstemp(
        prefix=f'.{osp.basename(filepath)}.', suffix=TMP_SUFFIX, dir=dirname)
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp_path, filepath)
    except BaseException:
        if osp.exists(tmp_path):
            os.remove(tmp_path)
        raise
    # Persist the rename itself (the directory entry); best effort where the
    # platform cannot open directories.
    try:
        dir_fd = os.open(dirname, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def atomic_write_text(text: str,
                      filepath: Union[str, os.PathLike],
                      encoding: str = 'utf-8') -> None:
    """``atomic_write_bytes`` for text."""
    atomic_write_bytes(text.encode(encoding), filepath)


def remove_stale_tmp_files(dirname: str) -> List[str]:
    """Delete the temporary files that killed atomic writes left in ``dirname``.

    Returns the removed paths. Only names of the form ``.<name>.<random>.tmp`` are
    touched.
    """
    removed = []
    if not osp.isdir(dirname):
        return removed
    for name in os.listdir(dirname):
        if name.startswith('.') and name.endswith(TMP_SUFFIX):
            path = osp.join(dirname, name)
            try:
                os.remove(path)
                removed.append(path)
            except OSError:
                pass
    return removed


class AtomicLocalBackend(LocalBackend):
    """MMEngine's local file backend with atomic ``put``/``put_text``.

    Select it with ``backend_args=dict(backend='mmdmtl_atomic_local')`` wherever
    MMEngine accepts ``backend_args`` (``CheckpointHook``, ``Runner.save_checkpoint``).
    ``AtomicCheckpointHook`` does so by default for local output directories.
    """

    def put(self, obj: bytes, filepath: Union[str, os.PathLike]) -> None:
        atomic_write_bytes(obj, filepath)

    def put_text(self,
                 obj: str,
                 filepath: Union[str, os.PathLike],
                 encoding: str = 'utf-8') -> None:
        atomic_write_text(obj, filepath, encoding)


register_backend(ATOMIC_BACKEND_NAME, AtomicLocalBackend, force=True)


class CheckpointMismatchError(ValueError):
    """A checkpoint's weights do not fit the model (the message is the report)."""


@dataclass
class StateDictMismatch:
    """How a checkpoint's state dict compares with a model's.

    Attributes:
        matched: keys present in both with the same shape.
        missing: keys of the model that the checkpoint lacks.
        unexpected: keys of the checkpoint that the model lacks.
        shape_mismatch: key -> (checkpoint shape, model shape).
    """
    matched: List[str] = field(default_factory=list)
    missing: List[str] = field(default_factory=list)
    unexpected: List[str] = field(default_factory=list)
    shape_mismatch: Dict[str, Tuple[tuple, tuple]] = field(default_factory=dict)

    @property
    def num_model_keys(self) -> int:
        return len(self.matched) + len(self.missing) + len(self.shape_mismatch)

    @property
    def matched_ratio(self) -> float:
        """Fraction of the model's entries that the checkpoint fills."""
        return len(self.matched) / max(self.num_model_keys, 1)

    @property
    def is_exact(self) -> bool:
        return not (self.missing or self.unexpected or self.shape_mismatch)

    def format(self, source: str = 'checkpoint', max_keys: int = 20) -> str:
        """A human readable report; each list is cut after ``max_keys`` entries."""

        def listing(keys: Sequence[str]) -> str:
            shown = ', '.join(keys[:max_keys])
            more = len(keys) - max_keys
            return shown + (f', ... (+{more} more)' if more > 0 else '')

        lines = [
            f'{source}: {len(self.matched)}/{self.num_model_keys} model entries '
            f'match ({100 * self.matched_ratio:.1f}%)'
        ]
        if self.missing:
            lines.append(f'  missing in the checkpoint ({len(self.missing)}): '
                         f'{listing(self.missing)}')
        if self.unexpected:
            lines.append(f'  unexpected in the checkpoint ({len(self.unexpected)}): '
                         f'{listing(self.unexpected)}')
        if self.shape_mismatch:
            items = [
                f'{k} (checkpoint {list(c)} vs model {list(m)})'
                for k, (c, m) in self.shape_mismatch.items()
            ]
            lines.append(f'  shape mismatch ({len(items)}): {listing(items)}')
        return '\n'.join(lines)


def _shape(value) -> Optional[tuple]:
    return tuple(value.shape) if hasattr(value, 'shape') else None


def compare_state_dicts(model_state: Mapping[str, object],
                        ckpt_state: Mapping[str, object]) -> StateDictMismatch:
    """Compare a model's ``state_dict()`` with a checkpoint's, key by key.

    Entries without a shape (``_extra_state`` objects) match when both sides have them.
    """
    report = StateDictMismatch()
    for key, value in model_state.items():
        if key not in ckpt_state:
            report.missing.append(key)
            continue
        model_shape, ckpt_shape = _shape(value), _shape(ckpt_state[key])
        if model_shape is not None and ckpt_shape is not None \
                and model_shape != ckpt_shape:
            report.shape_mismatch[key] = (ckpt_shape, model_shape)
        else:
            report.matched.append(key)
    report.unexpected = [k for k in ckpt_state if k not in model_state]
    return report


def extract_state_dict(checkpoint: Mapping,
                       revise_keys: Sequence[Tuple[str, str]] = (
                           (r'^module\.', ''), )) -> Dict[str, object]:
    """The model weights of a loaded checkpoint, with MMEngine's key revisions.

    Accepts a full MMEngine checkpoint (``{'state_dict': ..., 'meta': ...}``) or a bare
    state dict, and strips the DDP ``module.`` prefix like ``Runner.load_checkpoint``.
    """
    import re
    state = checkpoint.get('state_dict', checkpoint) if isinstance(
        checkpoint, Mapping) else checkpoint
    if not isinstance(state, Mapping):
        raise CheckpointMismatchError(
            f'the checkpoint holds no state dict (found {type(state).__name__})')
    out = {}
    for key, value in state.items():
        for pattern, repl in revise_keys:
            key = re.sub(pattern, repl, key)
        out[key] = value
    return out


def check_checkpoint_fits(model: torch.nn.Module,
                          checkpoint: Mapping,
                          source: str = 'checkpoint',
                          strict: bool = False,
                          allow_shape_mismatch: bool = False,
                          min_matched_ratio: float = 0.5) -> StateDictMismatch:
    """Raise ``CheckpointMismatchError`` when ``checkpoint`` was not made for ``model``.

    Args:
        model: the (unwrapped) model.
        checkpoint: the loaded checkpoint (full or bare state dict).
        source: what to call the checkpoint in the report (its path).
        strict: any missing/unexpected/shape-mismatched key is an error (used for
            resuming, which must restore every weight).
        allow_shape_mismatch: shape mismatches are reported but not an error (e.g.
            fine-tuning to another number of classes, whose last layers then keep
            their initialisation).
        min_matched_ratio: below this fraction of matching model entries the
            checkpoint is taken to come from another model.

    Returns:
        The comparison (for logging) when the checkpoint is acceptable.
    """
    report = compare_state_dicts(model.state_dict(), extract_state_dict(checkpoint))
    problems = []
    if strict and not report.is_exact:
        problems.append('the checkpoint must match the model exactly here')
    if report.shape_mismatch and not allow_shape_mismatch:
        problems.append(f'{len(report.shape_mismatch)} parameter(s) have another '
                        'shape')
    if report.matched_ratio < min_matched_ratio:
        problems.append(f'only {100 * report.matched_ratio:.1f}% of the model is '
                        f'filled (minimum {100 * min_matched_ratio:.0f}%): it looks '
                        'like a checkpoint of another model')
    if problems:
        raise CheckpointMismatchError(
            f'checkpoint {source} does not fit the model '
            f'{type(model).__name__}: ' + '; '.join(problems) + '\n' +
            report.format(source))
    return report
