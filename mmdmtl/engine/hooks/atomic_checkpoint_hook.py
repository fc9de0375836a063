"""``AtomicCheckpointHook``: MMEngine's ``CheckpointHook`` that never leaves a half file.

Differences from ``mmengine.hooks.CheckpointHook`` (everything else, including every
argument, is inherited unchanged):

- local checkpoints are written through ``AtomicLocalBackend`` (temporary file, fsync,
  atomic rename), so a save killed half-way leaves the previous files intact;
- ``last_checkpoint`` (what ``resume=True`` reads) is rewritten atomically and only
  after the new checkpoint is complete;
- with ``max_keep_ckpts``, the oldest checkpoint is removed *after* the new one is
  saved (MMEngine removes it first, so a killed save could leave no usable checkpoint);
- leftovers of killed saves (``.<name>.<random>.tmp``) are removed before training;
- a ``save_best`` key the validation does not produce is an error listing the keys
  it does produce (MMEngine raises a bare ``KeyError`` of the key).
"""
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook

from mmdmtl.registry import HOOKS
from ..checkpoint import (ATOMIC_BACKEND_NAME, atomic_write_text,
                          remove_stale_tmp_files)
from ..mmengine_compat import require_checkpoint_hook_internals


@HOOKS.register_module()
class AtomicCheckpointHook(CheckpointHook):
    """Save checkpoints atomically (see the module docstring).

    Accepts every argument of ``mmengine.hooks.CheckpointHook``. A user-given
    ``backend_args`` (e.g. a remote store) is kept and then only the local
    ``last_checkpoint`` pointer is written atomically.
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
            removed = remove_stale_tmp_files(str(self.out_dir))
            if removed:
                runner.logger.warning(
                    f'removed {len(removed)} temporary file(s) of interrupted '
                    f'checkpoint saves: {removed}')

    def _save_checkpoint_with_step(self, runner, step, meta):
        # Same bookkeeping as the parent, reordered: save, publish the pointer,
        # and only then delete the checkpoint that fell out of ``max_keep_ckpts``.
        to_remove = None
        if self.max_keep_ckpts > 0:
            if not (len(self.keep_ckpt_ids) > 0
                    and self.keep_ckpt_ids[-1] == step):
                if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                    to_remove = self.keep_ckpt_ids.popleft()
                self.keep_ckpt_ids.append(step)
                runner.message_hub.update_info('keep_ckpt_ids',
                                               list(self.keep_ckpt_ids))

        ckpt_filename = self.filename_tmpl.format(step)
        self.last_ckpt = self.file_backend.join_path(self.out_dir, ckpt_filename)
        runner.message_hub.update_info('last_ckpt', self.last_ckpt)

        runner.save_checkpoint(
            self.out_dir,
            ckpt_filename,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
            **self.args)

        if not is_main_process():
            return
        atomic_write_text(self.last_ckpt,
                          osp.join(runner.work_dir, 'last_checkpoint'))
        if to_remove is not None and to_remove != step:
            path = self.file_backend.join_path(
                self.out_dir, self.filename_tmpl.format(to_remove))
            if self.file_backend.isfile(path):
                self.file_backend.remove(path)
            elif self.file_backend.isdir(path):
                self.file_backend.rmtree(path)
