"""Multi-Task Conditioning (MTC): one condition map built from every task's output."""
from typing import Dict, Mapping, Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from mmdmtl.models.necks.multi_scale_fuse import fuse_conv

from mmdmtl.models.utils import check_task_channels
from mmdmtl.registry import MODELS


@MODELS.register_module()
class MultiTaskConditioner(BaseModule):
    """Concatenate the (detached) initial outputs of ALL tasks and fuse them into the
    condition F_cond shared by every task's denoiser.

    Unlabelled tasks still shape F_cond: this is how they help the labelled ones.

    Args:
        tasks (dict): task -> output channels (ordered; set by the segmentor).
        channels (int): condition width. Default: 512.
        source (str): 'prediction' (official code: the C_t-channel predictions P_t,
            sum C_t channels in) or 'feature' (the paper's figure: the task features
            F_t, len(tasks) * feature_channels in).
        feature_channels (int): channels of F_t when source='feature'. Default: 512.
        detach (bool): stop gradients into the initial heads. Default: True.
        kernel_size (int): fuse conv kernel. Default: 3.
        norm_cfg / act_cfg: None / None (published): a bare Conv with bias,
            kaiming-normal (fan_out) weights and zero bias (key ``fuse.weight``).
            With a norm and/or activation (opt-in, e.g. BN + ReLU: note the ReLU
            zeroes half of the condition) an mmcv ``ConvModule`` (``fuse.conv.*``).
    """

    def __init__(self,
                 tasks: Mapping[str, int],
                 channels: int = 512,
                 source: str = 'prediction',
                 feature_channels: int = 512,
                 detach: bool = True,
                 kernel_size: int = 3,
                 norm_cfg=None,
                 act_cfg=None,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.tasks = check_task_channels(tasks, 'MultiTaskConditioner')
        if source not in ('prediction', 'feature'):
            raise ValueError("MultiTaskConditioner: source must be 'prediction' or "
                             f"'feature', got {source!r}")
        self.source = source
        self.detach = detach
        self.channels = channels
        in_ch = sum(self.tasks.values()) if source == 'prediction' else \
            feature_channels * len(self.tasks)
        self.fuse = fuse_conv(in_ch, channels, kernel_size, norm_cfg=norm_cfg,
                              act_cfg=act_cfg)
        if isinstance(self.fuse, nn.Conv2d):
            nn.init.kaiming_normal_(self.fuse.weight, mode='fan_out',
                                    nonlinearity='relu')
            nn.init.zeros_(self.fuse.bias)

    def forward(self,
                feats: Optional[Dict[str, torch.Tensor]],
                preds: Optional[Dict[str, torch.Tensor]]) -> torch.Tensor:
        """Initial features / predictions per task -> F_cond [B, channels, h, w]."""
        src = preds if self.source == 'prediction' else feats
        missing = [t for t in self.tasks if src is None or t not in src]
        if missing:
            raise KeyError(f'MultiTaskConditioner(source={self.source!r}): no '
                           f'{self.source} for task(s) {missing}')
        x = torch.cat([src[t] for t in self.tasks], dim=1)
        if self.detach:
            x = x.detach()
        return self.fuse(x)
