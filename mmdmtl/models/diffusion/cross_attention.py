"""The shared cross-attention blocks of the DiffusionMTL denoiser.

Each block first refines the (noisy) task tokens with a residual MLP, then lets the
condition tokens attend to them (condition = queries, task tokens = keys/values),
followed by a residual MLP on the condition stream. Both streams go on to the next
block; the condition stream is the output of the stack. Shapes are [N, L, C] with N
any number of (sample, task) pairs: the blocks are shared by all tasks, so every pair
of the batch goes through them in one call.
"""
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmdmtl.registry import MODELS


class Mlp(nn.Module):

    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class CrossAttention(nn.Module):
    """Multi-head attention of queries ``q`` over keys/values ``kv``."""

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool = False):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f'attention dim {dim} is not divisible by '
                             f'num_heads={num_heads}')
        self.num_heads = num_heads
        self.q = nn.Linear(dim, dim, bias=qkv_bias)
        self.kv = nn.Linear(dim, 2 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, q: torch.Tensor, kv: torch.Tensor) -> torch.Tensor:
        N, Lq, C = q.shape
        Lk = kv.shape[1]
        h = self.num_heads
        q = self.q(q).reshape(N, Lq, h, C // h).transpose(1, 2)
        k, v = self.kv(kv).reshape(N, Lk, 2, h, C // h).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.proj(out.transpose(1, 2).reshape(N, Lq, C))


@MODELS.register_module()
class CrossAttentionBlock(nn.Module):
    """One block (pre-LayerNorm, GELU MLPs, no qkv bias by default).

    Args:
        dim (int): token width. Default: 512.
        num_heads (int): attention heads. Default: 4.
        mlp_ratio (float): MLP hidden = dim * mlp_ratio. Default: 4.
        qkv_bias (bool): bias in the q/k/v projections. Default: False.
        xavier_init (bool): every Linear xavier-uniform with zero bias (published);
            False keeps PyTorch's default Linear init. LayerNorms start at 1 / 0.
    """

    def __init__(self,
                 dim: int = 512,
                 num_heads: int = 4,
                 mlp_ratio: float = 4.0,
                 qkv_bias: bool = False,
                 xavier_init: bool = True):
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.norm_task = nn.LayerNorm(dim)
        self.mlp_task = Mlp(dim, hidden)
        self.norm_q = nn.LayerNorm(dim)
        self.norm_kv = nn.LayerNorm(dim)
        self.attn = CrossAttention(dim, num_heads, qkv_bias)
        self.norm_out = nn.LayerNorm(dim)
        self.mlp_out = Mlp(dim, hidden)
        if xavier_init:
            for m in self.modules():
                if isinstance(m, nn.Linear):
                    nn.init.xavier_uniform_(m.weight)
                    if m.bias is not None:
                        nn.init.zeros_(m.bias)

    def forward(self, cond: torch.Tensor,
                task: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """cond, task: [N, L, C] -> (cond, task) after the block."""
        task = task + self.mlp_task(self.norm_task(task))
        cond = cond + self.attn(self.norm_q(cond), self.norm_kv(task))
        cond = cond + self.mlp_out(self.norm_out(cond))
        return cond, task
