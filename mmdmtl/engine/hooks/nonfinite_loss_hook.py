"""``NonFiniteLossHook``: stop training at the first NaN/inf loss, naming the task.

A non-finite loss back-propagates NaN into every weight it touches, and training then
goes on silently with a NaN model (and saves it). This hook checks the loss terms after
the forward pass and *before* the backward pass and the optimizer step: the model's
``parse_losses`` (called by ``train_step`` of MMEngine's ``BaseModel`` and of its DDP
wrapper) is wrapped so that a non-finite term raises ``FloatingPointError`` naming the
iteration, the loss key, its task (the key's prefix: ``'semseg.loss_final'`` ->
``semseg``) and the images of the batch. The weights therefore stay finite, and no
checkpoint of a NaN model is written.

Under DDP the decision is all-reduced, so every rank stops at the same iteration instead
of the healthy ranks waiting forever in the gradient all-reduce.
"""
import math
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.dist import all_gather_object, all_reduce, get_world_size
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmdmtl.registry import HOOKS


def _task_of(key: str) -> Optional[str]:
    return key.split('.', 1)[0] if '.' in key else None


def find_nonfinite(log_vars: Dict[str, object]) -> List[str]:
    """``'key=value'`` for every loss term (keys containing ``'loss'``) that is NaN/inf.

    The total ``'loss'`` is reported only when no term explains it.
    """
    terms = [k for k in log_vars if 'loss' in k and k != 'loss'] or \
        [k for k in log_vars if k == 'loss']
    tensors = [k for k in terms if isinstance(log_vars[k], torch.Tensor)]
    bad = []
    if tensors:
        # One stacked check: a single device->host sync per iteration.
        values = torch.stack(
            [log_vars[k].detach().float().mean() for k in tensors])
        finite = torch.isfinite(values).cpu().tolist()
        vals = values.cpu().tolist()
        bad += [f'{k}={v}' for k, v, ok in zip(tensors, vals, finite) if not ok]
    for k in terms:
        if k not in tensors:
            v = float(log_vars[k])
            if not math.isfinite(v):
                bad.append(f'{k}={v}')
    if not bad and 'loss' in log_vars and terms != ['loss']:
        total = log_vars['loss']
        v = float(total.detach().float().mean()) if isinstance(
            total, torch.Tensor) else float(total)
        if not math.isfinite(v):
            bad.append(f'loss={v}')
    return bad


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Raise ``FloatingPointError`` at the first non-finite loss (see module doc).

    Args:
        max_images (int): how many image paths of the offending batch to name.
    """
    priority = 'ABOVE_NORMAL'

    def __init__(self, max_images: int = 8) -> None:
        self.max_images = max_images
        self._runner = None
        self._data_batch = None
        self._checked_iter = -1

    # -- wiring --------------------------------------------------------------
    def before_train(self, runner) -> None:
        self._runner = runner
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        original = model.parse_losses
        if getattr(original, '_mmdmtl_nonfinite_checked', False):
            return
        hook = self

        def parse_losses(losses):
            loss, log_vars = original(losses)
            hook._check(log_vars, before_step=True)
            return loss, log_vars

        parse_losses._mmdmtl_nonfinite_checked = True
        # An instance attribute shadows the class method for this model only.
        model.parse_losses = parse_losses

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        self._data_batch = data_batch

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        # Fallback for models whose train_step does not call parse_losses: the step
        # has happened, but stopping here still keeps the NaN model out of the
        # checkpoints (this hook runs before CheckpointHook).
        if self._checked_iter != runner.iter and isinstance(outputs, dict):
            self._check(outputs, before_step=False)
        self._data_batch = None

    # -- the check -----------------------------------------------------------
    def _image_names(self) -> List[str]:
        batch = self._data_batch
        samples: Sequence = ()
        if isinstance(batch, dict):
            samples = batch.get('data_samples') or ()
        names = []
        for s in list(samples)[:self.max_images]:
            meta = getattr(s, 'metainfo', {}) or {}
            names.append(str(meta.get('img_path', meta.get('img_id', '?'))))
        return names

    def _check(self, log_vars: dict, before_step: bool) -> None:
        runner = self._runner
        it = runner.iter if runner is not None else -1
        self._checked_iter = it
        bad = find_nonfinite(log_vars)
        world_size = get_world_size()
        if world_size > 1:
            # Every rank must take the same decision, or the healthy ones would
            # block in the next collective.
            flag = torch.tensor([1 if bad else 0], dtype=torch.int64)
            all_reduce(flag, op='max')
            if int(flag.item()) == 0:
                return
            reports = all_gather_object((bad, self._image_names()))
        else:
            if not bad:
                return
            reports = [(bad, self._image_names())]
        parts = []
        for rank, (rank_bad, images) in enumerate(reports):
            if not rank_bad:
                continue
            tasks = sorted({t for t in (_task_of(b.split('=')[0]) for b in rank_bad)
                            if t is not None})
            where = f'rank {rank}: ' if world_size > 1 else ''
            parts.append(f'{where}task(s) {tasks or ["<none named>"]}: '
                         f'{", ".join(rank_bad)}; batch images {images}')
        when = ('before the optimizer step (weights are unchanged)'
                if before_step else 'after the optimizer step')
        raise FloatingPointError(
            f'non-finite loss at training iteration {it + 1} (0-based {it}), '
            f'detected {when}: ' + ' | '.join(parts) +
            '. Check these images/labels, lower the learning rate or enable '
            'gradient clipping.')
