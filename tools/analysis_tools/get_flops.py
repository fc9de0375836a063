"""Parameters and multiply-adds (MACs) of the model of a config (inference forward,
all tasks).

    python tools/analysis_tools/get_flops.py CONFIG [--shape 512 512] \
        [--cfg-options ...] [--table]

Counts with MMEngine's ``FlopAnalyzer`` (a jit trace; no fvcore needed). The count
is of fused multiply-adds (1 MAC = 2 floating-point operations), what OpenMMLab's
tools and the paper (676G at 512x512) call "FLOPs". Convolutions, linear layers,
matrix products, norms and bilinear/nearest upsampling are counted; operators
without a counter are not, and the output lists them: the attention of the
refinement head (``aten::scaled_dot_product_attention``: its QK^T and AV products)
and the elementwise operations (additions, activations, pooling). Without
``--shape`` the size comes from the config's ``crop_size`` (or 512x512).
"""
import argparse
import os.path as osp
import sys

import torch
from mmengine.config import Config, DictAction


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Params and multiply-adds (MACs) of a config')
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
    """Build the model of ``cfg`` and count it. Returns ``macs``/``macs_str``,
    ``params``/``params_str``, ``input_shape``, ``skipped`` (operator -> calls
    of the operators that were not counted) and ``out_table`` (with ``table``)."""
    from mmengine.analysis import (FlopAnalyzer, get_model_complexity_info,
                                   parameter_count)
    from mmengine.registry import init_default_scope

    from mmdmtl.registry import MODELS
    from mmdmtl.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    init_default_scope(cfg.get('default_scope', 'mmdmtl'))

    h, w = input_shape_of(cfg, shape)
    model = _TensorForward(MODELS.build(cfg.model)).eval()
    x = torch.zeros(1, 3, h, w)
    with torch.no_grad():
        analyzer = FlopAnalyzer(model, (x, ))
        analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        macs = analyzer.total()
        out_table = get_model_complexity_info(
            model, inputs=(x, ), show_table=True,
            show_arch=False)['out_table'] if table else None
    params = parameter_count(model)['']
    return dict(
        macs=macs, macs_str=_si(macs), params=params, params_str=_si(params),
        input_shape=(h, w), skipped=dict(analyzer.unsupported_ops()),
        out_table=out_table)


def _si(x: float) -> str:
    for unit, size in (('T', 1e12), ('G', 1e9), ('M', 1e6), ('K', 1e3)):
        if abs(x) >= size:
            return f'{x / size:.3g}{unit}'
    return str(x)


def describe_skipped(skipped: dict) -> str:
    """The 'Not counted' line: attention first, then the rest by call count."""
    attention = {k: n for k, n in skipped.items() if 'attention' in k}
    rest = sorted(((k, n) for k, n in skipped.items() if k not in attention),
                  key=lambda kn: (-kn[1], kn[0]))
    parts = []
    if attention:
        parts.append('attention products (' + ', '.join(
            f'{k} x{n}' for k, n in sorted(attention.items())) + ')')
    if rest:
        parts.append('elementwise and other uncounted operators (' + ', '.join(
            f'{k} x{n}' for k, n in rest) + ')')
    return 'Not counted: ' + ('; '.join(parts) if parts else 'nothing')


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'config file not found: {args.config}')
    cfg = Config.fromfile(args.config)
    from mmdmtl.utils.config_overrides import merge_cfg_options
    merge_cfg_options(cfg, args.cfg_options)
    res = complexity(cfg, args.shape, args.table)
    h, w = res['input_shape']
    line = '=' * 40
    print(f'{line}\nInput shape: (3, {h}, {w})\n'
          f'Multiply-adds (MACs): {res["macs_str"]} (OpenMMLab\'s "FLOPs"; '
          f'1 MAC = 2 FLOPs)\nParams: {res["params_str"]}\n{line}')
    if args.table:  # MMEngine's table; its "#flops" column is the same MACs
        print(res['out_table'])
    print(describe_skipped(res['skipped']))
    print('Counted on the inference forward of every task; check that the number '
          'is what your paper/table reports before comparing.')
    return res


if __name__ == '__main__':
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    sys.exit(0 if main() else 1)
