from .inferencer import MultiTaskInferencer

__all__ = ['MultiTaskInferencer']
