from .cross_attention import CrossAttention, CrossAttentionBlock
from .noise_scheduler import DiffusionNoiseScheduler
from .time_embedding import TimestepEmbedding, sinusoidal_embedding

__all__ = [
    'CrossAttention', 'CrossAttentionBlock', 'DiffusionNoiseScheduler',
    'TimestepEmbedding', 'sinusoidal_embedding'
]
