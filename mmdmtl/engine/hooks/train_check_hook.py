"""``TrainCheckHook``: the dataset, the model and the config agree before the first
iteration (docs/failure_modes.md, "Training")."""
from typing import Optional, Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmdmtl.registry import HOOKS
from mmdmtl.structures import check_task_names
from mmdmtl.utils.config_checks import (ConfigCheckError, batch_exceeds_dataset,
                                        check_classes_agree, check_tasks_agree)


def _norm_layers(model):
    from torch.nn.modules.batchnorm import _BatchNorm
    return [(n, m) for n, m in model.named_modules() if isinstance(m, _BatchNorm)]


@HOOKS.register_module()
class TrainCheckHook(Hook):
    """Refuse a training run that would train silently wrong.

    At ``before_train`` (after the model and the data loader are built, before the
    first iteration):

    * every task of ``model.tasks`` is labelled on at least one image of the
      training split, unless it is listed in ``zero_shot_tasks`` (hook argument,
      else the top-level config key ``zero_shot_tasks``);
    * every task the training split labels has a head in the model;
    * each class task's output channels equal the dataset's number of classes
      (also checked for the val/test datasets before validating/testing);
    * a batch larger than the training split is a warning (batches repeat images).

    During training every BatchNorm layer in training mode checks that it sees more than one value per channel; batch size 1 on inputs
    so small that a feature map is 1x1 raises naming the layer, the input size and
    the config keys to change (torch's own message names none of them).

    Args:
        zero_shot_tasks (Sequence[str], optional): tasks the model predicts that
            the training split deliberately does not label.
    """
    priority = 'VERY_HIGH'

    def __init__(self, zero_shot_tasks: Optional[Sequence[str]] = None) -> None:
        self.zero_shot_tasks = (tuple(zero_shot_tasks)
                                if zero_shot_tasks is not None else None)
        self._handles = []

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        zero_shot = self.zero_shot_tasks
        if zero_shot is None:
            zero_shot = tuple(runner.cfg.get('zero_shot_tasks', None) or ())
        check_task_names(zero_shot, where='zero_shot_tasks')
        tasks = getattr(model, 'task_names', None) or tuple(
            getattr(model, 'tasks', None) or ())
        loader = runner.train_dataloader
        if tasks and loader is not None:
            check_tasks_agree(tuple(tasks), loader.dataset, zero_shot)
        if loader is not None:
            self._check_classes(model, loader, 'train_dataloader')
            from mmengine.dist import get_world_size
            too_big = batch_exceeds_dataset(loader, get_world_size())
            if too_big:
                runner.logger.warning(too_big)
        self._guard_batch_norm(model)

    @staticmethod
    def _check_classes(model, loader, key: str) -> None:
        tasks = getattr(model, 'tasks', None)
        if isinstance(tasks, dict) and loader is not None:
            check_classes_agree(tasks, loader.dataset, key)

    def before_val(self, runner) -> None:
        loop = getattr(runner, 'val_loop', None)
        self._check_classes(
            runner.model.module if is_model_wrapper(runner.model) else
            runner.model, getattr(loop, 'dataloader', None), 'val_dataloader')

    def before_test(self, runner) -> None:
        loop = getattr(runner, 'test_loop', None)
        self._check_classes(
            runner.model.module if is_model_wrapper(runner.model) else
            runner.model, getattr(loop, 'dataloader', None), 'test_dataloader')

    # ------------------------------------------------ batch-1 BatchNorm guard
    def _guard_batch_norm(self, model) -> None:
        for name, module in _norm_layers(model):
            self._handles.append(module.register_forward_pre_hook(
                self._make_check(name)))

    @staticmethod
    def _make_check(name: str):

        def check(module, inputs):
            if not module.training or not inputs:
                return
            x = inputs[0]
            if not hasattr(x, 'shape') or x.dim() < 2:
                return
            per_channel = x.numel() // max(int(x.shape[1]), 1)
            if per_channel <= 1:
                raise ConfigCheckError(
                    f'BatchNorm layer {name!r} gets {per_channel} value per '
                    f'channel (input {list(x.shape)}): batch-norm statistics need '
                    'at least 2. With batch size 1 the feature maps this small '
                    'have one pixel: raise train_dataloader.batch_size to >= 2, '
                    'train on larger crops (crop_size of the train pipeline), or freeze/'
                    'replace the norm layers (norm_eval=True or GroupNorm in '
                    'model.*.norm_cfg)')

        return check

    def _remove_guard(self) -> None:
        # (a forward pre-hook per norm layer: microseconds per iteration)
        for h in self._handles:
            h.remove()
        self._handles = []

    def after_train(self, runner) -> None:
        self._remove_guard()
