"""The MTAN / MTPSL preprocessed ``.npy`` layout (NYUD-v2 partial, Cityscapes)."""
import os
import os.path as osp
import re
from typing import List

from .multi_task_dataset import MultiTaskDataset


def _numbered_npy(folder: str) -> List[str]:
    """Ids 0..N-1 of ``{i}.npy`` files; gaps are an error (the published
    split files index images by position)."""
    if not osp.isdir(folder):
        raise FileNotFoundError(f'image folder not found: {folder}')
    ids = sorted((int(m.group(1)) for m in (re.fullmatch(r'(\d+)\.npy', f)
                                            for f in os.listdir(folder)) if m))
    if ids != list(range(len(ids))):
        missing = sorted(set(range(max(ids, default=-1) + 1)) - set(ids))
        raise FileNotFoundError(
            f'{folder}: images must be numbered 0..N-1 without gaps; '
            f'{len(missing)} missing (e.g. {missing[:5]})')
    return [str(i) for i in ids]


class MTANNpyDataset(MultiTaskDataset):
    """The MTAN/MTPSL preprocessed layout ``{split}/{folder}/{i}.npy``, shared by
    ``NYUDv2PartialDataset`` and ``CityscapesPartialDataset`` (each sets
    ``FOLDERS``: task -> (folder, annotation record))."""
    FOLDERS: dict = {}

    def __init__(self, split: str = 'train', **kwargs):
        self.split = split
        super().__init__(**kwargs)

    def _load_samples(self) -> List[dict]:
        base = osp.join(self.data_root, self.split)
        ids = _numbered_npy(osp.join(base, 'image'))
        samples = []
        for sid in ids:
            ann = {
                t: dict(path=osp.join(base, self.FOLDERS[t][0], sid + '.npy'),
                        **self.FOLDERS[t][1])
                for t in self.tasks
            }
            samples.append(
                dict(img_path=osp.join(base, 'image', sid + '.npy'),
                     img_fmt='npy', sample_id=sid, ann_info=ann))
        return samples
