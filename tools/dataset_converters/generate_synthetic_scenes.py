"""Generate the SyntheticScenes dataset (ray-cast rooms, six exact labels).

Example:
    python tools/dataset_converters/generate_synthetic_scenes.py \
        data/synthetic_scenes --num-train 400 --num-val 100 --size 128 128
"""
import argparse
import time

from mmdmtl.datasets.synthetic_scenes import generate_synthetic_scenes


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('data_root', help='output folder')
    p.add_argument('--num-train', type=int, default=400)
    p.add_argument('--num-val', type=int, default=100)
    p.add_argument('--size', type=int, nargs=2, default=(128, 128),
                   metavar=('H', 'W'))
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--workers', type=int, default=0,
                   help='processes (0: generate in this one)')
    p.add_argument('--force', action='store_true',
                   help='regenerate even if the manifest matches')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    t0 = time.time()
    made = generate_synthetic_scenes(
        args.data_root,
        num_train=args.num_train,
        num_val=args.num_val,
        size=tuple(args.size),
        seed=args.seed,
        num_workers=args.workers,
        force=args.force)
    n = args.num_train + args.num_val
    if made:
        dt = time.time() - t0
        print(f'wrote {n} scenes of {args.size[0]}x{args.size[1]} to '
              f'{args.data_root} in {dt:.1f} s ({dt / max(n, 1) * 1e3:.1f} ms '
              'per scene)')
    else:
        print(f'{args.data_root} already holds these scenes (manifest.json '
              'matches); use --force to regenerate')


if __name__ == '__main__':
    from mmdmtl.utils.cli import run_tool
    run_tool(main)
