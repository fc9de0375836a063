from .cityscapes import CityscapesPartialDataset
from .file_io import DataFileError
from .multi_task_dataset import MultiTaskDataset
from .multi_task_folder import MultiTaskFolderDataset
from .nyud_v2 import NYUDv2MTDataset, NYUDv2PartialDataset
from .partial_labels import (LABEL_SETTINGS, generate_label_matrix,
                             read_split_file, write_split_file)
from .pascal_context import PascalContextMTDataset
from .samplers import PartialLabelSampler, TaskCoveringBatchSampler
from .synthetic_scenes import (SyntheticScenesDataset,
                               generate_synthetic_scenes)
from .transforms import *  # noqa: F401,F403

__all__ = [
    'MultiTaskDataset', 'MultiTaskFolderDataset', 'PascalContextMTDataset',
    'NYUDv2MTDataset',
    'NYUDv2PartialDataset', 'CityscapesPartialDataset',
    'SyntheticScenesDataset', 'generate_synthetic_scenes',
    'PartialLabelSampler', 'TaskCoveringBatchSampler', 'DataFileError', 'LABEL_SETTINGS',
    'generate_label_matrix', 'read_split_file', 'write_split_file'
]
