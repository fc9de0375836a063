"""Measure what each PASCAL ground-truth / recipe opt-in changes, on the real
sample files of shared/data (docs/datasets.md, "Published rules vs opt-ins").

    python tools/analysis_tools/measure_gt_rules.py --shared ../shared/data

Prints one line per measurement. Label maps used for the edge counts: the
real PASCAL-Context / VOC / PASCAL-Person-Part PNGs of
``pascal_context_mt/raw/DrSleep__light-weight-refinenet`` (colour PNGs are
turned into ids by their distinct colours; only boundaries matter).
"""
import argparse
import glob
import os.path as osp

import cv2
import numpy as np


def _label_maps(shared):
    base = osp.join(shared, 'pascal_context_mt', 'raw',
                    'DrSleep__light-weight-refinenet', 'examples', 'imgs')
    out = []
    for folder in ('Context', 'VOC', 'Person'):
        for path in sorted(glob.glob(osp.join(base, folder, '*.png'))):
            lab = cv2.imread(path, cv2.IMREAD_UNCHANGED)
            if lab.ndim == 3:  # colour-coded: one id per distinct colour
                packed = lab[..., 0].astype(np.int64) * 65536 + \
                    lab[..., 1].astype(np.int64) * 256 + lab[..., 2]
                _, ids = np.unique(packed, return_inverse=True)
                lab = ids.reshape(packed.shape).astype(np.uint16)
            out.append((f'{folder}/{osp.basename(path)}', lab))
    return out


def measure_edges(shared):
    from mmdmtl.datasets.transforms.annotation_decoders import (
        label_map_edges, thin_edges)
    tot = dict(mask=0, skimage=0, zhang_suen=0, diff=0, px=0)
    for name, lab in _label_maps(shared):
        mask = label_map_edges(lab)
        sk = thin_edges(mask, 'skimage')
        zs = thin_edges(mask, 'zhang_suen')
        tot['mask'] += int(mask.sum())
        tot['skimage'] += int(sk.sum())
        tot['zhang_suen'] += int(zs.sum())
        tot['diff'] += int((sk != zs).sum())
        tot['px'] += lab.size
        print(f'edges {name}: mask {int(mask.sum())}, skimage {int(sk.sum())}'
              f', zhang_suen {int(zs.sum())}, differing {int((sk != zs).sum())}')
    print(f'edges total over {len(_label_maps(shared))} maps ({tot["px"]} px): '
          f'unthinned {tot["mask"]}, skimage {tot["skimage"]}, zhang_suen '
          f'{tot["zhang_suen"]} ({tot["zhang_suen"] / tot["skimage"] - 1:+.1%}'
          f'), differing pixels {tot["diff"]}')


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


def measure_crop_check(shared, draws):
    from mmdmtl.datasets.transforms import (MultiTaskRandomCrop,
                                            MultiTaskRandomScale)
    split = osp.join(shared, 'partial_label_splits', 'pascal_context',
                     'onelabel.npy')
    if osp.isfile(split):
        from mmdmtl.utils.safe_load import load_pickled_npy
        data = load_pickled_npy(split, 'split file')
        n = len({i for v in data.values() for i in v})
        sem = len(set(data['semseg']))
        print(f'crop check: one-label split: {n - sem} of {n} images '
              f'({(n - sem) / n:.1%}) have no semseg label (their crops were '
              'unconstrained with crop_check_semseg=False)')
    voc = [lab for name, lab in _label_maps(shared) if name.startswith('VOC/')]
    scale = MultiTaskRandomScale(ratio_range=(0.5, 2.0))
    for check in (True, False):
        np.random.seed(0)
        crop = MultiTaskRandomCrop(crop_size=(512, 512),
                                   cat_max_ratio=0.75 if check else 1.0)
        bad = total = 0
        for sem in voc:
            for _ in range(draws):
                r = dict(img=np.zeros(sem.shape + (3, ), np.uint8),
                         gt_seg_map=sem.copy(), seg_fields=['gt_seg_map'])
                out = crop(scale(r))['gt_seg_map']
                _, cnt = np.unique(out[out != 255], return_counts=True)
                total += 1
                bad += len(cnt) < 2 or cnt.max() / cnt.sum() >= 0.75
        print(f'crop check {"on " if check else "off"}: {bad}/{total} crops '
              f'({len(voc)} real VOC semseg maps) have one class >= 75% of the labelled '
              'pixels')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--shared', default='../shared/data')
    parser.add_argument('--draws', type=int, default=200)
    args = parser.parse_args()
    measure_edges(args.shared)
    measure_human_parts(args.shared, args.draws)
    measure_resize(args.shared)
    measure_padding(args.shared)
    measure_crop_check(args.shared, args.draws)


if __name__ == '__main__':
    main()
