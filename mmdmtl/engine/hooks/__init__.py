from .atomic_checkpoint_hook import AtomicCheckpointHook
from .checkpoint_check_hook import CheckpointCheckHook
from .dataset_record_hook import DatasetRecordHook
from .exact_resume_hook import ExactResumeHook
from .fast_inference_hook import FastInferenceHook
from .nonfinite_loss_hook import NonFiniteLossHook
from .sync_buffers_hook import SyncBuffersHook
from .train_check_hook import TrainCheckHook
from .visualization_hook import (MultiTaskPredictionSaveHook,
                                 MultiTaskVisualizationHook,
                                 SegPanelVisualizationHook)

__all__ = [
    'AtomicCheckpointHook', 'CheckpointCheckHook', 'DatasetRecordHook',
    'ExactResumeHook',
    'FastInferenceHook', 'NonFiniteLossHook', 'SyncBuffersHook', 'TrainCheckHook',
    'MultiTaskVisualizationHook', 'MultiTaskPredictionSaveHook',
    'SegPanelVisualizationHook'
]
