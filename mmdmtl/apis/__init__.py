from .inferencer import MultiTaskInferencer
from .utils import (DEPTH_PNG_SCALE, encode_prediction_png, predictions_to_numpy,
                    save_task_predictions)

__all__ = [
    'MultiTaskInferencer', 'predictions_to_numpy', 'save_task_predictions',
    'encode_prediction_png', 'DEPTH_PNG_SCALE'
]
