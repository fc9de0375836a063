"""Noise schedulers of DiffusionMTL: x0-parameterised DDPM and DDIM over a short chain.

Small plain objects in the manner of diffusers' schedulers: ``set_timesteps(S)`` picks
the inference chain, ``add_noise`` is q(x_t | x0), and ``step(model_output, t, sample)``
derives the previous timestep itself and returns the previous sample together with the
x0 estimate. The network predicts the clean signal (``model_output`` IS x0_hat).

Every table is computed in float64 and every coefficient leaves the scheduler as a
Python float, which the tensor arithmetic rounds once to the sample's dtype: the same
numbers as the published code's float64 tables stored as float32 (recomputing them in
float32 from ``alphas_cumprod`` is off by up to 1.5e-5 relative on the posterior-mean
coefficient, by cancellation in ``1 - alpha_bar``). Nothing is a buffer: a scheduler
has no state to move between devices or to save in a checkpoint.

With the published ``num_train_timesteps=2`` and LDM's betas 1e-3..1e-2::

    alphas_cumprod        = [0.999, 0.98901]
    x_T = sqrt(0.98901) x0 + sqrt(1 - 0.98901) eps = 0.9945 x0 + 0.1048 eps
    posterior at t = 1:   mean = 0.90946 x0_hat + 0.09054 x_t, std = 0.03016
"""
import math
from typing import List, NamedTuple, Optional

import numpy as np
import torch

from mmdmtl.registry import MODELS


class SchedulerStepOutput(NamedTuple):
    """``prev_sample``: x_{t-1} (x0_hat itself after the last step);
    ``pred_original_sample``: the x0 estimate the step used."""
    prev_sample: torch.Tensor
    pred_original_sample: torch.Tensor


def make_betas(num_train_timesteps: int, beta_start: float, beta_end: float,
               beta_schedule: str) -> np.ndarray:
    """float64 betas; the names are diffusers': 'scaled_linear' is LDM's
    ``linspace(sqrt(b0), sqrt(b1), T) ** 2`` (the published one), 'linear' is
    ``linspace(b0, b1, T)``."""
    T = int(num_train_timesteps)
    if beta_schedule == 'scaled_linear':
        return np.linspace(beta_start**0.5, beta_end**0.5, T, dtype=np.float64)**2
    if beta_schedule == 'linear':
        return np.linspace(beta_start, beta_end, T, dtype=np.float64)
    raise ValueError("beta_schedule must be 'scaled_linear' (LDM's, published) or "
                     f"'linear', got {beta_schedule!r}")


class _X0Scheduler:
    """Shared part: the float64 schedule, the timestep spacing and q(x_t | x0)."""

    def __init__(self,
                 num_train_timesteps: int = 2,
                 beta_start: float = 1e-3,
                 beta_end: float = 1e-2,
                 beta_schedule: str = 'scaled_linear'):
        if not isinstance(num_train_timesteps, (int, np.integer)) or \
                int(num_train_timesteps) < 1:
            raise ValueError('scheduler.num_train_timesteps must be an int >= 1, got '
                             f'{num_train_timesteps!r}')
        if not 0.0 < beta_start <= beta_end < 1.0:
            raise ValueError('scheduler betas must satisfy 0 < beta_start <= beta_end '
                             f'< 1, got beta_start={beta_start}, beta_end={beta_end}')
        self.num_train_timesteps = int(num_train_timesteps)
        self.beta_schedule = beta_schedule
        self.betas = make_betas(self.num_train_timesteps, beta_start, beta_end,
                                beta_schedule)
        self.alphas = 1.0 - self.betas
        self.alphas_cumprod = np.cumprod(self.alphas)
        self.set_timesteps(None)

    # ------------------------------------------------------------- timesteps
    @property
    def train_timesteps(self) -> List[int]:
        """The full training chain, largest first."""
        return list(range(self.num_train_timesteps - 1, -1, -1))

    def set_timesteps(self, num_inference_steps: Optional[int] = None) -> None:
        """Inference chain of S steps: ``T-1, T-1-T//S, ...``; None means S = T.

        A model trained with T steps should be run with S = T: the chain is unrolled
        and trained end to end, and a shorter one is a different network (S=1 on a
        T=2 model collapses accuracy)."""
        T = self.num_train_timesteps
        S = T if num_inference_steps is None else num_inference_steps
        if not isinstance(S, (int, np.integer)) or not 1 <= int(S) <= T:
            raise ValueError(f'num_inference_steps={num_inference_steps!r} must be an '
                             f'int in [1, num_train_timesteps={T}]')
        self.num_inference_steps = int(S)
        self._ratio = T // self.num_inference_steps
        self.timesteps = [T - 1 - i * self._ratio for i in range(self.num_inference_steps)]

    def previous_timestep(self, timestep: int) -> int:
        """The timestep after ``timestep`` in the inference chain (-1: done)."""
        return int(timestep) - self._ratio

    def alpha_bar(self, t: int) -> float:
        """alpha_bar_t = alphas_cumprod[t] = prod_{s <= t} (1 - beta_s), a float64
        Python float (1 for t < 0)."""
        return 1.0 if t < 0 else float(self.alphas_cumprod[t])

    # ------------------------------------------------------------- forward q
    def noise_coefficients(self, t: int):
        """(sqrt(alpha_bar_t), sqrt(1 - alpha_bar_t)) in float64."""
        a = self.alpha_bar(t)
        return math.sqrt(a), math.sqrt(1.0 - a)

    def add_noise(self, original_samples: torch.Tensor,
                  noise: Optional[torch.Tensor], timestep: int) -> torch.Tensor:
        """q(x_t | x0) = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps
        (eps=None: no noise)."""
        c0, cn = self.noise_coefficients(int(timestep))
        out = original_samples * c0
        if noise is not None:
            out = out + noise * cn
        return out

    # ---------------------------------------------------------------- reverse
    def step_coefficients(self, t: int, prev_t: int):
        """(coef_x0, coef_xt, std) of the reverse step t -> prev_t, float64."""
        raise NotImplementedError

    def step(self,
             model_output: torch.Tensor,
             timestep: int,
             sample: torch.Tensor,
             noise: Optional[torch.Tensor] = None,
             prev_timestep: Optional[int] = None) -> SchedulerStepOutput:
        """One reverse step from the x0 prediction ``model_output``.

        ``prev_timestep`` defaults to the next one of the inference chain; the last
        step (prev < 0) returns x0_hat itself and draws no noise.
        """
        t = int(timestep)
        prev = self.previous_timestep(t) if prev_timestep is None else int(prev_timestep)
        if prev < 0:
            return SchedulerStepOutput(model_output, model_output)
        c0, ct, std = self.step_coefficients(t, prev)
        out = model_output * c0 + sample * ct
        if noise is not None and std > 0:
            out = out + noise * std
        return SchedulerStepOutput(out, model_output)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_train_timesteps={self.num_train_timesteps}, '
                f'num_inference_steps={self.num_inference_steps}, '
                f'beta_schedule={self.beta_schedule!r})')


@MODELS.register_module()
class DDPMScheduler(_X0Scheduler):
    """Posterior sampling q(x_prev | x_t, x0_hat) (the published sampler).

    For consecutive steps this is the textbook posterior; with S < T the posterior of
    the strided chain (alpha_bar_t / alpha_bar_prev in place of alpha_t). The std is
    ``exp(0.5 * log(max(var, 1e-20)))`` as the published tables clip it.
    """

    def step_coefficients(self, t: int, prev_t: int):
        alpha_bar_t, alpha_bar_prev = self.alpha_bar(t), self.alpha_bar(prev_t)
        alpha = alpha_bar_t / alpha_bar_prev
        beta = 1.0 - alpha
        coef_x0 = beta * math.sqrt(alpha_bar_prev) / (1.0 - alpha_bar_t)
        coef_xt = (1.0 - alpha_bar_prev) * math.sqrt(alpha) / (1.0 - alpha_bar_t)
        var = beta * (1.0 - alpha_bar_prev) / (1.0 - alpha_bar_t)
        return coef_x0, coef_xt, math.exp(0.5 * math.log(max(var, 1e-20)))


@MODELS.register_module()
class DDIMScheduler(_X0Scheduler):
    """eta-DDIM written in the same linear form (eta = 0: deterministic).

    Args:
        eta (float): stochasticity, 0..1. Default: 0.
    """

    def __init__(self, *args, eta: float = 0.0, **kwargs):
        if not 0.0 <= float(eta) <= 1.0:
            raise ValueError(f'DDIMScheduler: eta must be in [0, 1], got {eta!r}')
        self.eta = float(eta)
        super().__init__(*args, **kwargs)

    def step_coefficients(self, t: int, prev_t: int):
        alpha_bar_t, alpha_bar_prev = self.alpha_bar(t), self.alpha_bar(prev_t)
        var = (1 - alpha_bar_prev) / (1 - alpha_bar_t) * (
            1 - alpha_bar_t / alpha_bar_prev)
        sigma = self.eta * math.sqrt(max(var, 0.0))
        # x_prev = sqrt(alpha_bar_prev) x0 + sqrt(1 - alpha_bar_prev - sigma^2) eps_hat,
        # eps_hat = (x_t - sqrt(alpha_bar_t) x0) / sqrt(1 - alpha_bar_t)
        dir_coef = math.sqrt(max(1.0 - alpha_bar_prev - sigma**2, 0.0)) / \
            math.sqrt(1.0 - alpha_bar_t)
        c0 = math.sqrt(alpha_bar_prev) - dir_coef * math.sqrt(alpha_bar_t)
        return c0, dir_coef, sigma
