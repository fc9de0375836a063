"""Evaluate a checkpoint on the test split of a config.

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out DIR|FILE.pkl]
                         [--show] [--show-dir DIR] [--fast] [--cfg-options k=v ...]
                         [--launcher none|pytorch|slurm|mpi]

--out DIR       every task's prediction per image as DIR/<task>/<image>.png (+ .npy)
                and the metrics as DIR/metrics.json;
--out FILE.pkl  the raw predictions through MMEngine's DumpResults.
--show-dir DIR  one panel per image (image, every task's label and prediction) as
                DIR/<image>.png.
--fast          fast inference (or ``fast = dict(enabled=True)`` in the config;
                mmdmtl/engine/fast_mode.py): Conv+BN folded, channels_last, and
                autocast where the machine runs it natively (GPU bf16/fp16, CPU
                bf16 only with avx512_bf16/amx_bf16; other CPUs stay fp32 and the
                log says why).

Output folders (--out DIR, --show-dir) must be new, empty or written by mmdmtl
before; an existing --out FILE.pkl needs --overwrite. The checkpoint must fit the
model exactly (CheckpointMismatchError with the report otherwise);
--allow-partial accepts missing/unexpected/other-shape entries (they keep their
initialisation, a warning lists them). User errors are one line on stderr and exit
status 1; --debug (or MMDMTL_DEBUG=1) shows the traceback.
"""
import argparse
import json
import os
import os.path as osp
import sys

from mmengine.config import Config, ConfigDict, DictAction


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Test (and evaluate) a multi-task model (mmdmtl)')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--work-dir', help='directory for the evaluation logs (default: '
        'work_dirs/<config name>)')
    parser.add_argument(
        '--out',
        help='a directory for per-task prediction files and metrics.json, or a '
        '.pkl file for the raw predictions')
    parser.add_argument(
        '--show', action='store_true', help='show the panels in a window')
    parser.add_argument(
        '--show-dir', help='directory for the prediction panels (PNG)')
    parser.add_argument(
        '--wait-time', type=float, default=2, help='seconds a shown window stays')
    parser.add_argument(
        '--allow-partial', action='store_true',
        help='accept a checkpoint that fills the model only partly (missing, '
        'unexpected or other-shape entries keep their initialisation); default: '
        'the checkpoint must match the model exactly')
    parser.add_argument(
        '--fast', action='store_true',
        help='fast inference: Conv+BN folding, channels_last, autocast where '
        'native (config key fast)')
    parser.add_argument(
        '--overwrite', action='store_true',
        help='replace an existing --out FILE.pkl')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, e.g. test_dataloader.batch_size=2')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def _add_metric(cfg, metric: dict) -> None:
    ev = cfg.get('test_evaluator')
    if ev is None:
        raise SystemExit(f'{cfg.filename}: no test_evaluator in the config')
    if isinstance(ev, (list, tuple)):
        cfg.test_evaluator = list(ev) + [metric]
    elif isinstance(ev, dict) and 'metrics' in ev and ev.get(
            'type', 'Evaluator') in ('Evaluator', 'mmengine.Evaluator'):
        ev.metrics = list(ev.metrics) + [metric]
    else:
        cfg.test_evaluator = [ev, metric]


def _checkpoint_policy(cfg, allow_partial: bool) -> None:
    """One policy for test.py, the inferencer and the demo: the checkpoint must
    match exactly unless ``--allow-partial``."""
    policy = (dict(strict_load=False, allow_shape_mismatch=True,
                   min_matched_ratio=0.0) if allow_partial else
              dict(strict_load=True))
    hooks = list(cfg.get('custom_hooks', None) or [])
    found = False
    for hook in hooks:
        if isinstance(hook, dict) and str(hook.get('type', '')).split(
                '.')[-1] == 'CheckpointCheckHook':
            hook.update(policy)
            found = True
    if not found:
        hooks.append(dict(type='mmdmtl.CheckpointCheckHook', **policy))
    cfg.custom_hooks = hooks


def _panel_hook(vis, scope) -> dict:
    """The visualization hook that draws the test panels: the config's own, except
    that mmseg's ``SegVisualizationHook`` (the drop-in configs) becomes its subclass
    that can write to ``--show-dir``."""
    if not vis:
        return dict(type='mmdmtl.SegPanelVisualizationHook' if scope == 'mmseg'
                    else 'mmdmtl.MultiTaskVisualizationHook')
    if str(vis.get('type', '')).split('.')[-1] == 'SegVisualizationHook':
        vis['type'] = 'mmdmtl.SegPanelVisualizationHook'
    return vis


def build_test_cfg(args) -> Config:
    from mmdmtl.engine import setup_distributed

    from mmdmtl.utils.cli import check_checkpoint_arg, check_config_arg
    from mmdmtl.utils.config_overrides import merge_cfg_options
    from mmdmtl.utils.safe_output import check_output_dir, check_output_file

    check_config_arg(args.config, 'config')
    check_checkpoint_arg(args.checkpoint, 'checkpoint')
    # Output folders are checked before anything is built (the hooks claim them).
    if args.show_dir:
        check_output_dir(args.show_dir, '--show-dir')
    if args.out:
        if args.out.endswith(('.pkl', '.pickle')):
            check_output_file(args.out, '--out', args.overwrite)
        else:
            check_output_dir(args.out, '--out')
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    merge_cfg_options(cfg, args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    cfg.resume = False
    _checkpoint_policy(cfg, args.allow_partial)

    if args.show or args.show_dir:
        hooks = cfg.setdefault('default_hooks', ConfigDict())
        vis = _panel_hook(hooks.get('visualization'), cfg.get('default_scope'))
        vis['draw'] = True
        vis['show'] = bool(args.show)
        vis['wait_time'] = args.wait_time
        if args.show_dir:
            vis['out_dir'] = osp.abspath(args.show_dir)
            vis['interval'] = 1
        hooks['visualization'] = vis

    if args.out:
        if args.out.endswith(('.pkl', '.pickle')):
            _add_metric(cfg, dict(type='DumpResults', out_file_path=args.out))
        else:
            cfg.custom_hooks = list(cfg.get('custom_hooks', None) or []) + [
                dict(type='mmdmtl.MultiTaskPredictionSaveHook',
                     out_dir=osp.abspath(args.out))
            ]
    from mmdmtl.engine.fast_mode import add_fast_inference_hook
    add_fast_inference_hook(cfg, True if args.fast else None)
    setup_distributed(cfg, args.launcher)
    return cfg


def main(argv=None):
    args = parse_args(argv)

    from mmdmtl.registry import RUNNERS
    from mmdmtl.utils import register_all_modules
    register_all_modules(init_default_scope=True)

    cfg = build_test_cfg(args)
    if 'runner_type' not in cfg:
        from mmengine.runner import Runner
        runner = Runner.from_cfg(cfg)
    else:
        runner = RUNNERS.build(cfg)
    metrics = runner.test()

    if args.out and not args.out.endswith(('.pkl', '.pickle')) and runner.rank == 0:
        from mmdmtl.utils.safe_output import claim_output_dir
        claim_output_dir(args.out, 'tools/test.py', '--out')
        with open(osp.join(args.out, 'metrics.json'), 'w') as f:
            json.dump({k: float(v) if isinstance(v, (int, float)) else str(v)
                       for k, v in (metrics or {}).items()}, f, indent=2)
    return metrics


if __name__ == '__main__':
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
    from mmdmtl.utils.cli import run_tool
    run_tool(main)
