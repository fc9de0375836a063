from .partial_label_sampler import (PartialLabelSampler,
                                    compose_task_covering_batches)

__all__ = ['PartialLabelSampler', 'compose_task_covering_batches']
