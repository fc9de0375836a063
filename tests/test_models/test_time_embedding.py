import math

import pytest
import torch

from mmdmtl.models.diffusion import TimestepEmbedding, sinusoidal_embedding


def test_sinusoidal_values_published_cos_first():
    e = sinusoidal_embedding(torch.tensor([0, 1]), 8)
    assert e.shape == (2, 8)
    torch.testing.assert_close(e[0], torch.tensor([1., 1, 1, 1, 0, 0, 0, 0]))
    # cat([cos(t f), sin(t f)]), f_i = exp(-ln(10000) i / 4): f_0 = 1, f_1 = 0.1
    assert math.isclose(float(e[1, 0]), math.cos(1.0), rel_tol=1e-6)
    assert math.isclose(float(e[1, 4]), math.sin(1.0), rel_tol=1e-6)
    assert math.isclose(float(e[1, 5]), math.sin(0.1), rel_tol=1e-6)
    flipped = sinusoidal_embedding(torch.tensor([1]), 8, flip_sin_to_cos=False)
    torch.testing.assert_close(flipped[0], torch.cat([e[1, 4:], e[1, :4]]))
    # odd sizes are zero padded
    assert sinusoidal_embedding(torch.tensor([3]), 5).shape == (1, 5)


def test_timestep_embedding_mlp():
    torch.manual_seed(0)
    m = TimestepEmbedding(embed_dim=16, out_channels=12)
    out = m(torch.tensor([0, 1]))
    assert out.shape == (2, 12)
    assert not torch.allclose(out[0], out[1])
    # official sizes: 256 -> 512 -> 512
    big = TimestepEmbedding()
    assert sum(p.numel() for p in big.parameters()) == 256 * 512 + 512 + 512 * 512 + 512


def test_timestep_mlp_published_init():
    torch.manual_seed(0)
    m = TimestepEmbedding()
    for i in (0, 2):  # both Linear weights N(0, 0.02)
        w = m.mlp[i].weight
        assert abs(float(w.mean())) < 1e-3
        assert float(w.std()) == pytest.approx(0.02, rel=0.02)
    # biases keep PyTorch's default U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    assert float(m.mlp[0].bias.abs().max()) <= 1 / math.sqrt(256)
    assert float(m.mlp[0].bias.abs().max()) > 0.5 / math.sqrt(256)
    # N(0, 0.02) over 262k weights reaches beyond 4 std; PyTorch's default is
    # bounded by 1/sqrt(512) = 0.0442
    assert float(m.mlp[2].weight.abs().max()) > 0.07
    plain = TimestepEmbedding(weight_std=None)
    assert float(plain.mlp[2].weight.abs().max()) <= 1 / math.sqrt(512) * (1 + 1e-6)
