import torch

from mmdmtl.models.diffusion import CrossAttention, CrossAttentionBlock


def test_cross_attention_matches_manual_softmax():
    torch.manual_seed(0)
    att = CrossAttention(dim=8, num_heads=2)
    q = torch.randn(3, 5, 8)
    kv = torch.randn(3, 7, 8)
    out = att(q, kv)
    Q = att.q(q).reshape(3, 5, 2, 4).transpose(1, 2)
    K, V = att.kv(kv).reshape(3, 7, 2, 2, 4).permute(2, 0, 3, 1, 4)
    A = (Q @ K.transpose(-1, -2) / 2.0).softmax(-1)
    ref = att.proj((A @ V).transpose(1, 2).reshape(3, 5, 8))
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    assert att.q.bias is None and att.kv.bias is None  # no qkv bias


def test_block_batched_equals_one_by_one_and_returns_condition_stream():
    torch.manual_seed(0)
    blk = CrossAttentionBlock(dim=8, num_heads=2, mlp_ratio=2)
    cond = torch.randn(4, 6, 8)
    task = torch.randn(4, 6, 8)
    c, t = blk(cond, task)
    assert c.shape == (4, 6, 8) and t.shape == (4, 6, 8)
    for i in range(4):
        ci, ti = blk(cond[i:i + 1], task[i:i + 1])
        torch.testing.assert_close(c[i:i + 1], ci, atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(t[i:i + 1], ti, atol=1e-6, rtol=1e-5)
    # the task stream is refined by a residual MLP only (no attention)
    torch.testing.assert_close(t, task + blk.mlp_task(blk.norm_task(task)))
    # official block size: 2 MLPs (4x) + q/kv/proj + 4 LayerNorms at dim 512
    big = CrossAttentionBlock()
    n = sum(p.numel() for p in big.parameters())
    mlp = 2 * (512 * 2048 + 2048 + 2048 * 512 + 512)
    attn = 512 * 512 + 2 * 512 * 512 + 512 * 512 + 512
    assert n == mlp + attn + 4 * 2 * 512
