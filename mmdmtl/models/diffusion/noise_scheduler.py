"""Noise schedule of DiffusionMTL: x0-parameterised DDPM (and DDIM) over a short chain.

The tables live in buffers so that ``head.scheduler.to(device)`` (or the model's) moves
them with the parameters, and they never enter a checkpoint (``persistent=False``): they
are a pure function of the constructor arguments.

With the official ``num_train_timesteps=2`` and linear betas 1e-3..1e-2::

    alphas_cumprod        = [0.999, 0.98901]
    x_T = sqrt(0.98901) x0 + sqrt(1 - 0.98901) eps = 0.9945 x0 + 0.1048 eps
    posterior at t = 1:   mean = 0.90946 x0_hat + 0.09054 x_t, std = 0.03016
"""
from typing import Optional

import torch
import torch.nn as nn

from mmdmtl.registry import MODELS


@MODELS.register_module()
class DiffusionNoiseScheduler(nn.Module):
    """Forward process q(x_t | x0) and the reverse step given an x0 prediction.

    Args:
        num_train_timesteps (int): T, the length of the chain. Default: 2.
        num_inference_steps (int, optional): S <= T steps used at inference; the
            timesteps are ``T-1, T-1-T//S, ...`` (every ``T//S``-th). None means T.
        beta_start (float): first beta. Default: 1e-3.
        beta_end (float): last beta. Default: 1e-2.
        beta_schedule (str): 'linear' (LDM style: ``linspace(sqrt(b0), sqrt(b1),
            T) ** 2``, the official one) or 'linear_plain' (``linspace(b0, b1, T)``).
        sampler (str): 'ddpm' (posterior sampling, official) or 'ddim'.
        ddim_eta (float): DDIM stochasticity (0 = deterministic). Only for 'ddim'.
    """

    def __init__(self,
                 num_train_timesteps: int = 2,
                 num_inference_steps: Optional[int] = None,
                 beta_start: float = 1e-3,
                 beta_end: float = 1e-2,
                 beta_schedule: str = 'linear',
                 sampler: str = 'ddpm',
                 ddim_eta: float = 0.0):
        super().__init__()
        if int(num_train_timesteps) < 1:
            raise ValueError('num_train_timesteps must be >= 1, got '
                             f'{num_train_timesteps!r}')
        if sampler not in ('ddpm', 'ddim'):
            raise ValueError(f"sampler must be 'ddpm' or 'ddim', got {sampler!r}")
        T = int(num_train_timesteps)
        if beta_schedule == 'linear':
            betas = torch.linspace(beta_start**0.5, beta_end**0.5, T,
                                   dtype=torch.float64)**2
        elif beta_schedule == 'linear_plain':
            betas = torch.linspace(beta_start, beta_end, T, dtype=torch.float64)
        else:
            raise ValueError("beta_schedule must be 'linear' or 'linear_plain', "
                             f'got {beta_schedule!r}')
        self.num_train_timesteps = T
        self.sampler = sampler
        self.ddim_eta = float(ddim_eta)
        self.set_inference_steps(num_inference_steps)

        alphas = 1.0 - betas
        alphas_cumprod = torch.cumprod(alphas, 0)
        prev = torch.cat([alphas_cumprod.new_ones(1), alphas_cumprod[:-1]])
        post_var = betas * (1.0 - prev) / (1.0 - alphas_cumprod)
        tables = dict(
            betas=betas,
            alphas=alphas,
            alphas_cumprod=alphas_cumprod,
            alphas_cumprod_prev=prev,
            sqrt_alphas_cumprod=alphas_cumprod.sqrt(),
            sqrt_one_minus_alphas_cumprod=(1.0 - alphas_cumprod).sqrt(),
            posterior_variance=post_var,
            posterior_std=post_var.sqrt(),
            posterior_mean_coef1=betas * prev.sqrt() / (1.0 - alphas_cumprod),
            posterior_mean_coef2=(1.0 - prev) * alphas.sqrt() /
            (1.0 - alphas_cumprod),
        )
        for name, value in tables.items():
            self.register_buffer(name, value.float(), persistent=False)

    def set_inference_steps(self, num_inference_steps: Optional[int]) -> None:
        T = self.num_train_timesteps
        S = T if num_inference_steps is None else int(num_inference_steps)
        if not 1 <= S <= T:
            raise ValueError(f'num_inference_steps={num_inference_steps!r} must be '
                             f'in [1, num_train_timesteps={T}]')
        self.num_inference_steps = S

    def timesteps(self, training: bool) -> list:
        """Timesteps of the reverse chain, largest first (plain ints)."""
        if training:
            return list(range(self.num_train_timesteps - 1, -1, -1))
        ratio = self.num_train_timesteps // self.num_inference_steps
        top = self.num_train_timesteps - 1
        return [top - i * ratio for i in range(self.num_inference_steps)]

    def _acp(self, t: int) -> torch.Tensor:
        if t < 0:
            return self.alphas_cumprod.new_ones(())
        return self.alphas_cumprod[t]

    def add_noise(self, x0: torch.Tensor, noise: Optional[torch.Tensor],
                  t: int) -> torch.Tensor:
        """q(x_t | x0) = sqrt(acp_t) x0 + sqrt(1 - acp_t) eps (eps=None: no noise)."""
        acp = self._acp(t).to(x0.dtype)
        out = acp.sqrt() * x0
        if noise is not None:
            out = out + (1.0 - acp).sqrt() * noise
        return out

    def step_coefficients(self, t: int, prev_t: int):
        """(coef_x0, coef_xt, std) of the reverse step t -> prev_t.

        DDPM: the posterior q(x_prev | x_t, x0) of the (possibly strided) chain;
        for consecutive steps this is the textbook posterior. DDIM: the eta-DDIM
        update written in the same linear form.
        """
        acp_t, acp_prev = self._acp(t), self._acp(prev_t)
        if self.sampler == 'ddpm':
            alpha = acp_t / acp_prev
            beta = 1.0 - alpha
            coef_x0 = beta * acp_prev.sqrt() / (1.0 - acp_t)
            coef_xt = (1.0 - acp_prev) * alpha.sqrt() / (1.0 - acp_t)
            var = beta * (1.0 - acp_prev) / (1.0 - acp_t)
            return coef_x0, coef_xt, var.clamp(min=0).sqrt()
        sigma = self.ddim_eta * (((1 - acp_prev) / (1 - acp_t)) *
                                 (1 - acp_t / acp_prev)).clamp(min=0).sqrt()
        # x_prev = sqrt(acp_prev) x0 + sqrt(1 - acp_prev - sigma^2) eps_hat,
        # eps_hat = (x_t - sqrt(acp_t) x0) / sqrt(1 - acp_t)
        dir_coef = (1.0 - acp_prev - sigma**2).clamp(min=0).sqrt() / (
            1.0 - acp_t).sqrt()
        coef_xt = dir_coef
        coef_x0 = acp_prev.sqrt() - dir_coef * acp_t.sqrt()
        return coef_x0, coef_xt, sigma

    def step(self,
             x0_hat: torch.Tensor,
             x_t: torch.Tensor,
             t: int,
             prev_t: int,
             noise: Optional[torch.Tensor] = None) -> torch.Tensor:
        """x_prev from the x0 prediction; the last step (prev_t < 0) is x0_hat."""
        if prev_t < 0:
            return x0_hat
        c0, ct, std = self.step_coefficients(t, prev_t)
        out = c0.to(x0_hat.dtype) * x0_hat + ct.to(x_t.dtype) * x_t
        if noise is not None:
            out = out + std.to(x_t.dtype) * noise
        return out

    def extra_repr(self) -> str:
        return (f'num_train_timesteps={self.num_train_timesteps}, '
                f'num_inference_steps={self.num_inference_steps}, '
                f'sampler={self.sampler!r}')

