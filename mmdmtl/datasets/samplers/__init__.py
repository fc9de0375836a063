from .partial_label_sampler import (PartialLabelSampler, TaskCoveringBatchSampler,
                                    compose_task_covering_batches)

__all__ = [
    'PartialLabelSampler', 'TaskCoveringBatchSampler', 'compose_task_covering_batches'
]
