"""Per-task initial heads: two ResNet BasicBlocks -> feature F_t, Conv1x1 -> P_t."""
from typing import Dict, Mapping, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from mmseg.models.backbones.resnet import BasicBlock

from mmdmtl.registry import MODELS
from mmdmtl.models.utils import check_task_channels, zero_touch


@MODELS.register_module()
class InitialTaskHeads(BaseModule):
    """One small head per task, run on the shared neck feature.

    Args:
        tasks (dict): task -> output channels (ordered).
        in_channels (int): neck width. Default: 512.
        channels (int): head width (F_t channels). Default: 512.
        num_blocks (int): BasicBlocks per task. Default: 2.
        norm_cfg (dict): norm of the blocks. Default: BN.
    """

    def __init__(self,
                 tasks: Mapping[str, int],
                 in_channels: int = 512,
                 channels: int = 512,
                 num_blocks: int = 2,
                 norm_cfg=dict(type='BN'),
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.tasks = check_task_channels(tasks, 'InitialTaskHeads')
        self.channels = channels
        self.blocks = nn.ModuleDict()
        self.preds = nn.ModuleDict()
        for task, out_ch in self.tasks.items():
            layers = []
            for i in range(num_blocks):
                inp = in_channels if i == 0 else channels
                down = None
                if inp != channels:
                    down = nn.Sequential(
                        nn.Conv2d(inp, channels, 1, bias=False),
                        build_norm_layer(norm_cfg, channels)[1])
                layers.append(
                    BasicBlock(inp, channels, downsample=down, norm_cfg=norm_cfg))
            self.blocks[task] = nn.Sequential(*layers)
            self.preds[task] = nn.Conv2d(channels, out_ch, 1)

    def forward(
        self, x: torch.Tensor
    ) -> Tuple[Dict[str, torch.Tensor], Dict[str, torch.Tensor]]:
        """[B, C_in, h, w] -> ({task: F_t [B, C, h, w]}, {task: P_t [B, C_t, h, w]})."""
        feats = {t: self.blocks[t](x) for t in self.tasks}
        preds = {t: self.preds[t](feats[t]) for t in self.tasks}
        return feats, preds

    def zero_touch(self, tasks) -> torch.Tensor:
        """0 times every parameter of the given tasks' heads (DDP-safe zero loss
        for tasks without a label in the batch)."""
        touch = zero_touch(m for t in tasks for m in (self.blocks[t], self.preds[t]))
        if touch is None:  # frozen heads
            return next(iter(self.preds.values())).weight.new_zeros(())
        return touch
