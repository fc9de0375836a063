from .annotation_decoders import ANN_DECODERS, register_decoder, thin_edges
from .formatting import PackMultiTaskInputs
from .geometric import (MultiTaskPad, MultiTaskRandomCrop, MultiTaskRandomFlip,
                        MultiTaskRandomScale, MultiTaskResize, RandomScaleCrop)
from .loading import (KEY_TO_TASK, RESULT_KEYS, LoadMultiTaskAnnotations,
                      LoadMultiTaskImage)

__all__ = [
    'ANN_DECODERS', 'register_decoder', 'thin_edges', 'PackMultiTaskInputs',
    'MultiTaskPad', 'MultiTaskRandomCrop', 'MultiTaskRandomFlip',
    'MultiTaskRandomScale', 'MultiTaskResize', 'RandomScaleCrop',
    'KEY_TO_TASK', 'RESULT_KEYS', 'LoadMultiTaskAnnotations',
    'LoadMultiTaskImage'
]
