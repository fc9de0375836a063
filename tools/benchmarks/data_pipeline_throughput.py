"""Measure the data pipeline's throughput (images/s) on SyntheticScenes with
the PASCAL-style 512x512 training recipe (random scale 0.5-2.0, crop 512 with
cat_max_ratio 0.75, flip, photometric distortion, pad 512, pack), optionally
through a DataLoader with workers and the data preprocessor.

Example:
    python tools/benchmarks/data_pipeline_throughput.py \
        --data-root data/synthetic_scenes_512 --size 512 512 --num 40
"""
import argparse
import platform
import time

import torch

PASCAL_STYLE = [
    dict(type='LoadMultiTaskImage'),
    dict(type='LoadMultiTaskAnnotations'),
    dict(type='MultiTaskRandomScale', ratio_range=(0.5, 2.0)),
    dict(type='MultiTaskRandomCrop', crop_size=(512, 512), cat_max_ratio=0.75),
    dict(type='MultiTaskRandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmseg.PhotoMetricDistortion'),
    dict(type='MultiTaskPad', size=(512, 512)),
    dict(type='PackMultiTaskInputs'),
]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--data-root', default='data/synthetic_scenes_512')
    p.add_argument('--size', type=int, nargs=2, default=(512, 512),
                   help='generated image size (h w)')
    p.add_argument('--num', type=int, default=40,
                   help='train images to generate / load')
    p.add_argument('--label-setting', default='full')
    p.add_argument('--workers', type=int, default=0,
                   help='DataLoader workers (0: time the pipeline alone)')
    p.add_argument('--batch-size', type=int, default=6)
    p.add_argument('--epochs', type=int, default=2)
    return p.parse_args()


def main():
    args = parse_args()
    torch.set_num_threads(1)
    from mmdmtl.registry import DATASETS, MODELS
    from mmdmtl.utils import register_all_modules
    register_all_modules()
    t0 = time.time()
    dataset = DATASETS.build(
        dict(type='SyntheticScenesDataset', data_root=args.data_root,
             split='train', label_setting=args.label_setting,
             generate=dict(num_train=args.num, num_val=0,
                           size=tuple(args.size), seed=0),
             pipeline=PASCAL_STYLE))
    print(f'dataset ready in {time.time() - t0:.1f} s ({len(dataset)} images '
          f'{args.size[0]}x{args.size[1]})')
    dataset[0]  # warm up
    if args.workers == 0:
        t0 = time.time()
        n = 0
        for _ in range(args.epochs):
            for i in range(len(dataset)):
                dataset[i]
                n += 1
        dt = time.time() - t0
        mode = 'pipeline only, 1 process'
    else:
        from mmengine.dataset import pseudo_collate
        from torch.utils.data import DataLoader
        pre = MODELS.build(dict(type='MultiTaskDataPreProcessor',
                                mean=[123.675, 116.28, 103.53],
                                std=[58.395, 57.12, 57.375], bgr_to_rgb=True))
        loader = DataLoader(dataset, batch_size=args.batch_size,
                            num_workers=args.workers, shuffle=True,
                            collate_fn=pseudo_collate,
                            persistent_workers=True)
        for batch in loader:  # warm the workers up
            break
        t0 = time.time()
        n = 0
        for _ in range(args.epochs):
            for batch in loader:
                pre(batch, training=True)
                n += len(batch['inputs'])
        dt = time.time() - t0
        mode = (f'DataLoader, {args.workers} workers, batch '
                f'{args.batch_size}, + MultiTaskDataPreProcessor')
    print(f'{n} images in {dt:.2f} s: {n / dt:.1f} images/s ({mode}; '
          f'{platform.processor() or platform.machine()}, '
          f'torch threads {torch.get_num_threads()})')


if __name__ == '__main__':
    main()
