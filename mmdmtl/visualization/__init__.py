from .colorize import (INVALID_COLOR, colorize_binary_label, colorize_class_map,
                       colorize_depth, colorize_heatmap, colorize_normals,
                       depth_range, load_image_rgb, make_palette)
from .multi_task_visualizer import MultiTaskVisualizer

__all__ = [
    'MultiTaskVisualizer', 'make_palette', 'colorize_class_map', 'colorize_heatmap',
    'colorize_binary_label', 'colorize_normals', 'colorize_depth', 'depth_range',
    'INVALID_COLOR', 'load_image_rgb'
]
