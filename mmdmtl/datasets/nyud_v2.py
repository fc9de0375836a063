"""NYUD-v2 in its two protocols (never mix them: different classes, sizes)."""
import os.path as osp
from typing import List

from mmdmtl.registry import DATASETS
from .file_io import read_id_list
from .mtan_npy_dataset import MTANNpyDataset
from .multi_task_dataset import MultiTaskDataset

NYU40_CLASSES = (
    'wall', 'floor', 'cabinet', 'bed', 'chair', 'sofa', 'table', 'door',
    'window', 'bookshelf', 'picture', 'counter', 'blinds', 'desk', 'shelves',
    'curtain', 'dresser', 'pillow', 'mirror', 'floor mat', 'clothes',
    'ceiling', 'books', 'refridgerator', 'television', 'paper', 'towel',
    'shower curtain', 'box', 'whiteboard', 'person', 'night stand', 'toilet',
    'sink', 'lamp', 'bathtub', 'bag', 'otherstructure', 'otherfurniture',
    'otherprop')
NYU13_CLASSES = ('bed', 'books', 'ceiling', 'chair', 'floor', 'furniture',
                 'objects', 'picture', 'sofa', 'table', 'tv', 'wall',
                 'window')


def _palette(n: int, seed: int = 7) -> list:
    """A fixed, well-spread palette (golden-ratio hues)."""
    import colorsys
    out = []
    for i in range(n):
        r, g, b = colorsys.hsv_to_rgb((i * 0.618034 + seed * 0.1) % 1.0,
                                      0.55 + 0.4 * (i % 2), 0.95 - 0.3 *
                                      ((i // 2) % 2))
        out.append([int(r * 255), int(g * 255), int(b * 255)])
    return out


@DATASETS.register_module()
class NYUDv2MTDataset(MultiTaskDataset):
    """NYUD-v2, fully supervised multi-task protocol (NYUD_MT layout of
    ATRC/InvPT/MTL-PyTorch)::

        data_root/
          images/{id}.jpg
          segmentation/{id}.png   # 0 = void, 1..40 = NYU40 class (-> 0..39)
          depth/{id}.npy          # float metres, 0 = invalid
          normals/{id}.npy        # float [H, W, 3] in [-1, 1]
          edge/{id}.npy           # float 0/1
          gt_sets/{train,val}.txt

    Tasks: semseg (40 classes), depth, normals, edge.
    """
    AVAILABLE_TASKS = ('semseg', 'normals', 'edge', 'depth')
    METAINFO = dict(
        classes=NYU40_CLASSES, palette=_palette(40))

    def __init__(self, ann_file: str = 'gt_sets/train.txt', **kwargs):
        super().__init__(ann_file=ann_file, **kwargs)

    def _load_samples(self) -> List[dict]:
        root = self.data_root
        fmts = dict(
            semseg=('segmentation', '.png',
                    dict(fmt='png_class', zero_is_void=True, offset=-1)),
            normals=('normals', '.npy', dict(fmt='npy_normals')),
            edge=('edge', '.npy', dict(fmt='npy_binary')),
            depth=('depth', '.npy', dict(fmt='npy_depth')))
        samples = []
        for sid in read_id_list(self.ann_file):
            ann = {}
            for task in self.tasks:
                folder, ext, rec = fmts[task]
                ann[task] = dict(path=osp.join(root, folder, sid + ext), **rec)
            samples.append(
                dict(img_path=osp.join(root, 'images', sid + '.jpg'),
                     sample_id=sid, ann_info=ann))
        return samples


@DATASETS.register_module()
class NYUDv2PartialDataset(MTANNpyDataset):
    """NYUD-v2, partial-label protocol (MTAN/MTPSL/DiffusionMTL): 13 classes,
    depth, normals at 288x384; 795 train / 654 val::

        data_root/{train,val}/image/{i}.npy    # float [H, W, 3] RGB in [0, 1]
                             /label/{i}.npy    # 0..12, -1 = ignore
                             /depth/{i}.npy    # [H, W(, 1)], 0 = invalid
                             /normal/{i}.npy   # [H, W, 3] in [-1, 1], 0 = invalid

    The published ``.pth`` split files have columns (semseg, depth, normals)
    and rows in image order.

    Args:
        split (str): 'train' or 'val'.
    """
    AVAILABLE_TASKS = ('semseg', 'normals', 'depth')
    SPLIT_COLUMNS = ('semseg', 'depth', 'normals')
    METAINFO = dict(classes=NYU13_CLASSES, palette=_palette(13))
    FOLDERS = dict(
        semseg=('label', dict(fmt='npy_class')),
        depth=('depth', dict(fmt='npy_depth')),
        normals=('normal', dict(fmt='npy_normals')))
