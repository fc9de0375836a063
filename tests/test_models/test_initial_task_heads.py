import pytest
import torch

from mmdmtl.models.decode_heads import InitialTaskHeads


def test_shapes_and_structure():
    heads = InitialTaskHeads(dict(semseg=5, normals=3), in_channels=6, channels=8)
    feats, preds = heads(torch.randn(2, 6, 4, 4))
    assert list(feats) == ['semseg', 'normals']
    assert feats['semseg'].shape == (2, 8, 4, 4)
    assert preds['semseg'].shape == (2, 5, 4, 4) and preds['normals'].shape[1] == 3
    assert len(heads.blocks['semseg']) == 2
    # features come out of a ReLU
    assert float(feats['normals'].min()) >= 0
    # official: 2 BasicBlocks of 512 = 4 conv3x3 per task
    big = InitialTaskHeads(dict(semseg=21))
    n = sum(p.numel() for p in big.blocks['semseg'].parameters())
    assert n == 4 * (512 * 512 * 9 + 2 * 512)


def test_bad_tasks():
    with pytest.raises(ValueError, match='unknown task'):
        InitialTaskHeads(dict(segm=3))
    with pytest.raises(ValueError, match='positive ints'):
        InitialTaskHeads(dict(semseg=0))
