import math

import torch

from mmdmtl.models.diffusion import TimestepEmbedding, sinusoidal_embedding


def test_sinusoidal_values():
    e = sinusoidal_embedding(torch.tensor([0, 1]), 8)
    assert e.shape == (2, 8)
    torch.testing.assert_close(e[0], torch.tensor([0., 0, 0, 0, 1, 1, 1, 1]))
    # first frequency is 1: sin(1), cos(1)
    assert math.isclose(float(e[1, 0]), math.sin(1.0), rel_tol=1e-6)
    assert math.isclose(float(e[1, 4]), math.cos(1.0), rel_tol=1e-6)
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
