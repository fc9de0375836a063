import pytest
import torch

from mmdmtl.models.necks import MultiScaleFuseNeck


def test_fuses_all_stages_at_stride_8():
    neck = MultiScaleFuseNeck(in_channels=[4, 8, 16, 32], out_channels=6)
    feats = [torch.randn(2, c, 64 // s, 64 // s)
             for c, s in zip([4, 8, 16, 32], [4, 8, 16, 32])]
    out = neck(feats)
    assert out.shape == (2, 6, 8, 8)
    # published: a bare Conv3x3 960 -> 512 with bias, no norm, no activation
    big = MultiScaleFuseNeck(in_channels=[64, 128, 256, 512])
    assert type(big.fuse) is torch.nn.Conv2d
    assert big.fuse.weight.shape == (512, 960, 3, 3)
    assert big.fuse.bias.shape == (512, )
    assert sorted(big.state_dict()) == ['fuse.bias', 'fuse.weight']
    # PyTorch's default init: U(+-1/sqrt(fan_in)), fan_in = 960 * 9
    bound = 1 / (960 * 9)**0.5
    assert float(big.fuse.weight.abs().max()) <= bound * (1 + 1e-6)
    assert float(big.fuse.weight.abs().max()) > 0.99 * bound
    # no activation: negative outputs survive
    assert float(out.min()) < 0


def test_bn_relu_neck_is_opt_in():
    neck = MultiScaleFuseNeck(in_channels=[4, 8], out_channels=6,
                              norm_cfg=dict(type='BN'), act_cfg=dict(type='ReLU'))
    assert neck.fuse.conv.bias is None and hasattr(neck.fuse, 'bn')
    out = neck([torch.randn(2, 4, 8, 8), torch.randn(2, 8, 4, 4)])
    assert float(out.min()) >= 0


def test_errors_name_the_mismatch():
    neck = MultiScaleFuseNeck(in_channels=[4, 8], out_channels=6)
    with pytest.raises(ValueError, match=r'in_channels=\[4, 8\]'):
        neck([torch.randn(1, 4, 8, 8), torch.randn(1, 9, 4, 4)])
    with pytest.raises(ValueError, match='target_index'):
        MultiScaleFuseNeck(in_channels=[4, 8], target_index=2)
