"""PASCAL-Context multi-task (the PASCAL_MT layout of Maninis et al.)."""
import os.path as osp
from typing import List

from mmdmtl.registry import DATASETS
from .file_io import read_id_list
from .multi_task_dataset import MultiTaskDataset

PASCAL_CLASSES = ('background', 'aeroplane', 'bicycle', 'bird', 'boat',
                  'bottle', 'bus', 'car', 'cat', 'chair', 'cow', 'diningtable',
                  'dog', 'horse', 'motorbike', 'person', 'pottedplant',
                  'sheep', 'sofa', 'train', 'tvmonitor')
PASCAL_PALETTE = [[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0],
                  [0, 0, 128], [128, 0, 128], [0, 128, 128], [128, 128, 128],
                  [64, 0, 0], [192, 0, 0], [64, 128, 0], [192, 128, 0],
                  [64, 0, 128], [192, 0, 128], [64, 128, 128],
                  [192, 128, 128], [0, 64, 0], [128, 64, 0], [0, 192, 0],
                  [128, 192, 0], [0, 64, 128]]
HUMAN_PART_CLASSES = ('background', 'head', 'torso', 'upper_arm', 'lower_arm',
                      'upper_leg', 'lower_leg')
HUMAN_PART_PALETTE = [[0, 0, 0], [128, 0, 0], [0, 128, 0], [128, 128, 0],
                      [0, 0, 128], [128, 0, 128], [0, 128, 128]]


@DATASETS.register_module()
class PascalContextMTDataset(MultiTaskDataset):
    """PASCAL-Context for multi-task learning (PASCAL_MT layout)::

        data_root/
          JPEGImages/{id}.jpg
          semseg/VOC12/{id}.png | semseg/pascal-context/{id}.png  # 0..20, 255
          human_parts/{id}.mat        # PASCAL-Part Annotations_Part
          sal_distill/{id}.png        # 0..255, > 127 = salient
          normals_distill/{id}.png    # RGB, n = 2 v / 255 - 1
          pascal-context/trainval/{id}.mat   # LabelMap -> edges
          ImageSets/Context/{train,val}.txt

    Tasks: semseg (21 classes), human_parts (7), sal, normals, edge. Semseg is
    read from ``semseg/VOC12`` when the image has a file there, else from
    ``semseg/pascal-context`` (the PASCAL_MT rule). Images without a person
    get an all-background human-parts map. Normals stored as (255, 255, 255)
    are invalid (zero vectors).

    Args:
        ann_file (str): image-id list (default ``ImageSets/Context/train.txt``).
        sal_threshold (int): saliency = value > threshold (127).
        split columns: the published ``.npy`` splits name their tasks.
    """
    AVAILABLE_TASKS = ('semseg', 'human_parts', 'sal', 'normals', 'edge')
    METAINFO = dict(
        classes=PASCAL_CLASSES,
        palette=PASCAL_PALETTE,
        part_classes=HUMAN_PART_CLASSES,
        part_palette=HUMAN_PART_PALETTE,
        edge_max_dist=0.0075)

    def __init__(self,
                 ann_file: str = 'ImageSets/Context/train.txt',
                 sal_threshold: int = 127,
                 **kwargs):
        self.sal_threshold = sal_threshold
        super().__init__(ann_file=ann_file, **kwargs)

    def _semseg_path(self, sid: str) -> str:
        voc = osp.join(self.data_root, 'semseg', 'VOC12', sid + '.png')
        if osp.isfile(voc):
            return voc
        return osp.join(self.data_root, 'semseg', 'pascal-context',
                        sid + '.png')

    def _load_samples(self) -> List[dict]:
        root = self.data_root
        samples = []
        for sid in read_id_list(self.ann_file):
            ann = {}
            if 'semseg' in self.tasks:
                ann['semseg'] = dict(path=self._semseg_path(sid),
                                     fmt='png_class')
            if 'human_parts' in self.tasks:
                ann['human_parts'] = dict(
                    path=osp.join(root, 'human_parts', sid + '.mat'),
                    fmt='pascal_parts_mat')
            if 'sal' in self.tasks:
                ann['sal'] = dict(
                    path=osp.join(root, 'sal_distill', sid + '.png'),
                    fmt='png_binary', threshold=self.sal_threshold)
            if 'normals' in self.tasks:
                ann['normals'] = dict(
                    path=osp.join(root, 'normals_distill', sid + '.png'),
                    fmt='png_normals')
            if 'edge' in self.tasks:
                ann['edge'] = dict(
                    path=osp.join(root, 'pascal-context', 'trainval',
                                  sid + '.mat'),
                    fmt='pascal_context_edge_mat')
            samples.append(
                dict(img_path=osp.join(root, 'JPEGImages', sid + '.jpg'),
                     sample_id=sid, ann_info=ann))
        return samples
