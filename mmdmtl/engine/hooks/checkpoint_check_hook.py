"""``CheckpointCheckHook``: refuse a checkpoint that was made for another model.

``Runner.load_checkpoint`` (used by ``load_from`` and ``resume``) loads with
``strict=False`` and only logs MMEngine's key lists as a warning, so a checkpoint of
another model (other tasks, another backbone, other class counts) silently leaves the
model partly random. This hook compares the checkpoint with the model when it is loaded
(``after_load_checkpoint``, before the weights are copied) and raises
``CheckpointMismatchError`` with a report of missing, unexpected and shape-mismatched
keys, naming the file.

It also records the model's ordered ``{task: channels}`` as ``meta['tasks']`` in
every checkpoint it sees saved, and refuses a checkpoint whose recorded tasks are
the config's in another order (the per-task weights would load by position into
the wrong heads) or with other channels, naming both orders and the fix.
"""
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmdmtl.registry import HOOKS
from ..checkpoint import (check_checkpoint_fits, check_task_order,
                          model_task_channels)
from ..mmengine_compat import runner_is_resuming, runner_load_from


@HOOKS.register_module()
class CheckpointCheckHook(Hook):
    """Check that a loaded checkpoint fits the model.

    Args:
        strict_resume (bool): resuming requires an exact match (every key, every
            shape), since a resumed run must continue the same model. Default True.
        strict_load (bool): ``load_from`` requires an exact match too. Default False:
            missing/unexpected keys are logged as a warning (e.g. a checkpoint trained
            on fewer tasks), as long as ``min_matched_ratio`` of the model is filled.
        allow_shape_mismatch (bool): for ``load_from``, shape mismatches (e.g. another
            number of classes) are logged instead of raised. Default False.
        min_matched_ratio (float): below this fraction of the model's entries found in
            the checkpoint, ``load_from`` raises. Default 0.5.
    """
    priority = 'VERY_HIGH'

    def __init__(self,
                 strict_resume: bool = True,
                 strict_load: bool = False,
                 allow_shape_mismatch: bool = False,
                 min_matched_ratio: float = 0.5) -> None:
        if not 0.0 <= min_matched_ratio <= 1.0:
            raise ValueError('CheckpointCheckHook: min_matched_ratio must be in '
                             f'[0, 1], got {min_matched_ratio}')
        self.strict_resume = strict_resume
        self.strict_load = strict_load
        self.allow_shape_mismatch = allow_shape_mismatch
        self.min_matched_ratio = min_matched_ratio

    @staticmethod
    def _source(runner) -> Optional[str]:
        # The runner does not pass the file name to the hook; load_from is the file
        # both for ``load_from`` and for an explicit resume, and ``resume=True``
        # without load_from reads work_dir/last_checkpoint.
        src = runner_load_from(runner)
        if src is None and runner_is_resuming(runner):
            from mmengine.runner import find_latest_checkpoint
            src = find_latest_checkpoint(runner.work_dir)
        return src

    @staticmethod
    def _model(runner):
        return runner.model.module if is_model_wrapper(
            runner.model) else runner.model

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        tasks = model_task_channels(self._model(runner))
        if tasks is not None:
            checkpoint.setdefault('meta', {})['tasks'] = tasks

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        model = self._model(runner)
        check_task_order(model, checkpoint,
                         str(self._source(runner) or 'checkpoint'))
        resuming = runner_is_resuming(runner)
        strict = self.strict_resume if resuming else self.strict_load
        report = check_checkpoint_fits(
            model,
            checkpoint,
            source=str(self._source(runner) or 'checkpoint'),
            strict=strict,
            allow_shape_mismatch=self.allow_shape_mismatch and not strict,
            min_matched_ratio=self.min_matched_ratio)
        if not report.is_exact:
            runner.logger.warning(
                'loaded a checkpoint that does not match the model exactly; the '
                'entries below keep their initialisation:\n' +
                report.format(str(self._source(runner) or 'checkpoint')))
