"""``AtomicCheckpointHook``: MMEngine's ``CheckpointHook`` that never leaves a half file.

Differences from ``mmengine.hooks.CheckpointHook`` (everything else, including every
argument, is inherited unchanged):

- local checkpoints are written through ``AtomicLocalBackend`` (temporary file, fsync,
  atomic rename), so a save killed half-way leaves the previous files intact;
- with ``max_keep_ckpts``, the oldest checkpoint is removed *after* the new one is
  saved (MMEngine removes it first, so a killed save could leave no usable checkpoint):
  the backend defers the hook's removals until ``_save_checkpoint_with_step`` returns;
- ``last_checkpoint`` is written by MMEngine after the new checkpoint is complete; a
  pointer that names a missing or damaged file is reported by ``tools/train.py
  --resume`` (mmdmtl/engine/work_dir.py), which names the newest intact checkpoint;
- leftovers of killed saves (``.<name>.mmdmtl-<random>.tmp``, and only those) are
  removed before training;
- a ``save_best`` key the validation does not produce is an error listing the keys
  it does produce (MMEngine raises a bare ``KeyError`` of the key).
"""
from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook

from mmdmtl.registry import HOOKS
from mmdmtl.utils.atomic_write import remove_own_tmp_files
from ..checkpoint import ATOMIC_BACKEND_NAME, AtomicLocalBackend
from ..mmengine_compat import require_checkpoint_hook_internals


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """Save checkpoints atomically (see the module docstring).

    Accepts every argument of ``mmengine.hooks.CheckpointHook``. A user-given
    ``backend_args`` (e.g. a remote store) is kept, and then MMEngine's backend
    writes the checkpoints.
    """

    def _save_best_checkpoint(self, runner, metrics) -> None:
        if self.save_best and metrics:
            missing = [k for k in self.key_indicators
                       if k != 'auto' and k not in metrics]
            if missing:
                hint = (' (MultiTaskGain adds multi_task/delta_m only when it is '
                        'given reference= single-task numbers)'
                        if any('delta_m' in k for k in missing) else '')
                raise KeyError(
                    f'save_best {missing} is not among the validation metrics '
                    f'{sorted(metrics)}{hint}; set '
                    'default_hooks.checkpoint.save_best to one of them')
        super()._save_best_checkpoint(runner, metrics)

    def before_train(self, runner) -> None:
        # The overrides below are of MMEngine internals: fail if they are gone.
        require_checkpoint_hook_internals()
        # Decide the backend before the parent builds ``self.file_backend``; a
        # local output directory (no URI prefix) gets the atomic backend.
        out_dir = self.out_dir if self.out_dir is not None else runner.work_dir
        if self.backend_args is None and self.file_client_args is None \
                and '://' not in str(out_dir):
            self.backend_args = dict(backend=ATOMIC_BACKEND_NAME)
        super().before_train(runner)
        if is_main_process() and isinstance(self.file_backend, LocalBackend):
            removed = remove_own_tmp_files(str(self.out_dir))
            if removed:
                runner.logger.warning(
                    f'removed {len(removed)} temporary file(s) of interrupted '
                    f'checkpoint saves: {removed}')

    def _save_checkpoint_with_step(self, runner, step, meta):
        # MMEngine's bookkeeping unchanged; only the removal of the checkpoint
        # that falls out of ``max_keep_ckpts`` waits until the new one is saved.
        if isinstance(self.file_backend, AtomicLocalBackend):
            with self.file_backend.deferred_removals():
                super()._save_checkpoint_with_step(runner, step, meta)
        else:
            super()._save_checkpoint_with_step(runner, step, meta)
