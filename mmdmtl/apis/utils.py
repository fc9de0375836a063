"""The prediction I/O of the inferencer; it lives in ``mmdmtl.structures`` (hooks
and tools use it too), this module keeps the public ``mmdmtl.apis`` names."""
from mmdmtl.structures.prediction_io import (DEPTH_PNG_SCALE,
                                             encode_prediction_png,
                                             predictions_to_numpy,
                                             save_task_predictions)

__all__ = [
    'DEPTH_PNG_SCALE', 'encode_prediction_png', 'predictions_to_numpy',
    'save_task_predictions'
]
