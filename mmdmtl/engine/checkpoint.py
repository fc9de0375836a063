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
import contextlib
import os
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch
from mmengine.fileio import LocalBackend, register_backend

from mmdmtl.utils.atomic_write import atomic_write_bytes, atomic_write_text

#: Name of the registered file backend (``backend_args=dict(backend=...)``).
ATOMIC_BACKEND_NAME = 'mmdmtl_atomic_local'


class AtomicLocalBackend(LocalBackend):
    """MMEngine's local file backend with atomic ``put``/``put_text`` and removals
    that can be deferred until a save is complete.

    Select it with ``backend_args=dict(backend='mmdmtl_atomic_local')`` wherever
    MMEngine accepts ``backend_args`` (``CheckpointHook``, ``Runner.save_checkpoint``).
    ``AtomicCheckpointHook`` does so by default for local output directories.
    """

    _deferred: Optional[List[Tuple[str, str]]] = None

    @contextlib.contextmanager
    def deferred_removals(self):
        """Inside the block ``remove``/``rmtree`` only record their path; they
        run when the block ends without an error (MMEngine's CheckpointHook
        deletes the checkpoint that falls out of ``max_keep_ckpts`` *before*
        saving the new one; with this, after). On an error nothing is removed."""
        self._deferred = []
        try:
            yield
            pending, self._deferred = self._deferred, None
            for kind, path in pending:
                getattr(super(), kind)(path)
        finally:
            self._deferred = None

    def remove(self, filepath) -> None:
        if self._deferred is not None:
            self._deferred.append(('remove', filepath))
        else:
            super().remove(filepath)

    def rmtree(self, dir_path) -> None:
        if self._deferred is not None:
            self._deferred.append(('rmtree', dir_path))
        else:
            super().rmtree(dir_path)

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


def model_task_channels(model: torch.nn.Module) -> Optional[Dict[str, int]]:
    """The model's ordered ``{task: output channels}`` (None for a model without
    tasks, e.g. an mmseg segmentor)."""
    tasks = getattr(model, 'tasks', None)
    if isinstance(tasks, Mapping) and tasks:
        return {str(t): int(c) for t, c in tasks.items()}
    return None


def check_task_order(model: torch.nn.Module, checkpoint: Mapping,
                     source: str = 'checkpoint') -> None:
    """Refuse a checkpoint whose recorded tasks (``meta['tasks']``, written by
    ``CheckpointCheckHook`` and the official converter) are the model's tasks in
    another order or with other channels: the per-task weights would load by
    position into the wrong heads with no shape error."""
    mine = model_task_channels(model)
    meta = checkpoint.get('meta') if isinstance(checkpoint, Mapping) else None
    stored = meta.get('tasks') if isinstance(meta, Mapping) else None
    if mine is None or not isinstance(stored, Mapping):
        return
    stored = {str(t): int(c) for t, c in stored.items()}
    if stored == mine and list(stored) == list(mine):
        return
    want = ', '.join(f'{t}={c}' for t, c in stored.items())
    if set(stored) == set(mine) and all(stored[t] == mine[t] for t in mine):
        raise CheckpointMismatchError(
            f'checkpoint {source} was trained with the tasks in the order '
            f'{list(stored)} but model.tasks is {list(mine)}: its per-task '
            'weights would load into the wrong heads; set model.tasks = '
            f'dict({want}) (the checkpoint\'s order)')
    if set(stored) == set(mine):
        raise CheckpointMismatchError(
            f'checkpoint {source} was trained with tasks dict({want}) but '
            f'model.tasks is {mine}: the output channels differ; set '
            f'model.tasks = dict({want})')
