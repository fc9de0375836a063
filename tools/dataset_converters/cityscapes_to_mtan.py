"""Convert official Cityscapes files to the MTAN npy layout read by
CityscapesPartialDataset: {split}/image/{i}.npy (RGB float [0, 1]),
{split}/label_7/{i}.npy (7 categories, -1 ignore) and, when disparity maps are
given, {split}/depth/{i}.npy, all resized to 128x256.

The 7 classes are the Cityscapes categories flat, construction, object, nature,
sky, human, vehicle (void and unlabelled ids -> -1), from gtFine *_labelIds.png.
Depth: disparity d = (p - 1) / 256 for p > 0 (0 = invalid), times
--disparity-scale, resized with nearest neighbour (the exact scaling of the MTAN
release is not documented; check it against your copy).

Example:
    python tools/dataset_converters/cityscapes_to_mtan.py /data/cityscapes \
        data/cityscapes --split val
"""
import argparse
import glob
import os
import os.path as osp

import cv2
import numpy as np

# Cityscapes label id -> category (0 flat .. 6 vehicle); others -> -1.
_CATEGORY = {7: 0, 8: 0, 9: 0, 10: 0, 11: 1, 12: 1, 13: 1, 14: 1, 15: 1,
             16: 1, 17: 2, 18: 2, 19: 2, 20: 2, 21: 3, 22: 3, 23: 4, 24: 5,
             25: 5, 26: 6, 27: 6, 28: 6, 29: 6, 30: 6, 31: 6, 32: 6, 33: 6}
LABEL_TO_7 = np.full(256, -1, np.int64)
for k, v in _CATEGORY.items():
    LABEL_TO_7[k] = v


def convert(src: str, dst: str, split: str, size=(128, 256),
            disparity_scale: float = 1.0) -> int:
    images = sorted(glob.glob(osp.join(src, 'leftImg8bit', split, '*',
                                       '*_leftImg8bit.png')))
    if not images:
        raise FileNotFoundError(f'no leftImg8bit/{split}/*/*_leftImg8bit.png '
                                f'under {src}')
    from mmdmtl.utils.safe_output import claim_output_dir
    h, w = size
    # dst/<split> must be new, empty or written by this converter before.
    claim_output_dir(osp.join(dst, split), 'tools/dataset_converters/'
                     'cityscapes_to_mtan.py', 'output folder')
    for sub in ('image', 'label_7', 'depth'):
        os.makedirs(osp.join(dst, split, sub), exist_ok=True)
    for i, path in enumerate(images):
        img = cv2.imread(path)
        if img is None:
            raise ValueError(f'cannot read {path}')
        rgb = cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)[..., ::-1]
        np.save(osp.join(dst, split, 'image', f'{i}.npy'),
                (rgb.astype(np.float32) / 255.0))
        stem = path.replace('leftImg8bit', 'gtFine', 1)
        lab_path = stem.replace('_leftImg8bit.png', '_gtFine_labelIds.png')
        lab = cv2.imread(lab_path, cv2.IMREAD_UNCHANGED)
        if lab is None:
            raise FileNotFoundError(f'label not found: {lab_path}')
        lab = cv2.resize(lab, (w, h), interpolation=cv2.INTER_NEAREST)
        np.save(osp.join(dst, split, 'label_7', f'{i}.npy'),
                LABEL_TO_7[lab].astype(np.float32))
        disp_path = path.replace('leftImg8bit', 'disparity')
        if osp.isfile(disp_path):
            p = cv2.imread(disp_path, cv2.IMREAD_UNCHANGED).astype(np.float32)
            disp = np.where(p > 0, (p - 1) / 256.0, 0) * disparity_scale
            disp = cv2.resize(disp, (w, h), interpolation=cv2.INTER_NEAREST)
            np.save(osp.join(dst, split, 'depth', f'{i}.npy'),
                    disp[..., None].astype(np.float32))
    return len(images)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('src', help='Cityscapes root (leftImg8bit/, gtFine/, '
                   'optional disparity/)')
    p.add_argument('dst')
    p.add_argument('--split', default='train')
    p.add_argument('--size', type=int, nargs=2, default=(128, 256))
    p.add_argument('--disparity-scale', type=float, default=1.0)
    a = p.parse_args(argv)
    n = convert(a.src, a.dst, a.split, tuple(a.size), a.disparity_scale)
    print(f'wrote {n} images to {osp.join(a.dst, a.split)}')


if __name__ == '__main__':
    from mmdmtl.utils.cli import run_tool
    run_tool(main)
