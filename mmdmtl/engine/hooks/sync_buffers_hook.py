"""``SyncBuffersHook`` for iteration-based training: every rank holds the same
BatchNorm statistics whenever something reads them."""
from mmengine.dist import all_reduce_params
from mmengine.hooks import CheckpointHook
from mmengine.hooks import SyncBuffersHook as MMEngineSyncBuffersHook

from mmdmtl.registry import HOOKS


@HOOKS.register_module()
class SyncBuffersHook(MMEngineSyncBuffersHook):
    """MMEngine's ``SyncBuffersHook`` (buffers averaged over the ranks before each
    validation and at the end of each epoch) that also averages them after every
    training iteration at which a ``CheckpointHook`` saves.

    Without it each rank of a distributed run keeps its own BatchNorm running
    statistics (DDP does not broadcast them, ``broadcast_buffers=False``); the
    checkpoint then holds rank 0's while validation mixes all ranks', and
    ``tools/test.py`` on the saved file does not reproduce the validation numbers
    that chose it. ``tools/train.py`` adds this hook to every distributed run; in a
    single process it does nothing.

    The iteration-end sync runs before the checkpoint hooks (priority
    ``ABOVE_NORMAL``; checkpoint hooks are ``VERY_LOW``), so the saved buffers are
    the averaged ones that the following validation uses too.
    """
    priority = 'ABOVE_NORMAL'

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        if self.distributed and self._checkpoint_due(runner):
            all_reduce_params(runner.model.buffers(), op='mean')

    def _checkpoint_due(self, runner) -> bool:
        """Whether a checkpoint hook saves at the end of this iteration (the
        condition of ``CheckpointHook.after_train_iter``)."""
        for hook in runner.hooks:
            if not isinstance(hook, CheckpointHook) or hook.by_epoch:
                continue
            if hook.every_n_train_iters(runner, hook.interval, hook.save_begin) or (
                    hook.save_last and hook.is_last_train_iter(runner)):
                return True
        return False
