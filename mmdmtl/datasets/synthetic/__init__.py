"""SyntheticScenes generation: procedurally ray-cast rooms with exact labels.

* ``scene``: the label classes and the random rooms (``sample_scene``);
* ``raycast``: ray / primitive intersections;
* ``renderer``: a scene ray-cast into an image and six labels
  (``render_scene``, ``generate_sample``);
* ``writer``: the files on disk, the manifest and the folder rules
  (``generate_synthetic_scenes``; ``filelock`` serialises the processes that
  generate one folder).

The dataset that reads the files is ``mmdmtl.datasets.SyntheticScenesDataset``.
"""
from .renderer import generate_sample, render_scene
from .scene import (BOX, CEILING, CYLINDER, FIGURE, FLOOR, FOREGROUND, RUG,
                    SPHERE, SYNTHETIC_CLASSES, SYNTHETIC_PALETTE,
                    SYNTHETIC_PART_CLASSES, SYNTHETIC_PART_PALETTE, WALL,
                    WINDOW, sample_scene)
from .writer import (GENERATOR_VERSION, SUBDIRS, generate_synthetic_scenes,
                     is_synthetic_root, sample_id, synthetic_manifest)

__all__ = [
    'BOX', 'CEILING', 'CYLINDER', 'FIGURE', 'FLOOR', 'FOREGROUND',
    'GENERATOR_VERSION', 'RUG', 'SPHERE', 'SUBDIRS', 'SYNTHETIC_CLASSES',
    'SYNTHETIC_PALETTE', 'SYNTHETIC_PART_CLASSES', 'SYNTHETIC_PART_PALETTE',
    'WALL', 'WINDOW', 'generate_sample', 'generate_synthetic_scenes',
    'is_synthetic_root', 'render_scene', 'sample_id', 'sample_scene',
    'synthetic_manifest'
]
