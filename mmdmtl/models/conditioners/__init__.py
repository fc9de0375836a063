from .multi_task_conditioner import MultiTaskConditioner

__all__ = ['MultiTaskConditioner']
