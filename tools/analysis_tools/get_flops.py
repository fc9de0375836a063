"""Parameters and FLOPs of the model of a config (inference forward, all tasks).

    python tools/analysis_tools/get_flops.py CONFIG [--shape 512 512] \
        [--cfg-options ...]

Counts with ``mmengine.analysis.get_model_complexity_info`` (a jit trace; no fvcore
needed). FLOPs are counted as fused multiply-adds, the convention of OpenMMLab (and
of the paper's 676G at 512x512). Without ``--shape`` the size comes from the config's
``crop_size`` (or 512x512).
"""
import argparse
import os.path as osp
import sys

import torch
from mmengine.config import Config, DictAction


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Params and FLOPs of a config')
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--shape', type=int, nargs='+', default=None,
        help='input H W (one number: square)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    parser.add_argument(
        '--table', action='store_true', help='print the per-module table')
    return parser.parse_args(argv)


class _TensorForward(torch.nn.Module):
    """Wraps a segmentor so that a trace sees ``f(images) -> tensors``."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        out = self.model(x, None, mode='tensor')
        if isinstance(out, dict):
            return tuple(out[k] for k in sorted(out))
        return out


def input_shape_of(cfg, shape=None):
    if shape:
        if len(shape) == 1:
            return int(shape[0]), int(shape[0])
        if len(shape) == 2:
            return int(shape[0]), int(shape[1])
        raise ValueError(f'--shape takes H W (or one number), got {shape}')
    crop = cfg.get('crop_size')
    if crop:
        return tuple(int(v) for v in crop[:2])
    return 512, 512


def complexity(cfg, shape=None, table=False) -> dict:
    """Build the model of ``cfg`` and count it. Returns mmengine's result dict plus
    ``input_shape``."""
    from mmengine.analysis import get_model_complexity_info
    from mmengine.registry import init_default_scope

    from mmdmtl.registry import MODELS
    from mmdmtl.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    init_default_scope(cfg.get('default_scope', 'mmdmtl'))

    h, w = input_shape_of(cfg, shape)
    model = MODELS.build(cfg.model)
    model.eval()
    x = torch.zeros(1, 3, h, w)
    with torch.no_grad():
        res = get_model_complexity_info(
            _TensorForward(model), inputs=(x, ), show_table=table,
            show_arch=False)
    res['input_shape'] = (h, w)
    return res


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file not found: {args.config}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    res = complexity(cfg, args.shape, args.table)
    h, w = res['input_shape']
    line = '=' * 40
    print(f'{line}\nInput shape: (3, {h}, {w})\nFlops: {res["flops_str"]}\n'
          f'Params: {res["params_str"]}\n{line}')
    if args.table:
        print(res['out_table'])
    print('Counted on the inference forward of every task; check that the number '
          'is what your paper/table reports before comparing.')
    return res


if __name__ == '__main__':
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    sys.exit(0 if main() else 1)
