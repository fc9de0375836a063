"""Cityscapes in the MTAN/MTPSL partial-label protocol."""
from mmdmtl.registry import DATASETS
from .mtan_npy_dataset import MTANNpyDataset

CITYSCAPES7_CLASSES = ('flat', 'construction', 'object', 'nature', 'sky',
                       'human', 'vehicle')
CITYSCAPES7_PALETTE = [[128, 64, 128], [70, 70, 70], [250, 170, 30],
                       [107, 142, 35], [70, 130, 180], [220, 20, 60],
                       [0, 0, 142]]


@DATASETS.register_module()
class CityscapesPartialDataset(MTANNpyDataset):
    """Cityscapes, MTAN 7-class + depth at 128x256 (2975 train / 500 val)::

        data_root/{train,val}/image/{i}.npy     # float [H, W, 3] RGB in [0, 1]
                             /label_7/{i}.npy   # 0..6, -1 = ignore
                             /depth/{i}.npy     # [H, W(, 1)] disparity-scaled,
                                                #  0 = invalid

    The published ``.pth`` split has columns (semseg, depth).
    ``tools/dataset_converters/cityscapes_to_mtan.py`` writes this layout from
    the official leftImg8bit/gtFine/disparity files.

    Args:
        split (str): 'train' or 'val'.
        label_folder (str): 'label_7' (default).
    """
    AVAILABLE_TASKS = ('semseg', 'depth')
    SPLIT_COLUMNS = ('semseg', 'depth')
    METAINFO = dict(classes=CITYSCAPES7_CLASSES, palette=CITYSCAPES7_PALETTE)

    def __init__(self, label_folder: str = 'label_7', **kwargs):
        self.FOLDERS = dict(
            semseg=(label_folder, dict(fmt='npy_class')),
            depth=('depth', dict(fmt='npy_depth')))
        super().__init__(**kwargs)
