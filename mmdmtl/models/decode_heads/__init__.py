from .diffusion_refinement_head import DiffusionRefinementHead
from .initial_task_heads import InitialTaskHeads

__all__ = ['DiffusionRefinementHead', 'InitialTaskHeads']
