"""Train a multi-task model with MMEngine's Runner.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]]
        [--resume-intact] [--amp] [--cfg-options k=v ...]
        [--launcher none|pytorch|slurm|mpi]

One run per work dir: a second run on the same work dir stops naming the first
one's pid/host (the lock <work_dir>/.mmdmtl_train.lock of a killed run is taken
over). A plain --resume whose last checkpoint is damaged stops naming it and the
newest intact checkpoint; --resume-intact resumes from that one.

Before the first iteration the config, the dataset and the model are checked
(mmdmtl/utils/config_checks.py, TrainCheckHook): train_cfg.max_iters/max_epochs >= 1,
every predicted task labelled in the training split (or listed in
``zero_shot_tasks``), every labelled task with a head, class channels equal to the
dataset's classes; the constructors check their own values (loss weights >= 0,
diffusion steps, ...). User errors are one line on
stderr and exit status 1; ``--debug`` (or MMDMTL_DEBUG=1) shows the traceback.

``--amp`` (or ``fast = dict(enabled=True)`` in the config) trains in the precision
the machine runs natively (mmdmtl/engine/fast_mode.py): on a GPU MMEngine's
AmpOptimWrapper (bf16 where supported, else fp16 with dynamic loss scaling), on a
CPU with avx512_bf16/amx_bf16 bf16 autocast (CPUAutocastOptimWrapper), on other
CPUs fp32 with one logged line saying why.

Distributed: ``tools/dist_train.sh CONFIG GPUS`` (torchrun) or
``tools/slurm_train.sh PARTITION JOB CONFIG``. Works without a GPU too: the process
group then uses gloo and DDP wraps the CPU model (see mmdmtl/engine/distributed.py).
"""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import Config, DictAction


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Train a multi-task dense prediction model (mmdmtl)')
    parser.add_argument('config', help='config file')
    parser.add_argument(
        '--work-dir', help='directory for logs and checkpoints (default: '
        'work_dirs/<config name>)')
    parser.add_argument(
        '--resume',
        nargs='?',
        const='auto',
        default=None,
        metavar='CKPT',
        help='resume training; without a value from the latest checkpoint in the '
        'work dir (named by its last_checkpoint), else from CKPT')
    parser.add_argument(
        '--resume-intact', action='store_true',
        help='with --resume: if the last checkpoint is missing, truncated or '
        'damaged, resume from the newest intact iter_*/epoch_* checkpoint '
        '(default: stop and name both)')
    parser.add_argument(
        '--amp', action='store_true',
        help='mixed-precision training where the machine runs it natively: GPU '
        'bf16 (else fp16 with loss scaling), CPU bf16 autocast only with '
        'avx512_bf16/amx_bf16, else fp32 with a logged note (config key fast)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, e.g. train_cfg.max_iters=100 '
        'train_dataloader.batch_size=2')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK instead.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def build_train_cfg(args) -> Config:
    """The config the Runner gets: file + CLI overrides + mmdmtl's CPU handling."""
    from mmdmtl.engine import setup_distributed

    from mmdmtl.utils.cli import (UsageError, check_checkpoint_arg,
                                  check_config_arg)
    from mmdmtl.utils.config_checks import check_train_length
    from mmdmtl.utils.config_overrides import merge_cfg_options

    check_config_arg(args.config, 'config')
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    merge_cfg_options(cfg, args.cfg_options)

    # work_dir: command line > config file > work_dirs/<config name>
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])

    # --amp / config key fast: the precision this machine runs natively
    # (mmdmtl/engine/fast_mode.py); one logged line says what was chosen and why.
    from mmdmtl.engine.fast_mode import apply_train_precision
    args.fast_plan = apply_train_precision(cfg, True if args.amp else None)

    if args.resume_intact and args.resume != 'auto':
        raise UsageError('--resume-intact goes with a plain --resume (no '
                         'checkpoint file given)')
    if args.resume == 'auto':
        # The file last_checkpoint names is checked here: a damaged one is
        # named with the newest intact alternative (mmdmtl/engine/work_dir.py).
        from mmdmtl.engine.work_dir import resume_checkpoint
        cfg.resume = True
        cfg.load_from = resume_checkpoint(cfg.work_dir, args.resume_intact)
    elif args.resume is not None:
        check_checkpoint_arg(args.resume, '--resume')
        cfg.resume = True
        cfg.load_from = args.resume
    if cfg.get('load_from', None) and not args.resume and osp.isfile(
            str(cfg.load_from)):
        check_checkpoint_arg(str(cfg.load_from), 'load_from')

    check_train_length(cfg)
    hooks = list(cfg.get('custom_hooks', None) or [])

    def missing(name):
        return not any(isinstance(h, dict) and str(h.get('type', '')).split('.')[-1]
                       == name for h in hooks)

    if missing('TrainCheckHook'):
        hooks.insert(0, dict(type='mmdmtl.TrainCheckHook'))
    if missing('DatasetRecordHook'):  # checkpoints say what they were trained on
        hooks.append(dict(type='mmdmtl.DatasetRecordHook'))
    # Distributed: every rank's BatchNorm statistics are averaged before each
    # validation and checkpoint, so that the saved file reproduces validation.
    if args.launcher != 'none' and missing('SyncBuffersHook'):
        hooks.append(dict(type='mmdmtl.SyncBuffersHook'))
    cfg.custom_hooks = hooks

    setup_distributed(cfg, args.launcher)
    return cfg


def main(argv=None):
    args = parse_args(argv)

    from mmdmtl.registry import RUNNERS
    from mmdmtl.utils import register_all_modules
    register_all_modules(init_default_scope=True)

    cfg = build_train_cfg(args)
    # One run per work dir (rank 0 holds the lock; the others share its run).
    from mmdmtl.engine.work_dir import WorkDirLock
    lock = WorkDirLock(cfg.work_dir) if os.environ.get(
        'RANK', '0') == '0' else None
    took_over = lock.acquire() if lock is not None else None
    try:
        if 'runner_type' not in cfg:
            from mmengine.runner import Runner
            runner = Runner.from_cfg(cfg)
        else:
            runner = RUNNERS.build(cfg)
        if took_over:
            runner.logger.warning(took_over)
        from mmdmtl.engine.distributed import describe_world
        runner.logger.info(describe_world())
        if getattr(args, 'fast_plan', None) is not None:  # what and why
            runner.logger.info('training ' +
                               args.fast_plan.describe(inference=False))
        runner.train()
    finally:
        if lock is not None:
            lock.release()
    return runner


if __name__ == '__main__':
    sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))
    from mmdmtl.utils.cli import run_tool
    run_tool(main)
