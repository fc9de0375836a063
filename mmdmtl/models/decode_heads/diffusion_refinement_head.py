"""DiffusionRefinementHead: DiffusionMTL's refinement as a stock mmseg decode head.

A thin adapter for ``mmseg``'s ``EncoderDecoder`` (one task, 'semseg'): it fuses the
backbone maps with a stem (the stride-8 fuse), predicts an initial map with
``InitialTaskHeads``, builds the condition with a conditioner and refines the initial
feature with a ``MultiTaskDenoiser`` (``return_features=True``); BaseDecodeHead's own
``conv_seg`` (with its dropout) turns the refined feature into logits and its
``loss_decode`` scores both the final and (weighted by ``init_loss_weight``) the
initial logits. The multi-task model uses ``MultiTaskDenoiser`` directly as its
``refine_head``.
"""
from typing import List, Optional

import torch
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead

# Registers MultiTaskConditioner, which the head builds from its config.
import mmdmtl.models.conditioners.multi_task_conditioner  # noqa: F401
from mmdmtl.models.decode_heads.initial_task_heads import InitialTaskHeads
from mmdmtl.models.diffusion.multi_task_denoiser import MultiTaskDenoiser
from mmdmtl.models.necks.multi_scale_fuse import resize_concat
from mmdmtl.models.utils import sample_seed_keys, scoped_type
from mmdmtl.registry import MODELS


@MODELS.register_module()
class DiffusionRefinementHead(BaseDecodeHead):
    """Diffusion refinement decode head for a stock mmseg segmentor.

    Args:
        in_channels (int | Sequence[int]): channels of the backbone maps picked by
            ``in_index`` (BaseDecodeHead semantics).
        channels (int): width of the stem, the initial head and the denoiser.
        num_classes (int): classes of the segmentation.
        denoiser (dict): ``MultiTaskDenoiser`` arguments (``scheduler``,
            ``num_inference_steps``, ``diffuse``, ``num_heads``, ...); its tasks,
            width and projection are set by this head.
        fuse_index (int): with ``input_transform='resize_concat'``, index (into
            ``in_index``) of the map whose size is the fuse size (1 = stride 8 for
            a ResNet, official). Default: 1.
        init_head (dict, optional): kwargs of ``InitialTaskHeads``.
        conditioner (dict, optional): config of the conditioner (None = condition
            on the stem feature).
        init_loss_weight (float): weight of the initial-prediction loss. Default:
            0.5.
        **kwargs: the rest of BaseDecodeHead's arguments (in_index,
            input_transform, align_corners, loss_decode, dropout_ratio, ...).
    """

    def __init__(self,
                 in_channels,
                 channels: int,
                 num_classes: int,
                 denoiser: Optional[dict] = None,
                 fuse_index: int = 1,
                 init_head: Optional[dict] = None,
                 conditioner: Optional[dict] = dict(
                     type='MultiTaskConditioner', source='prediction'),
                 init_loss_weight: float = 0.5,
                 dropout_ratio: float = 0.0,
                 norm_cfg=dict(type='BN'),
                 loss_decode=dict(
                     type='mmseg.CrossEntropyLoss',
                     use_sigmoid=False,
                     loss_weight=1.0),
                 init_cfg=None,
                 **kwargs):
        super().__init__(
            in_channels,
            channels,
            num_classes=num_classes,
            dropout_ratio=dropout_ratio,
            norm_cfg=norm_cfg,
            loss_decode=loss_decode,
            init_cfg=init_cfg,
            **kwargs)
        tasks = dict(semseg=int(num_classes))
        self.init_loss_weight = init_loss_weight
        self.denoiser = MultiTaskDenoiser(
            tasks=tasks, channels=channels, return_features=True,
            **(denoiser or {}))
        if self.input_transform == 'resize_concat' and not \
                0 <= fuse_index < len(self.in_index):
            raise ValueError(f'fuse_index={fuse_index} out of range for '
                             f'in_index={self.in_index}')
        self.fuse_index = fuse_index
        self.stem = ConvModule(
            self.in_channels,
            channels,
            3,
            padding=1,
            conv_cfg=self.conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=self.act_cfg)
        self.init_heads = InitialTaskHeads(
            tasks, channels, channels, norm_cfg=norm_cfg, **(init_head or {}))
        self.conditioner = None
        if conditioner is not None:
            cfg = scoped_type(conditioner)
            cfg.setdefault('tasks', tasks)
            cfg.setdefault('channels', channels)
            cfg.setdefault('feature_channels', channels)
            self.conditioner = MODELS.build(cfg)

    def _transform_inputs(self, inputs):
        if self.input_transform == 'resize_concat':
            xs = [inputs[i] for i in self.in_index]
            return resize_concat(xs, xs[self.fuse_index].shape[-2:],
                                 self.align_corners)
        return super()._transform_inputs(inputs)

    def _final_and_initial(self, inputs, batch_img_metas=None):
        """Backbone maps -> (final logits, initial logits) at the fuse stride."""
        x = self._transform_inputs(inputs)
        if x.shape[1] != self.stem.conv.in_channels:
            self._raise_in_channels(inputs, x)
        x = self.stem(x)
        feats, preds = self.init_heads(x)
        cond = self.conditioner(feats, preds) if self.conditioner is not None \
            else x
        keys = sample_seed_keys(batch_img_metas) if batch_img_metas else None
        refined = self.denoiser.refine(feats, preds, cond, sample_keys=keys)
        return self.cls_seg(refined['semseg'][0]), preds['semseg']

    def _raise_in_channels(self, inputs, x) -> None:
        """The backbone maps do not have ``in_channels``: name the numbers and
        the fix instead of the stem conv's shape error."""
        index = self.in_index if isinstance(self.in_index, (list, tuple)) \
            else [self.in_index]
        got = [int(inputs[i].shape[1]) for i in index]
        fix = got if self.input_transform == 'resize_concat' else got[0]
        raise ValueError(
            f'{type(self).__name__}: in_channels={self.in_channels} but the '
            f'backbone map(s) at in_index={self.in_index} have {got} channels '
            f'({int(x.shape[1])} after {self.input_transform or "selection"}); '
            f'set decode_head.in_channels={fix}')

    def forward(self, inputs, batch_img_metas: Optional[List[dict]] = None):
        """Backbone maps -> final logits at the fuse stride."""
        return self._final_and_initial(inputs, batch_img_metas)[0]

    def loss(self, inputs, batch_data_samples, train_cfg) -> dict:
        metas = [s.metainfo for s in batch_data_samples]
        final, initial = self._final_and_initial(inputs, metas)
        losses = self.loss_by_feat(final, batch_data_samples)
        for k, v in self.loss_by_feat(initial, batch_data_samples).items():
            if 'loss' in k:
                losses[f'init_{k}'] = v * self.init_loss_weight
        return losses

    def predict(self, inputs, batch_img_metas: List[dict], test_cfg) -> torch.Tensor:
        seg_logits = self.forward(inputs, batch_img_metas)
        return self.predict_by_feat(seg_logits, batch_img_metas)
