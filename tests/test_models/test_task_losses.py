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


def test_balanced_ce_published_per_image_divided_by_valid_pixels():
    logits = torch.zeros(1, 2, 1, 5)  # ce = log 2 everywhere
    target = torch.tensor([[[[1, 0, 0, 0, 255]]]])  # n = 4 valid, 1 pos, 3 neg
    logits[0, 1, 0, 0] = 3.0  # the positive pixel is now right
    ce_pos = -math.log(math.exp(3) / (math.exp(3) + 1))
    w_pos, w_neg = 3 / 4, 1 / 4  # w_pos = n_neg / n; weights [1 - w_pos, w_pos]
    published = (w_pos * ce_pos + 3 * w_neg * math.log(2)) / 4
    assert float(BalancedCrossEntropyLoss()(logits, target)[0]) == pytest.approx(
        published, rel=1e-6)
    # opt-in: divide by the sum of the weights (n^2 / (2 n_pos n_neg) = 8/3 x larger)
    by_weight = BalancedCrossEntropyLoss(normalize='weight')(logits, target)
    assert float(by_weight[0]) == pytest.approx(published * 16 / 6, rel=1e-6)
    # the counts are per image by default: a second image changes nothing
    two = torch.cat([logits, torch.zeros(1, 2, 1, 5)])
    tgt = torch.cat([target, torch.tensor([[[[1, 1, 1, 0, 0]]]])])
    out = BalancedCrossEntropyLoss()(two, tgt)
    assert float(out[0]) == pytest.approx(published, rel=1e-6)
    # second image: 3 pos / 2 neg, ce = log 2: (3 * 2/5 + 2 * 3/5) log 2 / 5
    assert float(out[1]) == pytest.approx(2.4 * math.log(2) / 5, rel=1e-6)
    pooled = BalancedCrossEntropyLoss(balance='batch')(two, tgt)
    assert not torch.allclose(pooled, out)
    # an image without valid pixels contributes 0
    empty = BalancedCrossEntropyLoss()(torch.zeros(1, 2, 1, 2),
                                       torch.full((1, 1, 1, 2), 255))
    assert float(empty[0]) == 0.0
    with pytest.raises(ValueError, match='balance'):
        BalancedCrossEntropyLoss('image')
    with pytest.raises(ValueError, match='normalize'):
        BalancedCrossEntropyLoss(normalize='mean')


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
    # published: |n_hat - n| summed over the 3 channels / number of valid PIXELS
    out = NormalsL1Loss()(pred, target)
    assert float(out[0]) == pytest.approx(0.6 + 0.2, rel=1e-6)
    mean = NormalsL1Loss(channel_reduction='mean')(pred, target)
    assert float(mean[0]) == pytest.approx((0.6 + 0.2) / 3, rel=1e-6)
    with pytest.raises(ValueError, match='channel_reduction'):
        NormalsL1Loss('max')


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
