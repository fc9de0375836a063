"""Weighting of (sample, task) losses under partial labels (official recipe)."""
import torch


def partial_label_weights(labeled: torch.Tensor) -> torch.Tensor:
    """[B, T] bool "is labelled" -> [B, T] float weights.

    A labelled entry of sample b weighs ``T / (number of tasks labelled in b)``;
    an unlabelled one weighs 0. So every sample contributes as if all its tasks were
    labelled, whatever the split gives it (one-label: a sample's single task weighs
    T). Samples with no label at all weigh 0 everywhere.
    """
    if labeled.dim() != 2:
        raise ValueError('partial_label_weights expects a [B, T] mask, got shape '
                         f'{tuple(labeled.shape)}')
    lab = labeled.float()
    n = lab.sum(1, keepdim=True)
    return lab * (labeled.shape[1] / n.clamp(min=1))
