"""Write a small dataset in plain folders, the layout MultiTaskFolderDataset reads.

The example of docs/customize_datasets.md, for trying the tutorial without data of
one's own: SyntheticScenes images as JPEG, semseg as class-id PNG (9 classes, 255 =
ignore) and depth as 16-bit PNG in millimetres, plus the id lists::

    OUT/images/0000.jpg ...  OUT/semseg/0000.png ...  OUT/depth/0000.png ...
    OUT/splits/train.txt     OUT/splits/val.txt

Example:
    python tools/dataset_converters/make_folder_example.py data/my_dataset \\
        --num-train 200 --num-val 40 --size 128 128
"""
import argparse
import os
import os.path as osp
import sys

import cv2
import numpy as np


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('out', help='output folder (new or empty)')
    p.add_argument('--num-train', type=int, default=200)
    p.add_argument('--num-val', type=int, default=40)
    p.add_argument('--size', type=int, nargs=2, default=(128, 128),
                   metavar=('H', 'W'))
    p.add_argument('--seed', type=int, default=0)
    return p.parse_args(argv)


def write_folder_example(out: str, num_train: int = 200, num_val: int = 40,
                         size=(128, 128), seed: int = 0) -> None:
    from mmdmtl.datasets.synthetic_scenes import generate_sample
    if osp.isdir(out) and os.listdir(out):
        raise FileExistsError(f'{out} exists and is not empty; choose a new '
                              'folder')
    for d in ('images', 'semseg', 'depth', 'splits'):
        os.makedirs(osp.join(out, d), exist_ok=True)
    ids = {'train': [], 'val': []}
    k = 0
    for split, n in (('train', num_train), ('val', num_val)):
        for i in range(n):
            s = generate_sample(seed, split, i, tuple(size))
            sid = f'{k:04d}'
            k += 1
            cv2.imwrite(osp.join(out, 'images', sid + '.jpg'),
                        s['image'][..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 95])
            cv2.imwrite(osp.join(out, 'semseg', sid + '.png'),
                        s['semseg'].astype(np.uint8))
            mm = np.clip(np.round(s['depth'] * 1000), 0, 65535).astype(np.uint16)
            cv2.imwrite(osp.join(out, 'depth', sid + '.png'), mm)
            ids[split].append(sid)
    for split, lst in ids.items():
        with open(osp.join(out, 'splits', f'{split}.txt'), 'w') as f:
            f.write('\n'.join(lst) + '\n')
    print(f'{out}: {num_train} train + {num_val} val images of {size[0]}x{size[1]} '
          '(images/*.jpg, semseg/*.png, depth/*.png in mm, splits/*.txt)')


def main(argv=None):
    args = parse_args(argv)
    write_folder_example(args.out, args.num_train, args.num_val, args.size,
                         args.seed)


if __name__ == '__main__':
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    main()
