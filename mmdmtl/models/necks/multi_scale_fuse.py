"""The official DiffusionMTL neck: every backbone stage resized to one stride, fused."""
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule

from mmdmtl.registry import MODELS


def fuse_conv(in_channels: int, out_channels: int, kernel_size: int, conv_cfg=None,
              norm_cfg=None, act_cfg=None) -> nn.Module:
    """A bare ``nn.Conv2d`` with bias when there is no norm, activation or custom
    conv (PyTorch's default init, as published), else an mmcv ``ConvModule``."""
    pad = kernel_size // 2
    if conv_cfg is None and norm_cfg is None and act_cfg is None:
        return nn.Conv2d(in_channels, out_channels, kernel_size, padding=pad)
    return ConvModule(in_channels, out_channels, kernel_size, padding=pad,
                      conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)


def resize_concat(inputs: Sequence[torch.Tensor],
                  size,
                  align_corners: bool = False) -> torch.Tensor:
    """Bilinearly resize every map to ``size`` and concatenate along channels."""
    return torch.cat([
        x if tuple(x.shape[-2:]) == tuple(size) else F.interpolate(
            x, size=size, mode='bilinear', align_corners=align_corners)
        for x in inputs
    ], dim=1)


@MODELS.register_module()
class MultiScaleFuseNeck(BaseModule):
    """Resize all selected stages to the size of one of them, concatenate, and fuse
    with one conv (published: stride 8, 64+128+256+512 = 960 -> 512 channels, a bare
    Conv3x3 with bias, no norm, no activation, PyTorch's default init).

    Args:
        in_channels (Sequence[int]): channels of the selected backbone outputs.
        out_channels (int): fused width. Default: 512.
        in_index (Sequence[int], optional): which backbone outputs to use; None = all.
        target_index (int): position (in the selected list) whose size is the output
            size. Default: 1 (stride 8 for a ResNet).
        kernel_size (int): fuse conv kernel. Default: 3.
        norm_cfg / act_cfg / conv_cfg: None / None (published) = a bare
            ``nn.Conv2d`` with bias (state-dict key ``fuse.weight``). Giving a norm
            and/or activation (e.g. ``norm_cfg=dict(type='BN'),
            act_cfg=dict(type='ReLU')``, the opt-in "BN'd neck") builds an mmcv
            ``ConvModule`` instead (kaiming init, ``fuse.conv.weight``).
        align_corners (bool): of the bilinear resize. Default: False.
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 out_channels: int = 512,
                 in_index: Optional[Sequence[int]] = None,
                 target_index: int = 1,
                 kernel_size: int = 3,
                 conv_cfg=None,
                 norm_cfg=None,
                 act_cfg=None,
                 align_corners: bool = False,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.in_channels = list(in_channels)
        self.in_index = list(range(len(self.in_channels))) if in_index is None \
            else list(in_index)
        if len(self.in_index) != len(self.in_channels):
            raise ValueError(f'MultiScaleFuseNeck: in_index {self.in_index} and '
                             f'in_channels {self.in_channels} differ in length')
        if not 0 <= target_index < len(self.in_channels):
            raise ValueError(f'MultiScaleFuseNeck: target_index={target_index} out '
                             f'of range for {len(self.in_channels)} inputs')
        self.target_index = target_index
        self.out_channels = out_channels
        self.align_corners = align_corners
        self.fuse = fuse_conv(sum(self.in_channels), out_channels, kernel_size,
                              conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        if max(self.in_index) >= len(inputs):
            raise ValueError(f'MultiScaleFuseNeck: in_index {self.in_index} but the '
                             f'backbone returned {len(inputs)} maps')
        xs = [inputs[i] for i in self.in_index]
        got = [x.shape[1] for x in xs]
        if got != self.in_channels:
            raise ValueError(f'MultiScaleFuseNeck: in_channels={self.in_channels} '
                             f'but the backbone maps have {got} channels')
        size = xs[self.target_index].shape[-2:]
        return self.fuse(resize_concat(xs, size, self.align_corners))
