"""Label rules applied after the geometric transforms (the published
PASCAL_MT / NYUD_MT pipelines apply them last, in training and test alike)."""
import numpy as np
from mmcv.transforms import BaseTransform

from mmdmtl.registry import TRANSFORMS
from .loading import RESULT_KEYS

PARTS_KEY = RESULT_KEYS['human_parts']


@TRANSFORMS.register_module()
class IgnoreEmptyHumanParts(BaseTransform):
    """A human-parts map holding nothing but background (0) and ignore (255)
    becomes all 255: an image, or a training crop, without any person part
    supervises nothing for human_parts (the published PASCAL_MT rule; put it
    after the crop so that it sees the crop).

    Without it, such maps supervise "background everywhere" (opt-in: leave the
    transform out of the pipeline).

    Required Keys: (gt_part_seg)
    Modified Keys: gt_part_seg
    Added Keys: human_parts_ignored (bool, only when a map was present)

    Args:
        background (int): the background label (0).
        ignore_index (int): the ignore label (255).
    """

    def __init__(self, background: int = 0, ignore_index: int = 255):
        self.background = background
        self.ignore_index = ignore_index

    def transform(self, results: dict) -> dict:
        parts = results.get(PARTS_KEY)
        if parts is None:
            return results
        empty = bool(((parts == self.background) |
                      (parts == self.ignore_index)).all())
        if empty:
            results[PARTS_KEY] = np.full_like(parts, self.ignore_index)
        results['human_parts_ignored'] = empty
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(background={self.background}, '
                f'ignore_index={self.ignore_index})')
