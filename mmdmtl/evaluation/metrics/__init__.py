from .base_dense_metric import BaseDenseMetric
from .depth_metric import DepthMetric
from .edge_metric import EdgeMetric
from .multi_task_gain import MultiTaskGain
from .normals_metric import NormalsMetric
from .saliency_metric import SaliencyMetric
from .seg_metric import HumanPartsMetric, SemSegMetric

__all__ = [
    'BaseDenseMetric', 'SemSegMetric', 'HumanPartsMetric', 'SaliencyMetric',
    'NormalsMetric', 'DepthMetric', 'EdgeMetric', 'MultiTaskGain'
]
