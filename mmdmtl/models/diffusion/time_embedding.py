"""Timestep embedding: sinusoidal features -> Linear -> SiLU -> Linear.

The denoiser adds the result to its input features as a per-channel bias.
"""
import math

import torch
import torch.nn as nn

from mmdmtl.registry import MODELS


def sinusoidal_embedding(t: torch.Tensor,
                         dim: int,
                         max_period: float = 10000.0) -> torch.Tensor:
    """[N] timesteps -> [N, dim] (sin half, cos half; transformer frequencies)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(
        half, dtype=torch.float32, device=t.device) / half)
    args = t.float()[:, None] * freqs[None]
    emb = torch.cat([torch.sin(args), torch.cos(args)], dim=1)
    if dim % 2:
        emb = torch.cat([emb, emb.new_zeros(emb.shape[0], 1)], dim=1)
    return emb


@MODELS.register_module()
class TimestepEmbedding(nn.Module):
    """Args:
        embed_dim (int): sinusoidal feature size. Default: 256 (official).
        out_channels (int): output size (= the denoiser width). Default: 512.
    """

    def __init__(self, embed_dim: int = 256, out_channels: int = 512):
        super().__init__()
        self.embed_dim = embed_dim
        self.mlp = nn.Sequential(
            nn.Linear(embed_dim, out_channels), nn.SiLU(),
            nn.Linear(out_channels, out_channels))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        """[N] int timesteps -> [N, out_channels]."""
        # follow the weights' dtype, so a model cast to bf16/fp16 runs as it is
        emb = sinusoidal_embedding(t, self.embed_dim)
        return self.mlp(emb.to(self.mlp[0].weight.dtype))
