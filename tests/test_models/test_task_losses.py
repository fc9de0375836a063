import math

import pytest
import torch
import torch.nn.functional as F

from mmdmtl.models.losses import (BalancedCrossEntropyLoss, DepthL1Loss,
                                  NormalsL1Loss, PixelCrossEntropyLoss,
                                  WeightedBCEWithLogitsLoss, default_task_loss)


def test_cross_entropy_per_sample_ignores_255():
    logits = torch.zeros(2, 3, 1, 2)
    logits[0, 1, 0, 0] = 2.0
    target = torch.tensor([[[[1, 255]]], [[[255, 255]]]])
    out = PixelCrossEntropyLoss()(logits, target)
    expect0 = -math.log(math.exp(2) / (math.exp(2) + 2))
    assert out.shape == (2, )
    assert float(out[0]) == pytest.approx(expect0, rel=1e-6)
    assert float(out[1]) == 0.0  # no valid pixel


def test_balanced_ce_weights_the_rare_class():
    logits = torch.zeros(1, 2, 1, 4)  # ce = log 2 everywhere
    target = torch.tensor([[[[1, 0, 0, 0]]]])
    out = BalancedCrossEntropyLoss()(logits, target)
    assert float(out[0]) == pytest.approx(math.log(2), rel=1e-6)
    logits[0, 1, 0, 0] = 3.0  # the positive pixel is now right
    ce_pos = -math.log(math.exp(3) / (math.exp(3) + 1))
    w_pos, w_neg = 3 / 4, 1 / 4
    expect = (w_pos * ce_pos + 3 * w_neg * math.log(2)) / (w_pos + 3 * w_neg)
    assert float(BalancedCrossEntropyLoss()(logits, target)[0]) == pytest.approx(
        expect, rel=1e-6)
    # batch vs sample balancing differ when samples differ
    two = torch.zeros(2, 2, 1, 4)
    two[:, 1] = torch.tensor([1.0, -1, 2, 0])
    tgt = torch.tensor([[[[1, 0, 0, 0]]], [[[1, 1, 1, 0]]]])
    a = BalancedCrossEntropyLoss('batch')(two, tgt)
    b = BalancedCrossEntropyLoss('sample')(two, tgt)
    assert not torch.allclose(a, b)
    with pytest.raises(ValueError, match='balance'):
        BalancedCrossEntropyLoss('image')


def test_edge_bce_weights_095_005():
    logits = torch.tensor([[[[0.5, -1.0, 2.0]]]])
    target = torch.tensor([[[[1, 0, 255]]]])
    out = WeightedBCEWithLogitsLoss()(logits, target)
    pos = F.softplus(torch.tensor(-0.5))  # -log sigmoid(0.5)
    neg = F.softplus(torch.tensor(-1.0))  # -log(1 - sigmoid(-1))
    assert float(out[0]) == pytest.approx(float(0.95 * pos + 0.05 * neg) / 2, rel=1e-6)
    # equals the official BCEWithLogits(pos_weight=19) * 0.05 on valid pixels
    official = F.binary_cross_entropy_with_logits(
        logits[..., :2], target[..., :2].float(), pos_weight=torch.tensor(19.0)) * 0.05
    assert float(out[0]) == pytest.approx(float(official), rel=1e-5)


def test_normals_l1_normalises_prediction_and_skips_zero_vectors():
    pred = torch.zeros(1, 3, 1, 2)
    pred[0, :, 0, 0] = torch.tensor([0.0, 0.0, 5.0])  # -> (0, 0, 1)
    pred[0, :, 0, 1] = torch.tensor([1.0, 0.0, 0.0])
    target = torch.zeros(1, 3, 1, 2)
    target[0, :, 0, 0] = torch.tensor([0.0, 0.6, 0.8])
    out = NormalsL1Loss()(pred, target)
    assert float(out[0]) == pytest.approx((0.6 + 0.2) / 3, rel=1e-6)


def test_depth_l1_on_valid_pixels():
    pred = torch.tensor([[[[1.0, 2.0, 3.0]]]])
    target = torch.tensor([[[[1.5, 0.0, float('nan')]]]])
    out = DepthL1Loss()(pred, target)
    assert float(out[0]) == pytest.approx(0.5)
    with pytest.raises(ValueError, match='same size|one size'):
        DepthL1Loss()(pred, target[..., :2])


def test_default_losses_by_task_kind():
    assert default_task_loss('semseg', 21)['type'] == 'PixelCrossEntropyLoss'
    assert default_task_loss('sal', 2)['type'] == 'BalancedCrossEntropyLoss'
    assert default_task_loss('edge', 1)['type'] == 'WeightedBCEWithLogitsLoss'
    assert default_task_loss('normals', 3)['type'] == 'NormalsL1Loss'
    assert default_task_loss('depth', 1)['type'] == 'DepthL1Loss'
    with pytest.raises(ValueError, match='binary'):
        default_task_loss('sal', 3)
