from .cross_attention import CrossAttention, CrossAttentionBlock
from .multi_task_denoiser import MultiTaskDenoiser
from .noise_scheduler import (DDIMScheduler, DDPMScheduler, SchedulerStepOutput,
                              make_betas)
from .time_embedding import TimestepEmbedding, sinusoidal_embedding

__all__ = [
    'CrossAttention', 'CrossAttentionBlock', 'DDPMScheduler', 'DDIMScheduler',
    'MultiTaskDenoiser',
    'SchedulerStepOutput', 'make_betas', 'TimestepEmbedding', 'sinusoidal_embedding'
]
