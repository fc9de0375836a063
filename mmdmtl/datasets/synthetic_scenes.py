"""SyntheticScenesDataset: the embedded default dataset, ray-cast rooms with exact
labels for all six tasks.

The scenes, the renderer and the files on disk are ``mmdmtl.datasets.synthetic``
(see its modules' docstrings for the labels and the layout); this module reads
them back. Its generation names stay importable from here.
"""
import os.path as osp
import time
from typing import List, Optional

from mmdmtl.registry import DATASETS
from .file_io import read_id_list
from .multi_task_dataset import MultiTaskDataset
from .synthetic import (BOX, CEILING, CYLINDER, FIGURE, FLOOR, FOREGROUND,
                        GENERATOR_VERSION, RUG, SPHERE, SUBDIRS,
                        SYNTHETIC_CLASSES, SYNTHETIC_PALETTE,
                        SYNTHETIC_PART_CLASSES, SYNTHETIC_PART_PALETTE, WALL,
                        WINDOW, generate_sample, generate_synthetic_scenes,
                        render_scene, sample_id, synthetic_manifest)

__all__ = [
    'SyntheticScenesDataset', 'BOX', 'CEILING', 'CYLINDER', 'FIGURE', 'FLOOR',
    'FOREGROUND', 'GENERATOR_VERSION', 'RUG', 'SPHERE', 'SUBDIRS',
    'SYNTHETIC_CLASSES', 'SYNTHETIC_PALETTE', 'SYNTHETIC_PART_CLASSES',
    'SYNTHETIC_PART_PALETTE', 'WALL', 'WINDOW', 'generate_sample',
    'generate_synthetic_scenes', 'render_scene', 'sample_id',
    'synthetic_manifest'
]


@DATASETS.register_module()
class SyntheticScenesDataset(MultiTaskDataset):
    """The embedded default dataset: procedurally ray-cast rooms (see
    ``mmdmtl.datasets.synthetic``) with exact labels for all six tasks.

    Generated to ``data_root`` on first use (or when the generation parameters
    differ from ``data_root/manifest.json``), then read back through the
    ordinary loading path like any other dataset.

    Args:
        split (str): 'train' or 'val'.
        generate (dict, optional): generation parameters ``num_train``,
            ``num_val``, ``size`` (h, w), ``seed``, ``num_workers``; None: use
            what is on disk (error if nothing is).
        Other args: see ``MultiTaskDataset``.
    """
    AVAILABLE_TASKS = ('semseg', 'human_parts', 'sal', 'normals', 'edge',
                       'depth')
    METAINFO = dict(
        classes=SYNTHETIC_CLASSES,
        palette=SYNTHETIC_PALETTE,
        part_classes=SYNTHETIC_PART_CLASSES,
        part_palette=SYNTHETIC_PART_PALETTE)

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 generate: Optional[dict] = None,
                 **kwargs):
        if split not in ('train', 'val'):
            raise ValueError(f"split must be 'train' or 'val', got {split!r}")
        self.split = split
        if generate is not None:
            unknown = set(generate) - {'num_train', 'num_val', 'size', 'seed',
                                       'num_workers'}
            if unknown:
                raise ValueError(f'unknown generate key(s) {sorted(unknown)}')
            self._ensure(data_root, generate)
        elif not osp.isfile(osp.join(data_root, 'manifest.json')):
            raise FileNotFoundError(
                f'no synthetic dataset in {data_root} (no manifest.json): pass '
                'generate=dict(...) or run '
                'tools/dataset_converters/generate_synthetic_scenes.py')
        kwargs.setdefault('ann_file', f'gt_sets/{split}.txt')
        super().__init__(data_root=data_root, **kwargs)

    @staticmethod
    def _ensure(data_root: str, generate: dict) -> None:
        from mmengine.dist import barrier, get_rank, is_distributed
        if get_rank() == 0:
            t0 = time.time()
            made = generate_synthetic_scenes(data_root, **generate)
            if made:
                from mmengine.logging import print_log
                print_log(f'generated SyntheticScenes in {data_root} '
                          f'({time.time() - t0:.1f} s): {generate}',
                          logger='current')
        if is_distributed():
            barrier()

    def _load_samples(self) -> List[dict]:
        root = self.data_root
        recs = dict(
            semseg=('segmentation', '.png', dict(fmt='png_class')),
            human_parts=('human_parts', '.png', dict(fmt='png_class')),
            sal=('sal', '.png', dict(fmt='png_binary', threshold=127)),
            normals=('normals', '.png', dict(fmt='png16_normals')),
            edge=('edge', '.png', dict(fmt='png_binary', threshold=127)),
            depth=('depth', '.npy', dict(fmt='npy_depth')))
        samples = []
        for sid in read_id_list(self.ann_file):
            ann = {
                t: dict(path=osp.join(root, recs[t][0], sid + recs[t][1]),
                        **recs[t][2])
                for t in self.tasks
            }
            samples.append(
                dict(img_path=osp.join(root, 'images', sid + '.png'),
                     sample_id=sid, ann_info=ann))
        return samples

