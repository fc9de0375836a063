"""Timestep embedding: sinusoidal features -> Linear -> SiLU -> Linear.

The denoiser adds the result to its input features as a per-channel bias. Published:
the sinusoid is ``cat([cos, sin])`` (cos first; diffusers calls this
``flip_sin_to_cos=True``) and both Linear weights start from N(0, 0.02).
"""
import math
from typing import Optional

import torch
import torch.nn as nn

from mmdmtl.registry import MODELS


def sinusoidal_embedding(t: torch.Tensor,
                         dim: int,
                         max_period: float = 10000.0,
                         flip_sin_to_cos: bool = True) -> torch.Tensor:
    """[N] timesteps -> [N, dim] with frequencies ``exp(-ln(max_period) i / (dim/2))``:
    ``[cos | sin]`` (published) or ``[sin | cos]`` with ``flip_sin_to_cos=False``."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(
        half, dtype=torch.float32, device=t.device) / half)
    args = t.float()[:, None] * freqs[None]
    halves = [torch.cos(args), torch.sin(args)]
    emb = torch.cat(halves if flip_sin_to_cos else halves[::-1], dim=1)
    if dim % 2:
        emb = torch.cat([emb, emb.new_zeros(emb.shape[0], 1)], dim=1)
    return emb


@MODELS.register_module()
class TimestepEmbedding(nn.Module):
    """Args:
        embed_dim (int): sinusoidal feature size. Default: 256 (official).
        out_channels (int): output size (= the denoiser width). Default: 512.
        flip_sin_to_cos (bool): ``[cos | sin]`` (published) or ``[sin | cos]``.
        weight_std (float, optional): std of the normal init of both Linear weights
            (published: 0.02; biases keep PyTorch's default); None = PyTorch's
            default init for the weights too.
    """

    def __init__(self,
                 embed_dim: int = 256,
                 out_channels: int = 512,
                 flip_sin_to_cos: bool = True,
                 weight_std: Optional[float] = 0.02):
        super().__init__()
        self.embed_dim = embed_dim
        self.flip_sin_to_cos = flip_sin_to_cos
        self.mlp = nn.Sequential(
            nn.Linear(embed_dim, out_channels), nn.SiLU(),
            nn.Linear(out_channels, out_channels))
        if weight_std is not None:
            for i in (0, 2):
                nn.init.normal_(self.mlp[i].weight, std=weight_std)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        """[N] int timesteps -> [N, out_channels]."""
        # follow the weights' dtype, so a model cast to bf16/fp16 runs as it is
        emb = sinusoidal_embedding(t, self.embed_dim,
                                   flip_sin_to_cos=self.flip_sin_to_cos)
        return self.mlp(emb.to(self.mlp[0].weight.dtype))
