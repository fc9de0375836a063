import pytest
import torch

from mmdmtl.models.necks import MultiScaleFuseNeck


def test_fuses_all_stages_at_stride_8():
    neck = MultiScaleFuseNeck(in_channels=[4, 8, 16, 32], out_channels=6)
    feats = [torch.randn(2, c, 64 // s, 64 // s)
             for c, s in zip([4, 8, 16, 32], [4, 8, 16, 32])]
    out = neck(feats)
    assert out.shape == (2, 6, 8, 8)
    # official sizes: 960 -> 512 conv3x3
    big = MultiScaleFuseNeck(in_channels=[64, 128, 256, 512])
    assert big.fuse.conv.weight.shape == (512, 960, 3, 3)


def test_errors_name_the_mismatch():
    neck = MultiScaleFuseNeck(in_channels=[4, 8], out_channels=6)
    with pytest.raises(ValueError, match=r'in_channels=\[4, 8\]'):
        neck([torch.randn(1, 4, 8, 8), torch.randn(1, 9, 4, 4)])
    with pytest.raises(ValueError, match='target_index'):
        MultiScaleFuseNeck(in_channels=[4, 8], target_index=2)
