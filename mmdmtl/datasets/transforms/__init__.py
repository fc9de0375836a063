from .annotation_decoders import ANN_DECODERS, register_decoder
from .formatting import PackMultiTaskInputs
from .geometric import (MultiTaskPad, MultiTaskRandomCrop, MultiTaskRandomFlip,
                        MultiTaskRandomScale, MultiTaskResize, RandomScaleCrop)
from .label_rules import IgnoreEmptyHumanParts
from .loading import (KEY_TO_TASK, RESULT_KEYS, LoadMultiTaskAnnotations,
                      LoadMultiTaskImage)

__all__ = [
    'ANN_DECODERS', 'register_decoder', 'IgnoreEmptyHumanParts', 'PackMultiTaskInputs',
    'MultiTaskPad', 'MultiTaskRandomCrop', 'MultiTaskRandomFlip',
    'MultiTaskRandomScale', 'MultiTaskResize', 'RandomScaleCrop',
    'KEY_TO_TASK', 'RESULT_KEYS', 'LoadMultiTaskAnnotations',
    'LoadMultiTaskImage'
]
