"""Per-task dense losses returning one value per sample.

Every loss maps (logits/prediction [N, C, H, W], target [N, C_label, H, W]) to a
[N] tensor: the mean over that sample's valid pixels (0 for a sample without any),
so that the partial-label weighting can scale samples individually. Pixels that
carry the task's "no label" value (255 for class/binary maps, the zero vector for
normals, 0 for depth) never contribute.
"""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmdmtl.registry import MODELS
from mmdmtl.structures import IGNORE_INDEX, get_task


def _per_sample_mean(loss: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """sum(loss * weight) / sum(weight) per sample; 0 where the weights sum to 0.

    loss, weight: [N, ...] -> [N].
    """
    num = (loss * weight).flatten(1).sum(1)
    den = weight.flatten(1).sum(1)
    return num / den.clamp(min=1e-12) * (den > 0)


def _per_sample_sum(x: torch.Tensor) -> torch.Tensor:
    """[N, ...] -> [N] sums."""
    return x.flatten(1).sum(1)


def _valid_count(valid: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """[N, ...] bool/0-1 mask -> [N] counts, at least 1 (a sample without valid
    pixels has a zero numerator and so a zero loss)."""
    return valid.flatten(1).sum(1).clamp(min=1).to(dtype)


def _check_shapes(name: str, pred: torch.Tensor, target: torch.Tensor) -> None:
    if pred.dim() != 4 or target.dim() != 4 or pred.shape[0] != target.shape[0] \
            or pred.shape[-2:] != target.shape[-2:]:
        raise ValueError(f'{name}: prediction {tuple(pred.shape)} and target '
                         f'{tuple(target.shape)} must be [N, C, H, W] of one size')


@MODELS.register_module()
class PixelCrossEntropyLoss(nn.Module):
    """Softmax cross-entropy for class maps (semseg, human_parts); 255 ignored.

    Args:
        ignore_index (int): label to ignore. Default: 255.
        class_weight (list[float], optional): per-class weights.
    """

    def __init__(self,
                 ignore_index: int = IGNORE_INDEX,
                 class_weight: Optional[list] = None):
        super().__init__()
        self.ignore_index = ignore_index
        self.class_weight = class_weight

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_shapes(type(self).__name__, pred, target)
        target = target[:, 0].long()
        valid = target != self.ignore_index
        if self.class_weight is not None:
            cw = pred.new_tensor(self.class_weight)
            weight = cw[target.clamp(0, len(cw) - 1)] * valid
        else:
            weight = valid.to(pred.dtype)
        ce = F.cross_entropy(
            pred, target, ignore_index=self.ignore_index, reduction='none')
        return _per_sample_mean(ce, weight)


@MODELS.register_module()
class BalancedCrossEntropyLoss(nn.Module):
    """Two-class cross-entropy with class balancing (saliency).

    The weight of a class is the frequency of the OTHER class among the valid
    pixels (w_pos = n_neg / n, w_neg = n_pos / n), so the rarer class weighs more.
    Published: the counts are per image and a sample's loss is
    ``sum_valid(w * ce) / n`` (divided by the number of valid pixels).

    Args:
        balance (str): 'sample' (counts per image, published) or 'batch' (opt-in:
            counts pooled over all samples given).
        normalize (str): 'valid' (divide by the number of valid pixels,
            published) or 'weight' (opt-in: by the sum of the weights, torch's
            weighted-mean convention; = published x n^2 / (2 n_pos n_neg), at least
            2x larger).
        ignore_index (int): Default: 255.
    """

    def __init__(self,
                 balance: str = 'sample',
                 normalize: str = 'valid',
                 ignore_index: int = IGNORE_INDEX):
        super().__init__()
        if balance not in ('batch', 'sample'):
            raise ValueError("BalancedCrossEntropyLoss: balance must be 'sample' or "
                             f"'batch', got {balance!r}")
        if normalize not in ('valid', 'weight'):
            raise ValueError("BalancedCrossEntropyLoss: normalize must be 'valid' or "
                             f"'weight', got {normalize!r}")
        self.balance = balance
        self.normalize = normalize
        self.ignore_index = ignore_index

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_shapes(type(self).__name__, pred, target)
        if pred.shape[1] != 2:
            raise ValueError('BalancedCrossEntropyLoss expects 2-channel logits, got '
                             f'{pred.shape[1]}')
        target = target[:, 0].long()
        valid = target != self.ignore_index
        pos = (target == 1) & valid
        dims = (0, 1, 2) if self.balance == 'batch' else (1, 2)
        n_pos = pos.sum(dims, keepdim=True).to(pred.dtype)
        n_valid = valid.sum(dims, keepdim=True).to(pred.dtype).clamp(min=1)
        w_pos = (n_valid - n_pos) / n_valid
        w_neg = n_pos / n_valid
        weight = torch.where(pos, w_pos, w_neg) * valid
        ce = F.cross_entropy(
            pred, target, ignore_index=self.ignore_index, reduction='none')
        if self.normalize == 'weight':
            return _per_sample_mean(ce, weight)
        return _per_sample_sum(ce * weight) / _valid_count(valid, ce.dtype)


@MODELS.register_module()
class WeightedBCEWithLogitsLoss(nn.Module):
    """Binary cross-entropy on logits with fixed class weights (edges).

    Official: ``BCEWithLogits(pos_weight=0.95/0.05) * 0.05``, i.e. positive pixels
    weigh 0.95 and negative ones 0.05; the mean runs over valid pixels.

    Args:
        pos_weight (float): weight of positive pixels. Default: 0.95.
        neg_weight (float): weight of negative pixels. Default: 0.05.
        ignore_index (int): Default: 255.
    """

    def __init__(self,
                 pos_weight: float = 0.95,
                 neg_weight: float = 0.05,
                 ignore_index: int = IGNORE_INDEX):
        super().__init__()
        self.pos_weight = pos_weight
        self.neg_weight = neg_weight
        self.ignore_index = ignore_index

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_shapes(type(self).__name__, pred, target)
        if pred.shape[1] != 1:
            raise ValueError('WeightedBCEWithLogitsLoss expects 1-channel logits, got '
                             f'{pred.shape[1]}')
        valid = target != self.ignore_index
        t = (target == 1).to(pred.dtype)
        bce = F.binary_cross_entropy_with_logits(pred, t, reduction='none')
        bce = bce * (self.pos_weight * t + self.neg_weight * (1 - t))
        return _per_sample_mean(bce, valid.to(pred.dtype))


@MODELS.register_module()
class NormalsL1Loss(nn.Module):
    """L1 between the L2-normalised prediction and the unit-vector label.

    Valid pixels have a non-zero label vector. Published: the sum over valid pixels
    and the 3 channels of ``|n_hat - n|`` divided by the number of valid PIXELS.

    Args:
        channel_reduction (str): 'sum' (published: the 3 channels summed per
            pixel) or 'mean' (opt-in: averaged, i.e. the published value / 3).
    """

    def __init__(self, channel_reduction: str = 'sum'):
        super().__init__()
        if channel_reduction not in ('sum', 'mean'):
            raise ValueError("NormalsL1Loss: channel_reduction must be 'sum' or "
                             f"'mean', got {channel_reduction!r}")
        self.channel_reduction = channel_reduction

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_shapes(type(self).__name__, pred, target)
        if pred.shape[1] != 3 or target.shape[1] != 3:
            raise ValueError('NormalsL1Loss expects 3 channels, got prediction '
                             f'{pred.shape[1]} and target {target.shape[1]}')
        valid = (target.abs().sum(1, keepdim=True) > 0).to(pred.dtype)
        l1 = (F.normalize(pred, p=2, dim=1) - target.to(pred.dtype)).abs()
        if self.channel_reduction == 'mean':
            return _per_sample_mean(l1, valid.expand_as(l1))
        return _per_sample_sum(l1 * valid) / _valid_count(valid, l1.dtype)


@MODELS.register_module()
class DepthL1Loss(nn.Module):
    """L1 on pixels with a positive, finite depth label."""

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        _check_shapes(type(self).__name__, pred, target)
        target = target.to(pred.dtype)
        valid = (target > 0) & torch.isfinite(target)
        l1 = (pred - torch.where(valid, target, torch.zeros_like(target))).abs()
        return _per_sample_mean(l1, valid.to(pred.dtype))


def default_task_loss(task: str, out_channels: int) -> dict:
    """The published loss of ``task`` as a config dict."""
    kind = get_task(task).kind
    if kind == 'class':
        return dict(type='PixelCrossEntropyLoss')
    if kind == 'binary':
        if out_channels == 2:
            return dict(type='BalancedCrossEntropyLoss')
        if out_channels == 1:
            return dict(type='WeightedBCEWithLogitsLoss')
        raise ValueError(f'task {task!r} is binary: out channels must be 1 (sigmoid) '
                         f'or 2 (softmax), got {out_channels}')
    if kind == 'normals':
        return dict(type='NormalsL1Loss')
    return dict(type='DepthL1Loss')
