"""PASCAL-Context multi-task (the PASCAL_MT layout of Maninis et al.)."""
import os.path as osp
from typing import List, Optional, Sequence, Union

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

# PASCAL-Context LabelMap class ids (of the 459 in pascal-context/trainval/*.mat)
# on which the published PASCAL_MT loaders keep the distilled surface normals:
# the context classes with an NYU counterpart (by name, 'unknown' excluded)
# plus 'tvmonitor'. Every other pixel (sky, tree, water, grass, aeroplane,
# bird, ...) has no valid normal. 170 ids.
NORMALS_VALID_CONTEXT_CLASSES = (
    3, 4, 6, 9, 10, 11, 13, 15, 17, 18, 22, 23, 29, 30, 33, 34, 36, 37, 38,
    39, 41, 43, 46, 49, 50, 51, 53, 55, 56, 59, 61, 62, 65, 66, 68, 69, 72,
    73, 78, 83, 84, 85, 87, 88, 95, 96, 101, 104, 105, 107, 111, 113, 115,
    122, 124, 135, 141, 142, 143, 146, 150, 154, 157, 158, 159, 165, 172,
    174, 181, 183, 184, 191, 193, 195, 197, 199, 202, 213, 215, 216, 219,
    220, 223, 225, 228, 230, 232, 233, 238, 239, 242, 243, 246, 250, 251,
    252, 255, 260, 261, 263, 269, 272, 273, 275, 281, 283, 284, 285, 286,
    287, 288, 290, 291, 292, 293, 295, 304, 307, 309, 310, 314, 315, 319,
    323, 329, 330, 331, 336, 342, 345, 349, 350, 351, 352, 355, 357, 368,
    370, 371, 374, 379, 380, 383, 384, 397, 401, 403, 405, 407, 408, 411,
    412, 413, 414, 417, 419, 421, 423, 427, 429, 430, 432, 440, 441, 442,
    443, 444, 446, 454, 457)


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
    get an all-background human-parts map (the ``IgnoreEmptyHumanParts``
    transform of the configs then ignores it, as published).

    The defaults reproduce the published PASCAL_MT ground truth
    (docs/datasets.md): normals n = 2 v / 255 - 1 kept only on the LabelMap
    classes of ``NORMALS_VALID_CONTEXT_CLASSES`` (zero = invalid elsewhere);
    edges = |Laplacian(LabelMap)| > 0 thinned with ``skimage.morphology.thin``;
    semseg loaded on every image, labelled or not, as an auxiliary label for
    ``MultiTaskRandomCrop``'s ``cat_max_ratio`` check (published: labels are
    blanked only after the transforms); in training only, when semseg is one
    of ``tasks``; it never reaches a loss.

    Args:
        ann_file (str): image-id list (default ``ImageSets/Context/train.txt``).
        sal_threshold (int): saliency = value > threshold (127).
        normals_valid_classes ('published' | Sequence[int] | None): LabelMap
            classes on which normals are valid. 'published' (default) = the
            170 ids above; None (opt-in) keeps the normals of every pixel.
        split columns: the published ``.npy`` splits name their tasks.
    """
    AVAILABLE_TASKS = ('semseg', 'human_parts', 'sal', 'normals', 'edge')
    METAINFO = dict(
        classes=PASCAL_CLASSES,
        palette=PASCAL_PALETTE,
        part_classes=HUMAN_PART_CLASSES,
        part_palette=HUMAN_PART_PALETTE)

    def __init__(self,
                 ann_file: str = 'ImageSets/Context/train.txt',
                 sal_threshold: int = 127,
                 normals_valid_classes: Union[str, Sequence[int],
                                              None] = 'published',
                 **kwargs):
        self.sal_threshold = sal_threshold
        if isinstance(normals_valid_classes, str):
            if normals_valid_classes != 'published':
                raise ValueError("normals_valid_classes must be 'published', "
                                 'a list of LabelMap ids or None, got '
                                 f'{normals_valid_classes!r}')
            normals_valid_classes = NORMALS_VALID_CONTEXT_CLASSES
        self.normals_valid_classes: Optional[tuple] = (
            None if normals_valid_classes is None else tuple(
                int(c) for c in normals_valid_classes))
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
            label_map = osp.join(root, 'pascal-context', 'trainval',
                                 sid + '.mat')
            semseg = dict(path=self._semseg_path(sid), fmt='png_class')
            if 'semseg' in self.tasks:
                ann['semseg'] = semseg
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
                    fmt='png_normals', white_invalid=False)
                if self.normals_valid_classes is not None:
                    ann['normals'].update(
                        label_map=label_map,
                        valid_classes=self.normals_valid_classes)
            if 'edge' in self.tasks:
                ann['edge'] = dict(path=label_map, fmt='pascal_context_edge_mat')
            sample = dict(img_path=osp.join(root, 'JPEGImages', sid + '.jpg'),
                          sample_id=sid, ann_info=ann)
            if 'semseg' in self.tasks and not self.test_mode:
                # Loaded only where semseg is not labelled (see
                # LoadMultiTaskAnnotations); dropped when packing.
                sample['aux_ann_info'] = dict(semseg=semseg)
            samples.append(sample)
        return samples
