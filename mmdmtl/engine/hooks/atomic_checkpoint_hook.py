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
  --resume`` (mmdmtl/engine/resume.py), which names the newest intact checkpoint;
- leftovers of killed saves (``.<name>.mmdmtl-<random>.tmp``, and only those) are
  removed before training;
- ``save_best`` may also come from the top-level config key ``best_checkpoint =
  dict(save_best='multi_task/delta_m', rule='greater')``, which the dataset configs
  set (a dataset config cannot set ``default_hooks``: the schedule config does, and
  MMEngine refuses a key defined by two bases). ``default_hooks.checkpoint.save_best``
  wins when both are given. A ``default_hooks.checkpoint.save_best`` key the
  validation does not produce is an error listing the keys it does produce; one from
  ``best_checkpoint`` (a dataset default, e.g. semseg/mIoU in a depth-only baseline)
  is a warning and no best checkpoint.
"""
from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook

from mmdmtl.registry import HOOKS
from mmdmtl.utils.atomic_write import remove_own_tmp_files
from ..checkpoint import ATOMIC_BACKEND_NAME, AtomicLocalBackend
from ..mmengine_compat import (init_save_best_rule,
                               require_checkpoint_hook_internals)


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """Save checkpoints atomically (see the module docstring).

    Accepts every argument of ``mmengine.hooks.CheckpointHook``. A user-given
    ``backend_args`` (e.g. a remote store) is kept and then only the local
    ``last_checkpoint`` pointer is written atomically.
    """

    def _adopt_best_checkpoint_cfg(self, runner) -> None:
        cfg = getattr(runner, 'cfg', None)
        best = cfg.get('best_checkpoint', None) if cfg is not None else None
        if not best or self.save_best is not None:
            return
        keys = best.get('save_best')
        if not keys:
            return
        keys = [keys] if isinstance(keys, str) else list(keys)
        rule = best.get('rule')
        rules = list(rule) if isinstance(rule, (list, tuple)) else [rule]
        self.save_best = keys
        self._best_from_cfg = True
        self.is_better_than = dict()
        init_save_best_rule(self, rules, self.save_best)
        if len(self.key_indicators) == 1:
            self.best_ckpt_path = None
        else:
            self.best_ckpt_path_dict = dict()
        runner.logger.info(f'best checkpoint by {keys} (rule {rules}), from the '
                           'config key best_checkpoint')

    def _save_best_checkpoint(self, runner, metrics) -> None:
        if self.save_best and metrics:
            missing = [k for k in self.key_indicators
                       if k != 'auto' and k not in metrics]
            if missing and getattr(self, '_best_from_cfg', False):
                # the dataset config's default (e.g. a single-task baseline
                # without semseg): no best checkpoint, said once
                if not getattr(self, '_warned_missing', False):
                    self._warned_missing = True
                    runner.logger.warning(
                        f'best_checkpoint: {missing} is not among the validation '
                        f'metrics {sorted(metrics)}; no best checkpoint is kept '
                        '(set best_checkpoint.save_best to one of them)')
                return
            if missing:
                hint = (' (MultiTaskGain adds multi_task/delta_m only when it is '
                        'given reference= single-task numbers)'
                        if any('delta_m' in k for k in missing) else '')
                raise KeyError(
                    f'save_best {missing} is not among the validation metrics '
                    f'{sorted(metrics)}{hint}; set best_checkpoint.save_best / '
                    'default_hooks.checkpoint.save_best to one of them')
        super()._save_best_checkpoint(runner, metrics)

    def before_train(self, runner) -> None:
        # The overrides below are of MMEngine internals: fail if they are gone.
        require_checkpoint_hook_internals()
        self._adopt_best_checkpoint_cfg(runner)
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
