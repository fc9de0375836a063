"""Convert a checkpoint of the published DiffusionMTL code to an MMEngine checkpoint.

    python tools/model_converters/official_to_mmdmtl.py SRC DST [--config CONFIG]
                                                          [--overwrite]

SRC: ``torch.save`` of the published training script (a dict with ``'model'`` = the
state dict, keys with or without ``module.``, plus optimizer/scheduler/epoch/
iter_count; a bare state dict is accepted too). DST: an MMEngine checkpoint
(``meta`` + ``state_dict``) that ``tools/test.py CONFIG DST`` and ``load_from`` load
strictly. Every key is placed or the tool stops naming the keys it cannot place; the
schedule tables are checked against ours and dropped; the result is checked against
the model of ``--config`` (default: the released PASCAL feature-diffusion config), so
a checkpoint of another task set, width or variant is named here, not at test time.
The key map: mmdmtl/models/official_checkpoint.py.
"""
import argparse
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_CONFIG = osp.join(
    REPO, 'configs/diffusionmtl/diffusionmtl-feature_r18_pascal-context_one-label.py')


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('src', help='checkpoint of the published code (.pth)')
    p.add_argument('dst', help='output MMEngine checkpoint (.pth)')
    p.add_argument('--config', default=DEFAULT_CONFIG,
                   help='config whose model the checkpoint must fit strictly '
                   '(default: %(default)s)')
    p.add_argument('--overwrite', action='store_true', help='replace an existing DST')
    return p.parse_args(argv)


def build_model(config: str):
    """The config's model with random weights (nothing downloaded)."""
    from mmengine.config import Config
    from mmdmtl.registry import MODELS
    from mmdmtl.utils import register_all_modules
    register_all_modules()
    cfg = Config.fromfile(config)
    m = cfg.model
    if isinstance(m.get('backbone'), dict):
        m.backbone.init_cfg = None
    m.init_cfg = None
    return MODELS.build(m)


def main(argv=None):
    args = parse_args(argv)
    import io

    import torch

    import mmdmtl
    from mmdmtl.engine.checkpoint import check_checkpoint_fits
    from mmdmtl.models.official_checkpoint import (convert_official_state_dict,
                                                   split_official_checkpoint)
    from mmdmtl.utils.atomic_write import atomic_write_bytes
    from mmdmtl.utils.cli import check_checkpoint_arg, check_config_arg
    from mmdmtl.utils.safe_load import load_torch_file
    from mmdmtl.utils.safe_output import check_output_file

    check_checkpoint_arg(args.src, 'SRC')
    check_config_arg(args.config, '--config')
    check_output_file(args.dst, 'DST', overwrite=args.overwrite)
    # A downloaded file: weights-only, never a full unpickle (a file with other
    # objects is refused naming the type; see docs/failure_modes.md for the fix).
    obj = load_torch_file(args.src, 'SRC (released checkpoint)')
    sd, rest = split_official_checkpoint(obj)
    converted, summary = convert_official_state_dict(sd)
    model = build_model(args.config)
    check_checkpoint_fits(model, converted, source=f'{args.src} (converted)',
                          strict=True)
    model.load_state_dict(converted, strict=True)

    meta = dict(
        converted_from=osp.abspath(args.src),
        converter='tools/model_converters/official_to_mmdmtl.py',
        mmdmtl_version=mmdmtl.__version__,
        config=osp.abspath(args.config),
        official_epoch=rest.get('epoch'),
        official_iter_count=rest.get('iter_count'),
        tasks=summary['tasks'])
    buf = io.BytesIO()
    torch.save(dict(meta=meta, state_dict=converted), buf)
    atomic_write_bytes(buf.getvalue(), args.dst)
    tasks = ', '.join(f'{t}={c}' for t, c in summary['tasks'].items())
    print(f'[official_to_mmdmtl] {summary["num_keys"]} keys read, '
          f'{summary["num_placed"] - 1} placed + train_iter, '
          f'{len(summary["schedule_tables_checked"])} schedule tables checked '
          f'(T={summary["num_train_timesteps"]}) and dropped'
          + (f', dropped {summary["dropped"]}' if summary['dropped'] else ''))
    print(f'[official_to_mmdmtl] tasks: {tasks}; width {summary["channels"]}; '
          f'{summary["num_parameters"]:,} parameters')
    print(f'[official_to_mmdmtl] strict load into {osp.basename(args.config)}: ok')
    print(f'[official_to_mmdmtl] wrote {args.dst}')
    return 0


if __name__ == '__main__':
    sys.path.insert(0, REPO)
    from mmdmtl.utils.cli import run_tool
    sys.exit(run_tool(main))
