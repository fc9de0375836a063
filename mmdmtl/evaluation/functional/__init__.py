"""Plain numpy/torch functions behind the dense metrics (usable on their own)."""
from .depth import DEPTH_SUM_KEYS, batch_depth_sums, depth_scores
from .edge import (average_precision, bwmorph_thin, edge_pr_counts, edge_scores,
                   edge_thresholds, match_count)
from .gain import (LOWER_IS_BETTER, STL_REFERENCES, is_lower_better,
                   multi_task_gain, resolve_reference)
from .normals import (DEFAULT_ANGLE_THRESHOLDS, batch_normal_stats,
                      histogram_median, normal_angles, normal_scores,
                      num_angle_bins)
from .saliency import (batch_binary_pr_counts, default_saliency_thresholds,
                       fbeta_from_counts, max_fbeta)
from .segmentation import (areas_from_confusion, batch_class_areas,
                           batch_confusion_matrices, confusion_matrix, mean_iou,
                           segmentation_scores)

__all__ = [
    'batch_confusion_matrices', 'confusion_matrix', 'areas_from_confusion',
    'batch_class_areas', 'segmentation_scores', 'mean_iou', 'normal_angles',
    'batch_normal_stats', 'histogram_median', 'normal_scores', 'num_angle_bins',
    'DEFAULT_ANGLE_THRESHOLDS', 'batch_depth_sums', 'depth_scores',
    'DEPTH_SUM_KEYS', 'batch_binary_pr_counts', 'fbeta_from_counts', 'max_fbeta',
    'default_saliency_thresholds', 'edge_thresholds', 'bwmorph_thin',
    'match_count', 'edge_pr_counts', 'edge_scores', 'average_precision',
    'multi_task_gain', 'resolve_reference', 'is_lower_better',
    'STL_REFERENCES', 'LOWER_IS_BETTER'
]
