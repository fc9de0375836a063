"""Measure what each PASCAL ground-truth / recipe opt-in changes, on the real
sample files of shared/data (docs/datasets.md, "Published rules vs opt-ins").

    python tools/analysis_tools/measure_gt_rules.py --shared ../shared/data

Prints one line per measurement: the person-part rule, mmcv's rounding of
scaled sizes and the centred padding.
"""
import argparse
import glob
import os.path as osp

import numpy as np


def _pascal_ids(shared):
    root = osp.join(shared, 'pascal_context_mt', 'PASCAL_MT')
    return root, sorted(osp.basename(p)[:-4] for p in glob.glob(
        osp.join(root, 'JPEGImages', '*.jpg')))


def measure_human_parts(shared, draws):
    from mmdmtl.datasets.transforms import (IgnoreEmptyHumanParts,
                                            MultiTaskRandomCrop,
                                            MultiTaskRandomScale)
    from mmdmtl.datasets.transforms.annotation_decoders import decode
    root, ids = _pascal_ids(shared)
    rule = IgnoreEmptyHumanParts()
    scale = MultiTaskRandomScale(ratio_range=(0.5, 2.0))
    crop = MultiTaskRandomCrop(crop_size=(512, 512))
    np.random.seed(0)
    for sid in ids:
        parts = decode(dict(path=osp.join(root, 'human_parts', sid + '.mat'),
                            fmt='pascal_parts_mat'))
        full = rule(dict(gt_part_seg=parts.copy()))['human_parts_ignored']
        ignored = 0
        for _ in range(draws):
            r = dict(img=np.zeros(parts.shape + (3, ), np.uint8),
                     gt_part_seg=parts.copy(), seg_fields=['gt_part_seg'])
            r = rule(crop(scale(r)))
            ignored += r['human_parts_ignored']
        print(f'human_parts {sid}: {parts.size} px, person parts '
              f'{int((parts > 0).sum())} px, whole image ignored: {full}; '
              f'training crops (scale 0.5-2, crop 512) all-ignored: '
              f'{ignored}/{draws}')


def measure_resize(shared):
    import mmcv
    root, ids = _pascal_ids(shared)
    scales = np.linspace(0.5, 2.0, 61)
    pairs = larger = 0
    for sid in ids:
        h, w = mmcv.imread(osp.join(root, 'JPEGImages', sid + '.jpg')).shape[:2]
        for s in scales:
            t = (int(h * s), int(w * s))
            r = (int(h * s + 0.5), int(w * s + 0.5))
            pairs += 1
            larger += t != r
    print(f'resize: {larger} of {pairs} (image, scale) pairs are 1 px larger '
          f'with rounding (4 real JPEG sizes x 61 scales 0.5..2.0 step 0.025)')


def measure_padding(shared):
    import mmcv
    mean = np.array([123.675, 116.28, 103.53])
    std = np.array([58.395, 57.12, 57.375])
    print('padding: raw-0 pad after normalisation (R, G, B) = '
          f'{np.round(-mean / std, 3).tolist()}; centred pad = 0')
    root, ids = _pascal_ids(shared)
    for sid in ids:
        h, w = mmcv.imread(osp.join(root, 'JPEGImages', sid + '.jpg')).shape[:2]
        top, left = (512 - h) // 2, (512 - w) // 2
        print(f'padding {sid} {h}x{w} -> 512x512: {1 - h * w / 512 ** 2:.1%} '
              f'padded; centred offset (top, left) = ({top}, {left})')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--shared', default='../shared/data')
    parser.add_argument('--draws', type=int, default=200)
    args = parser.parse_args()
    measure_human_parts(args.shared, args.draws)
    measure_resize(args.shared)
    measure_padding(args.shared)


if __name__ == '__main__':
    main()
