"""MultiTaskEncoderDecoder: backbone -> neck -> initial task heads -> (MTC ->
diffusion refinement) for multi-task dense prediction from partial labels."""
from typing import Dict, List, Mapping, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.structures import PixelData

from mmdmtl.models.losses import default_task_loss, partial_label_weights
from mmdmtl.models.utils import (check_task_channels, sample_seed_keys,
                                 scoped_type, zero_touch)
from mmdmtl.registry import MODELS
from mmdmtl.structures import (TASKS, MultiTaskDataSample, check_task_names,
                               get_task, labeled_task_mask, stack_task_targets)

# Per-task loss weights lambda_t (``TaskSpec.loss_weight``: the official recipe).
DEFAULT_LOSS_WEIGHTS = {task: spec.loss_weight for task, spec in TASKS.items()}


def check_class_labels(task: str, target: torch.Tensor, num_classes: int,
                       data_samples) -> None:
    """A class label outside [0, num_classes) (other than ignore) names the
    task, the value and the fix (torch says only "Target 8 is out of bounds",
    and on a GPU a device-side assert)."""
    ignore = get_task(task).ignore_index
    bad = (target != ignore) & ((target < 0) | (target >= num_classes))
    if bool(bad.any()):
        value = int(target[bad].max())
        row = int(bad.flatten(1).any(1).nonzero()[0])
        path = data_samples[row].metainfo.get('img_path', f'batch item {row}') \
            if row < len(data_samples) else f'batch item {row}'
        raise ValueError(
            f'task {task!r}: label value {value} in {path} is outside the '
            f'{num_classes} classes the model predicts (model.tasks.{task} = '
            f'{num_classes}; ignore value {ignore}): set model.tasks.{task} to '
            "the dataset's number of classes, or fix the labels")


@MODELS.register_module()
class MultiTaskEncoderDecoder(BaseModel):
    """Multi-task encoder-decoder of DiffusionMTL.

    The same class covers every model of the paper by config:

    ================================  =============================================
    DiffusionMTL (feature/prediction)  conditioner + refine_head(diffuse=...)
    MTL baseline                       conditioner=None, refine_head=None
    w/o conditioning (MTC)             conditioner=None (the condition is the
                                       neck feature: image only, no task outputs)
    w/o diffusion                      refine_head=dict(..., use_noise=False)
    single-task model                  tasks=dict(<one task>=C), any of the above
    ================================  =============================================

    Args:
        tasks (dict): task -> output channels, ordered (e.g. ``dict(semseg=21,
            human_parts=7, sal=2, normals=3, edge=1)``). Handed to the heads.
        backbone (dict): any mmseg/mmpretrain backbone returning a tuple of maps
            (``'mmseg.ResNetV1c'``, ``'mmpretrain.ResNet'``, ...).
        neck (dict): e.g. ``MultiScaleFuseNeck``; its output feeds the heads.
        channels (int): width used as the default of every sub-module (neck out,
            heads, conditioner, denoiser). 512 official; e.g. 128 for demos.
        init_heads (dict): ``InitialTaskHeads`` config.
        conditioner (dict, optional): ``MultiTaskConditioner`` config.
        refine_head (dict, optional): ``MultiTaskDenoiser`` config.
        losses (dict, optional): task -> loss config overriding the published
            default of that task (see ``default_task_loss``).
        loss_weights (dict, optional): task -> lambda_t (defaults: published);
            entries of tasks the model does not predict are ignored.
        init_loss_weight (float): weight of the initial-prediction loss when a
            refine head exists. Default: 0.5.
        align_corners (bool): of the bilinear upsampling to the input size.
        keep_logits (bool): predict() also stores ``logits_<task>`` PixelData.
        data_preprocessor (dict): e.g. ``MultiTaskDataPreProcessor``.
        test_cfg (dict, optional): ``output='final'`` (default: the refined chain)
            or ``output='initial'`` (the initial heads' predictions P_t, so any run
            can report what the refinement adds per task; e.g.
            ``--cfg-options model.test_cfg.output=initial``). mmseg's
            ``mode='whole'`` is accepted (whole-image inference is the only mode).
        train_cfg (dict, optional): accepted for mmseg-style configs; the model
            has no training options, so it must be empty.
    """

    def __init__(self,
                 tasks: Mapping[str, int],
                 backbone: dict,
                 neck: dict,
                 channels: int = 512,
                 init_heads: dict = dict(type='InitialTaskHeads'),
                 conditioner: Optional[dict] = None,
                 refine_head: Optional[dict] = None,
                 losses: Optional[Mapping[str, dict]] = None,
                 loss_weights: Optional[Mapping[str, float]] = None,
                 init_loss_weight: float = 0.5,
                 align_corners: bool = False,
                 keep_logits: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.tasks = check_task_channels(tasks, 'MultiTaskEncoderDecoder')
        self.task_names = tuple(self.tasks)
        self.channels = channels
        self.align_corners = align_corners
        self.keep_logits = keep_logits
        self.init_loss_weight = init_loss_weight
        if train_cfg:
            raise ValueError(f'MultiTaskEncoderDecoder: model.train_cfg={train_cfg} '
                             'has no effect (the model has no training options); '
                             'remove it')
        test_cfg = dict(test_cfg or {})
        unknown = sorted(set(test_cfg) - {'output', 'mode'})
        if unknown or test_cfg.get('mode', 'whole') != 'whole':
            raise ValueError(f'MultiTaskEncoderDecoder: model.test_cfg={test_cfg}: '
                             "only output='final'|'initial' (and mmseg's "
                             "mode='whole') are understood; whole-image inference "
                             'is the only mode')
        self.test_cfg = test_cfg
        self.test_output = test_cfg.get('output', 'final')
        if self.test_output not in ('final', 'initial'):
            raise ValueError("MultiTaskEncoderDecoder: test_cfg.output must be 'final' "
                             f"or 'initial', got {self.test_output!r}")

        self.backbone = MODELS.build(backbone)
        neck = dict(neck)
        neck.setdefault('out_channels', channels)
        self.neck = MODELS.build(neck)
        heads = scoped_type(init_heads)
        heads.setdefault('tasks', self.tasks)
        heads.setdefault('in_channels', channels)
        heads.setdefault('channels', channels)
        self.init_heads = MODELS.build(heads)
        self.conditioner = None
        if conditioner is not None:
            cfg = scoped_type(conditioner)
            cfg.setdefault('tasks', self.tasks)
            cfg.setdefault('channels', channels)
            cfg.setdefault('feature_channels', channels)
            self.conditioner = MODELS.build(cfg)
        self.refine_head = None
        if refine_head is not None:
            cfg = scoped_type(refine_head)
            cfg.setdefault('tasks', self.tasks)
            cfg.setdefault('channels', channels)
            if cfg.get('tasks') is None or dict(cfg['tasks']) != self.tasks:
                raise ValueError('MultiTaskEncoderDecoder: refine_head.tasks '
                                 f'{cfg.get("tasks")} differs from tasks {self.tasks}')
            self.refine_head = MODELS.build(cfg)

        losses = dict(losses or {})
        unknown = sorted(set(losses) - set(self.tasks))
        if unknown:
            raise ValueError(f'MultiTaskEncoderDecoder: losses given for task(s) '
                             f'{unknown} that are not in tasks {list(self.tasks)}')
        self.task_losses = nn.ModuleDict({
            t: MODELS.build(scoped_type(losses.get(t) or default_task_loss(t, c)))
            for t, c in self.tasks.items()
        })
        # Weights of tasks the model does not have are allowed (one base config
        # serves every dataset) but names must be real tasks.
        weights = dict(DEFAULT_LOSS_WEIGHTS)
        check_task_names(tuple(loss_weights or {}),
                         where='MultiTaskEncoderDecoder(loss_weights=...)')
        weights.update(loss_weights or {})
        self.loss_weights = {t: float(weights[t]) for t in self.tasks}
        bad = {t: w for t, w in self.loss_weights.items()
               if not w >= 0 or w == float('inf')}
        if bad or not 0 <= float(init_loss_weight) < float('inf'):
            raise ValueError(
                'MultiTaskEncoderDecoder: loss weights must be finite and >= 0 (a '
                'negative weight maximises its task), got model.loss_weights '
                f'{bad or "ok"}, model.init_loss_weight={init_loss_weight}')

    # ---------------------------------------------------------------- forward
    def extract_feat(self, inputs: torch.Tensor) -> torch.Tensor:
        """Images -> the fused neck feature [B, channels, H/8, W/8]."""
        return self.neck(self.backbone(inputs))

    def _heads(self, inputs):
        x = self.extract_feat(inputs)
        feats, preds = self.init_heads(x)
        cond = self.conditioner(feats, preds) if self.conditioner is not None \
            else x
        return feats, preds, cond

    def _upsample(self, x: torch.Tensor, size) -> torch.Tensor:
        if tuple(x.shape[-2:]) == tuple(size):
            return x
        return F.interpolate(
            x, size=size, mode='bilinear', align_corners=self.align_corners)

    def forward(self, inputs: torch.Tensor, data_samples=None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self._forward(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}": expected loss, predict or tensor')

    def _predict_logits(self, inputs, data_samples=None) -> Dict[str, torch.Tensor]:
        """Logits of every task for every image, at the input size."""
        size = inputs.shape[-2:]
        if self.refine_head is None or self.test_output == 'initial':
            feats, preds = self.init_heads(self.extract_feat(inputs))
            return {t: self._upsample(preds[t], size) for t in self.task_names}
        feats, preds, cond = self._heads(inputs)
        keys = sample_seed_keys([s.metainfo for s in data_samples]) \
            if data_samples is not None else None
        refined = self.refine_head.refine(feats, preds, cond, sample_keys=keys)
        return {t: self._upsample(refined[t][0], size) for t in self.task_names}

    def _forward(self, inputs, data_samples=None) -> Dict[str, torch.Tensor]:
        return self._predict_logits(inputs, data_samples)

    # ------------------------------------------------------------------ loss
    def loss(self, inputs: torch.Tensor, data_samples: List) -> Dict[str, torch.Tensor]:
        """Partial-label losses of a batch.

        Returns ``<task>.loss_final`` and ``<task>.loss_init`` per task (or
        ``<task>.loss`` without a refine head) and ``<task>.num_labeled`` (log
        only). Their sum is
        ``mean_b sum_t w_bt lambda_t (L_t(final) + init_loss_weight L_t(initial))``
        with ``w_bt = T / #labelled tasks of b`` for labelled pairs, else 0.
        """
        if data_samples is None or len(data_samples) != inputs.shape[0]:
            raise ValueError('MultiTaskEncoderDecoder.loss needs one data sample per '
                             'image')
        device = inputs.device
        B = inputs.shape[0]
        labeled = labeled_task_mask(data_samples, self.task_names, device=device)
        weights = partial_label_weights(labeled)
        feats, preds, cond = self._heads(inputs)
        refined = {}
        if self.refine_head is not None:
            refined = self.refine_head.refine(feats, preds, cond, labeled=labeled)

        losses = {}
        for ti, task in enumerate(self.task_names):
            target, _ = stack_task_targets(data_samples, task, device=device)
            if get_task(task).kind == 'class':
                check_class_labels(task, target, self.tasks[task], data_samples)
            size = target.shape[-2:]
            lam = self.loss_weights[task]
            loss_fn = self.task_losses[task]
            init_w = self.init_loss_weight if self.refine_head is not None else 1.0
            key = f'{task}.loss_init' if self.refine_head is not None \
                else f'{task}.loss'
            # Only labelled images enter the loss: the others weigh 0, and every
            # loss is per sample, so this is the same value and gradient without
            # upsampling and scoring maps that do not count.
            rows = labeled[:, ti].nonzero().squeeze(1)
            if rows.numel():
                li = loss_fn(self._upsample(preds[task].index_select(0, rows), size),
                             target.index_select(0, rows))
                losses[key] = (li * weights.index_select(0, rows)[:, ti]).sum() * (
                    lam * init_w / B)
            else:
                # A zero that touches the head's parameters (DDP) without a
                # backward pass through its blocks, whose gradient would be 0.
                losses[key] = self.init_heads.zero_touch([task])
            if self.refine_head is not None:
                if task in refined:
                    logits, idx = refined[task]
                    lf = loss_fn(self._upsample(logits, size),
                                 target.index_select(0, idx))
                    losses[f'{task}.loss_final'] = (
                        lf * weights.index_select(0, idx)[:, ti]).sum() * (lam / B)
                else:
                    # No label for this task in the batch: a zero loss that still
                    # touches its parameters (DDP needs every parameter used).
                    losses[f'{task}.loss_final'] = self.refine_head.zero_touch(
                        [task])
            losses[f'{task}.num_labeled'] = labeled[:, ti].sum().float()
        if self.refine_head is not None and not refined:
            # No pair at all: keep the shared denoiser and conditioner in the graph.
            touch = zero_touch([self.refine_head, self.conditioner])
            if touch is not None:
                first = f'{self.task_names[0]}.loss_final'
                losses[first] = losses[first] + touch
        return losses

    # --------------------------------------------------------------- predict
    def predict(self, inputs: torch.Tensor, data_samples: Optional[List] = None):
        """Fill ``pred_*`` of every task on every sample (cropped to ``img_shape``,
        resized to ``ori_shape``) and return the samples."""
        if data_samples is None:
            H, W = inputs.shape[-2:]
            data_samples = [
                MultiTaskDataSample(
                    metainfo=dict(img_shape=(H, W), ori_shape=(H, W)))
                for _ in range(inputs.shape[0])
            ]
        logits = self._predict_logits(inputs, data_samples)
        return self.postprocess_result(logits, data_samples)

    def postprocess_result(self, logits: Dict[str, torch.Tensor],
                           data_samples: List) -> List:
        H, W = next(iter(logits.values())).shape[-2:]
        for i, sample in enumerate(data_samples):
            meta = sample.metainfo
            if 'padding_size' in meta:
                left, right, top, bottom = meta['padding_size']
            else:
                h, w = meta.get('img_shape', (H, W))[:2]
                left, right, top, bottom = 0, W - w, 0, H - h
            ori = tuple(meta.get('ori_shape', (H - top - bottom,
                                               W - left - right))[:2])
            for task in self.task_names:
                x = logits[task][i:i + 1, :, top:H - bottom, left:W - right]
                x = self._upsample(x, ori)[0]
                if self.keep_logits:
                    sample.set_field(PixelData(data=x), f'logits_{task}')
                setattr(sample, get_task(task).pred_field,
                        PixelData(data=self.logits_to_prediction(task, x)))
        return data_samples

    @staticmethod
    def logits_to_prediction(task: str, x: torch.Tensor) -> torch.Tensor:
        """[C, H, W] logits -> the prediction format of ``task`` (see structures)."""
        kind = get_task(task).kind
        if kind == 'class':
            return x.argmax(0, keepdim=True)
        if kind == 'binary':
            if x.shape[0] == 2:
                return x.softmax(0)[1:2]
            return x.sigmoid()
        if kind == 'normals':
            return F.normalize(x, p=2, dim=0)
        return x
