"""Write one PNG panel per sample: the image and every labelled task's map.

Example:
    python tools/misc/browse_dataset.py \
        configs/_base_/datasets/synthetic_scenes_one_label.py \
        --out-dir work_dirs/browse --num 8 --split train
"""
import argparse
import os.path as osp

import cv2
import numpy as np
from mmengine.config import Config, DictAction

LOAD_ONLY = [
    dict(type='LoadMultiTaskImage'),
    dict(type='LoadMultiTaskAnnotations'),
    dict(type='PackMultiTaskInputs'),
]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('config')
    p.add_argument('--out-dir', default='work_dirs/browse_dataset',
                   help='output folder: new, empty, or written by mmdmtl before')
    p.add_argument('--split', choices=['train', 'val', 'test'],
                   default='train')
    p.add_argument('--num', type=int, default=10, help='samples to write')
    p.add_argument('--no-aug', action='store_true',
                   help='load only (skip the augmentations of the config)')
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    return p.parse_args(argv)


def _label(img, text):
    img = img.copy()
    cv2.putText(img, text, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                (255, 255, 255), 2, cv2.LINE_AA)
    cv2.putText(img, text, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0),
                1, cv2.LINE_AA)
    return img


def colorize(task: str, data: np.ndarray, meta: dict) -> np.ndarray:
    """RGB uint8 [H, W, 3] view of one label map (data as packed, [C, H, W]);
    ignored pixels (255, zero normals, zero depth) are drawn black."""
    if task in ('semseg', 'human_parts'):
        pal = meta.get('palette' if task == 'semseg' else 'part_palette')
        lab = data[0].astype(np.int64)
        n = int(lab[lab != 255].max(initial=0)) + 1
        if pal is None or len(pal) < n:
            rng = np.random.default_rng(0)
            pal = rng.integers(40, 255, (max(n, 1), 3)).tolist()
        table = np.zeros((256, 3), np.uint8)
        table[:len(pal)] = np.asarray(pal, np.uint8)
        return table[np.clip(lab, 0, 255)]
    if task in ('sal', 'edge'):
        lab = data[0]
        out = np.where(lab == 1, 255, 0).astype(np.uint8)
        out = np.repeat(out[..., None], 3, -1)
        out[lab == 255] = (90, 0, 0)
        return out
    if task == 'normals':
        n = data.transpose(1, 2, 0)
        out = ((n + 1) * 127.5).clip(0, 255).astype(np.uint8)
        out[(n == 0).all(-1)] = 0
        return out
    if task == 'depth':
        d = data[0]
        valid = d > 0
        lo, hi = (d[valid].min(), d[valid].max()) if valid.any() else (0, 1)
        scaled = ((d - lo) / max(hi - lo, 1e-6) * 255).clip(0, 255)
        out = cv2.applyColorMap(scaled.astype(np.uint8),
                                cv2.COLORMAP_VIRIDIS)[..., ::-1]
        out[~valid] = 0
        return out
    raise ValueError(f'no colouring for task {task!r}')


def make_panel(inputs, sample, meta: dict, tasks) -> np.ndarray:
    img = inputs.numpy().transpose(1, 2, 0)
    img = np.clip(img, 0, 255).astype(np.uint8)[..., ::-1]  # BGR -> RGB
    tiles = [_label(img, 'image')]
    for task in tasks:
        gt = sample.get_gt(task)
        if gt is None:
            continue
        tile = colorize(task, gt.data.numpy(), meta)
        if tile.shape[:2] != img.shape[:2]:
            tile = cv2.resize(tile, img.shape[1::-1],
                              interpolation=cv2.INTER_NEAREST)
        tiles.append(_label(tile, task))
    return np.concatenate(tiles, axis=1)


def main(argv=None):
    args = parse_args(argv)
    from mmdmtl.utils.cli import check_config_arg
    from mmdmtl.utils.safe_output import check_output_dir, claim_output_dir
    check_config_arg(args.config)
    # refuse a folder of someone else's files before building anything
    check_output_dir(args.out_dir, '--out-dir')
    from mmdmtl.registry import DATASETS
    from mmdmtl.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    ds_cfg = cfg[f'{args.split}_dataloader']['dataset']
    if args.no_aug:
        ds_cfg['pipeline'] = LOAD_ONLY
    dataset = DATASETS.build(ds_cfg)
    meta = dataset.metainfo
    claim_output_dir(args.out_dir, 'tools/misc/browse_dataset.py', '--out-dir')
    for i in range(min(args.num, len(dataset))):
        item = dataset[i]
        sample = item['data_samples']
        panel = make_panel(item['inputs'], sample, meta, meta['tasks'])
        name = str(sample.metainfo.get('sample_id', i))
        path = osp.join(args.out_dir, f'{i:05d}_{name}.png')
        cv2.imwrite(path, panel[..., ::-1])
        print(f'{path}: labelled {list(sample.labeled_tasks)}')


if __name__ == '__main__':
    from mmdmtl.utils.cli import run_tool
    run_tool(main)
