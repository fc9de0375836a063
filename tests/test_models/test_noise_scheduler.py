import math

import numpy as np
import pytest
import torch

from mmdmtl.models.diffusion import DDIMScheduler, DDPMScheduler, make_betas


def test_published_t2_tables_match_method_md():
    s = DDPMScheduler(num_train_timesteps=2)
    np.testing.assert_allclose(s.betas, [1e-3, 1e-2], rtol=1e-12)
    np.testing.assert_allclose(s.alphas_cumprod, [0.999, 0.98901], rtol=1e-12)
    assert s.betas.dtype == np.float64
    # x_T = 0.9945 x0 + 0.1048 eps
    c0, cn = s.noise_coefficients(1)
    assert (c0, cn) == pytest.approx((0.99449, 0.10483), abs=1e-5)
    c0, ct, std = s.step_coefficients(1, 0)
    assert (c0, ct, std) == pytest.approx((0.90946, 0.09054, 0.03016), abs=1e-5)


def test_coefficients_are_the_float64_values():
    """The float64 formulas, not a float32 recomputation (which loses 1.5e-5)."""
    s = DDPMScheduler(num_train_timesteps=2)
    a0, a1 = 0.999, 0.999 * 0.99
    beta1 = 1 - a1 / a0
    c0, ct, std = s.step_coefficients(1, 0)
    assert c0 == pytest.approx(beta1 * math.sqrt(a0) / (1 - a1), rel=1e-12)
    assert ct == pytest.approx((1 - a0) * math.sqrt(1 - beta1) / (1 - a1), rel=1e-12)
    assert std == pytest.approx(math.sqrt(beta1 * (1 - a0) / (1 - a1)), rel=1e-12)
    # what the float32 path gave: measurably off
    ab0, ab1 = torch.tensor([a0, a1], dtype=torch.float32)
    c0_32 = float((1 - ab1 / ab0) * ab0.sqrt() / (1 - ab1))
    assert abs(c0_32 - c0) / c0 > 1e-6


def test_add_noise_and_step():
    s = DDPMScheduler(num_train_timesteps=2)
    x0 = torch.full((1, 2, 2, 2), 2.0)
    eps = torch.full_like(x0, -1.0)
    xt = s.add_noise(x0, eps, 1)
    torch.testing.assert_close(xt, 2 * 0.98901**0.5 - (1 - 0.98901)**0.5 +
                               torch.zeros_like(x0), atol=1e-6, rtol=0)
    # no noise: one multiplication by the float64 sqrt(alpha_bar_1), bit for bit
    c0 = s.noise_coefficients(1)[0]
    assert c0 == pytest.approx(0.98901**0.5, rel=1e-12)
    assert torch.equal(s.add_noise(x0, None, 1), x0 * c0)
    x0_hat = torch.ones_like(x0)
    out = s.step(x0_hat, 1, xt, noise=eps)  # derives prev = 0 itself
    c0, ct, std = s.step_coefficients(1, 0)
    torch.testing.assert_close(out.prev_sample, c0 * x0_hat + ct * xt - std)
    assert out.pred_original_sample is x0_hat
    # the last step returns the x0 prediction, no noise
    last = s.step(x0_hat, 0, xt, noise=eps)
    assert torch.equal(last.prev_sample, x0_hat)


def test_set_timesteps_and_derived_previous_timestep():
    s = DDPMScheduler(num_train_timesteps=2)
    assert s.train_timesteps == [1, 0] and s.timesteps == [1, 0]
    s.set_timesteps(1)
    assert s.timesteps == [1] and s.train_timesteps == [1, 0]
    assert s.previous_timestep(1) == -1  # S=1: one step straight to x0
    s4 = DDPMScheduler(num_train_timesteps=4)
    s4.set_timesteps(2)
    assert s4.timesteps == [3, 1] and s4.previous_timestep(3) == 1
    with pytest.raises(ValueError, match='num_inference_steps=3'):
        s.set_timesteps(3)
    with pytest.raises(ValueError, match='beta_schedule'):
        DDPMScheduler(beta_schedule='cosine')
    with pytest.raises(ValueError, match='num_train_timesteps'):
        DDPMScheduler(num_train_timesteps=0)


def test_beta_schedule_names_are_diffusers():
    np.testing.assert_allclose(make_betas(3, 1e-3, 1e-2, 'scaled_linear'),
                               np.linspace(1e-3**0.5, 1e-2**0.5, 3)**2)
    np.testing.assert_allclose(make_betas(3, 1e-3, 1e-2, 'linear'),
                               [1e-3, 5.5e-3, 1e-2])


def test_strided_ddpm_posterior_matches_formula():
    s = DDPMScheduler(num_train_timesteps=4)
    a_t, a_p = s.alphas_cumprod[3], s.alphas_cumprod[1]
    beta = 1 - a_t / a_p
    c0, ct, std = s.step_coefficients(3, 1)
    assert c0 == pytest.approx(math.sqrt(a_p) * beta / (1 - a_t), rel=1e-12)
    assert ct == pytest.approx((1 - a_p) * math.sqrt(a_t / a_p) / (1 - a_t), rel=1e-12)
    assert std == pytest.approx(math.sqrt(beta * (1 - a_p) / (1 - a_t)), rel=1e-12)


def test_ddim_eta0_reconstructs_from_eps():
    s = DDIMScheduler(num_train_timesteps=2)
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(3, 4, generator=g)
    eps = torch.randn(3, 4, generator=g)
    xt = s.add_noise(x0, eps, 1)
    # with the exact x0, DDIM(eta=0) lands on sqrt(a_prev) x0 + sqrt(1-a_prev) eps
    out = s.step(x0, 1, xt).prev_sample
    expect = 0.999**0.5 * x0 + (1 - 0.999)**0.5 * eps
    torch.testing.assert_close(out, expect, atol=1e-5, rtol=0)
    assert s.step_coefficients(1, 0)[2] == 0.0
    assert DDIMScheduler(num_train_timesteps=2, eta=1.0).step_coefficients(1, 0)[2] == \
        pytest.approx(DDPMScheduler(num_train_timesteps=2).step_coefficients(1, 0)[2])
    with pytest.raises(ValueError, match='eta'):
        DDIMScheduler(eta=2.0)


def test_scheduler_follows_the_sample_dtype_and_has_no_state():
    s = DDPMScheduler(num_train_timesteps=2)
    x = torch.ones(2, dtype=torch.float64)
    out = s.step(x, 1, x).prev_sample
    assert out.dtype == torch.float64
    c0, ct, _ = s.step_coefficients(1, 0)
    assert float(out[0]) == pytest.approx(c0 + ct, rel=1e-15)
    assert not isinstance(s, torch.nn.Module)
