from .cross_attention import CrossAttention, CrossAttentionBlock
from .noise_scheduler import (DDIMScheduler, DDPMScheduler, SchedulerStepOutput,
                              make_betas)
from .time_embedding import TimestepEmbedding, sinusoidal_embedding

__all__ = [
    'CrossAttention', 'CrossAttentionBlock', 'DDPMScheduler', 'DDIMScheduler',
    'SchedulerStepOutput', 'make_betas', 'TimestepEmbedding', 'sinusoidal_embedding'
]
