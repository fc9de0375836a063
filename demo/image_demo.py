"""Predict every task for one image (or a directory of images) and write the results.

    python demo/image_demo.py IMAGE CONFIG CHECKPOINT [--out-dir DIR] [--device cpu]
        [--batch-size N] [--fast] [--cfg-options model.refine_head.inference_chunk=1 ...]

The default DIR is work_dirs/image_demo/<config name>.
Writes <out-dir>/vis/<image>.png (the image and every task's prediction in one panel)
and <out-dir>/preds/<task>/<image>.png (class ids, probabilities x 255, normals as RGB,
depth x 1000 as 16-bit), plus .npy arrays with --save-npy.

--fast: fast inference (the config key ``fast``; mmdmtl/engine/fast_mode.py):
Conv+BN folded, channels_last, autocast where the machine runs it natively.

The checkpoint must match the model exactly (--allow-partial accepts a partial
load); files of an input folder that are not images are skipped and counted, an
undecodable image is an error (--skip-unreadable skips it); the output folder must
be new, empty or written by mmdmtl. Errors are one line on stderr, exit status 1
(--debug or MMDMTL_DEBUG=1 shows the traceback).
"""
import argparse
import os.path as osp
import sys

from mmengine.config import DictAction


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='mmdmtl image demo')
    parser.add_argument('img', help='image file or directory of images')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out-dir', default=None,
        help='output directory (default: work_dirs/image_demo/<config name>)')
    parser.add_argument(
        '--batch-size', type=int, default=1, help='images per forward pass')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, default=None,
        help='override config keys, e.g. model.refine_head.inference_chunk=1')
    parser.add_argument(
        '--device', default=None, help='cpu, cuda, cuda:1 ... (default: GPU if any)')
    parser.add_argument(
        '--tasks', nargs='+', default=None, help='tasks to output (default: all)')
    parser.add_argument(
        '--fast', action='store_true',
        help='fast inference: Conv+BN folding, channels_last, autocast where '
        'native (config key fast)')
    parser.add_argument('--save-npy', action='store_true', help='also write .npy')
    parser.add_argument('--show', action='store_true', help='show the panel')
    parser.add_argument('--wait-time', type=float, default=0, help='window seconds')
    parser.add_argument(
        '--allow-partial', action='store_true',
        help='accept a checkpoint that fills the model only partly')
    parser.add_argument(
        '--skip-unreadable', action='store_true',
        help='skip undecodable images of the input (default: error naming it)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.out_dir is None:
        args.out_dir = osp.join('work_dirs', 'image_demo',
                                osp.splitext(osp.basename(args.config))[0])
    if args.batch_size < 1:
        raise SystemExit(f'--batch-size must be >= 1, got {args.batch_size}')
    from mmdmtl.utils.cli import (check_checkpoint_arg, check_config_arg,
                                  check_image_arg)
    check_image_arg(args.img, 'IMAGE')
    check_config_arg(args.config, 'CONFIG')
    check_checkpoint_arg(args.checkpoint, 'CHECKPOINT')
    from mmengine.config import Config

    from mmdmtl.apis import MultiTaskInferencer
    from mmdmtl.utils.cli import UsageError
    model_cfg = Config.fromfile(args.config)
    if model_cfg.get('default_scope') == 'mmseg':
        raise UsageError(
            f'CONFIG {args.config} is an mmseg drop-in config (default_scope='
            "'mmseg', one semantic segmentation task): this demo predicts "
            "mmdmtl's multi-task models; predict with mmseg's init_model/"
            'inference_model (docs/mmseg_dropin.md, "Inference")')
    if args.cfg_options:
        model_cfg.merge_from_dict(args.cfg_options)
    inferencer = MultiTaskInferencer(
        model_cfg, args.checkpoint, device=args.device, tasks=args.tasks,
        allow_partial=args.allow_partial, fast=True if args.fast else None)
    result = inferencer(
        args.img,
        batch_size=args.batch_size,
        out_dir=args.out_dir,
        save_npy=args.save_npy,
        show=args.show,
        wait_time=args.wait_time,
        skip_unreadable=args.skip_unreadable)
    for i, preds in enumerate(result['predictions']):
        shapes = ', '.join(f'{t} {tuple(a.shape)}' for t, a in preds.items())
        print(f'[{i}] {shapes}')
    if result.get('skipped'):
        print(f'skipped {len(result["skipped"])} input(s): ' + '; '.join(
            f'{p} ({r})' for p, r in result['skipped'][:10]))
    print(f'panels in {osp.join(args.out_dir, "vis")}, predictions in '
          f'{osp.join(args.out_dir, "preds")}')
    return result


if __name__ == '__main__':
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
    from mmdmtl.utils.cli import run_tool
    run_tool(main)
