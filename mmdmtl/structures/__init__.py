from .multi_task_data_sample import (MultiTaskDataSample, labeled_task_mask,
                                     stack_task_targets)
from .tasks import (IGNORE_INDEX, TASK_NAMES, TASKS, TaskSpec, check_task_names,
                    get_task, task_out_channels)

__all__ = [
    'MultiTaskDataSample', 'labeled_task_mask', 'stack_task_targets', 'TASKS',
    'TASK_NAMES', 'TaskSpec', 'IGNORE_INDEX', 'check_task_names', 'get_task',
    'task_out_channels'
]
