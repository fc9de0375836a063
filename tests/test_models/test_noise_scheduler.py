import pytest
import torch

from mmdmtl.models.diffusion import DiffusionNoiseScheduler


def test_official_t2_tables_match_method_md():
    s = DiffusionNoiseScheduler(num_train_timesteps=2)
    torch.testing.assert_close(s.betas, torch.tensor([1e-3, 1e-2]))
    torch.testing.assert_close(s.alphas_cumprod, torch.tensor([0.999, 0.98901]),
                               atol=1e-6, rtol=0)
    # x_T = 0.9945 x0 + 0.1048 eps
    assert float(s.sqrt_alphas_cumprod[1]) == pytest.approx(0.99449, abs=1e-5)
    assert float(s.sqrt_one_minus_alphas_cumprod[1]) == pytest.approx(0.10483,
                                                                      abs=1e-5)
    # posterior at t = 1
    assert float(s.posterior_mean_coef1[1]) == pytest.approx(0.90946, abs=1e-5)
    assert float(s.posterior_mean_coef2[1]) == pytest.approx(0.09054, abs=1e-5)
    assert float(s.posterior_std[1]) == pytest.approx(0.03016, abs=1e-5)
    c0, ct, std = s.step_coefficients(1, 0)
    assert (float(c0), float(ct), float(std)) == pytest.approx(
        (0.90946, 0.09054, 0.03016), abs=1e-5)


def test_add_noise_and_steps():
    s = DiffusionNoiseScheduler(num_train_timesteps=2)
    x0 = torch.full((1, 2, 2, 2), 2.0)
    eps = torch.full_like(x0, -1.0)
    xt = s.add_noise(x0, eps, 1)
    torch.testing.assert_close(xt, 2 * 0.98901**0.5 - (1 - 0.98901)**0.5 +
                               torch.zeros_like(x0), atol=1e-6, rtol=0)
    assert torch.equal(s.add_noise(x0, None, 1), 0.98901**0.5 * x0) or \
        torch.allclose(s.add_noise(x0, None, 1), 0.98901**0.5 * x0)
    x0_hat = torch.ones_like(x0)
    prev = s.step(x0_hat, xt, 1, 0, noise=eps)
    expect = 0.90946 * x0_hat + 0.09054 * xt - 0.03016
    torch.testing.assert_close(prev, expect, atol=2e-5, rtol=0)
    # the last step returns the x0 prediction, no noise
    assert torch.equal(s.step(x0_hat, xt, 0, -1, noise=eps), x0_hat)


def test_timesteps_and_inference_steps():
    s = DiffusionNoiseScheduler(num_train_timesteps=2)
    assert s.timesteps(training=True) == [1, 0]
    assert s.timesteps(training=False) == [1, 0]
    s1 = DiffusionNoiseScheduler(num_train_timesteps=2, num_inference_steps=1)
    assert s1.timesteps(training=True) == [1, 0]
    assert s1.timesteps(training=False) == [1]
    s4 = DiffusionNoiseScheduler(num_train_timesteps=4, num_inference_steps=2)
    assert s4.timesteps(training=False) == [3, 1]
    with pytest.raises(ValueError, match='num_inference_steps=3'):
        DiffusionNoiseScheduler(num_train_timesteps=2, num_inference_steps=3)
    with pytest.raises(ValueError, match='sampler'):
        DiffusionNoiseScheduler(sampler='euler')
    with pytest.raises(ValueError, match='beta_schedule'):
        DiffusionNoiseScheduler(beta_schedule='cosine')


def test_strided_ddpm_posterior_matches_formula():
    s = DiffusionNoiseScheduler(num_train_timesteps=4, num_inference_steps=2)
    acp = s.alphas_cumprod.double()
    a_t, a_p = acp[3], acp[1]
    beta = 1 - a_t / a_p
    c0, ct, std = s.step_coefficients(3, 1)
    assert float(c0) == pytest.approx(float(a_p.sqrt() * beta / (1 - a_t)), rel=1e-5)
    assert float(ct) == pytest.approx(
        float((1 - a_p) * (a_t / a_p).sqrt() / (1 - a_t)), rel=1e-5)
    assert float(std) == pytest.approx(float((beta * (1 - a_p) / (1 - a_t)).sqrt()),
                                       rel=1e-4)


def test_ddim_eta0_reconstructs_from_eps():
    s = DiffusionNoiseScheduler(num_train_timesteps=2, sampler='ddim')
    g = torch.Generator().manual_seed(0)
    x0 = torch.randn(3, 4, generator=g)
    eps = torch.randn(3, 4, generator=g)
    xt = s.add_noise(x0, eps, 1)
    # with the exact x0, DDIM(eta=0) lands on sqrt(a_prev) x0 + sqrt(1-a_prev) eps
    out = s.step(x0, xt, 1, 0)
    expect = 0.999**0.5 * x0 + (1 - 0.999)**0.5 * eps
    torch.testing.assert_close(out, expect, atol=1e-5, rtol=0)
    _, _, sigma = s.step_coefficients(1, 0)
    assert float(sigma) == 0.0


def test_tables_are_buffers_that_follow_to_and_stay_out_of_checkpoints():
    s = DiffusionNoiseScheduler(num_train_timesteps=2)
    assert 'alphas_cumprod' in dict(s.named_buffers())
    assert 'alphas_cumprod' not in s.state_dict()
    s = s.to(torch.float64)
    assert s.alphas_cumprod.dtype == torch.float64
    assert s.posterior_std.dtype == torch.float64
