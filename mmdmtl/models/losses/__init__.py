from .partial_label_weighting import partial_label_weights
from .task_losses import (BalancedCrossEntropyLoss, DepthL1Loss, NormalsL1Loss,
                          PixelCrossEntropyLoss, WeightedBCEWithLogitsLoss,
                          default_task_loss)

__all__ = [
    'partial_label_weights', 'BalancedCrossEntropyLoss', 'DepthL1Loss',
    'NormalsL1Loss', 'PixelCrossEntropyLoss', 'WeightedBCEWithLogitsLoss',
    'default_task_loss'
]
