"""Make, convert and inspect partial-label split files.

Formats (see mmdmtl/datasets/partial_labels.py): the published ``.pth``
({'labels_weights': Tensor[N, T]}, rows in dataset order) and ``.npy``
({task: [image ids]}), and our plain JSON ({image_id: [tasks]}).

Examples:
    # generate a one-label split for a list of image ids
    python tools/dataset_converters/make_partial_split.py generate \
        --ids data/PASCAL_MT/ImageSets/Context/train.txt \
        --tasks semseg human_parts sal normals edge \
        --setting one_label --seed 0 --out splits/pascal_one.json

    # published NYUv2 .pth -> JSON (ids 0..N-1, columns semseg depth normals)
    python tools/dataset_converters/make_partial_split.py convert \
        data/partial_label_splits/nyuv2/onelabel.pth --out nyu_one.json \
        --num-images 795 --columns semseg depth normals

    # JSON -> published-style .npy / .pth
    python tools/dataset_converters/make_partial_split.py convert \
        nyu_one.json --out nyu_one.pth --columns semseg depth normals

    # counts per task
    python tools/dataset_converters/make_partial_split.py info nyu_one.json
"""
import argparse
import json
import os.path as osp
import re
import sys

from mmdmtl.datasets.file_io import read_id_list
from mmdmtl.datasets.partial_labels import (LABEL_SETTINGS,
                                            generate_label_matrix,
                                            read_split_file, split_summary,
                                            write_split_file)
from mmdmtl.structures import TASK_NAMES, check_task_names


def _file_ids(path):
    """The image ids a split file names, in a stable order."""
    ext = osp.splitext(path)[1].lower()
    if ext == '.json':
        with open(path) as f:
            return list(json.load(f))
    if ext == '.npy':
        from mmdmtl.utils.safe_load import load_pickled_npy
        data = load_pickled_npy(path, 'split file')
        ids = {str(i) for v in data.values() for i in v}
        # Numeric ids sort numerically, others lexically.
        return sorted(ids, key=lambda s: (0, int(s)) if re.fullmatch(
            r'\d+', s) else (1, s))
    return None


def _ids(args, path=None):
    if args.ids:
        return read_id_list(args.ids)
    if args.num_images is not None:
        return [str(i) for i in range(args.num_images)]
    ids = _file_ids(path) if path else None
    if ids is None:
        sys.exit('give --ids (an id list) or --num-images (ids 0..N-1)')
    return ids


def cmd_generate(args):
    tasks = check_task_names(args.tasks)
    ids = _ids(args)
    m = generate_label_matrix(len(ids), len(tasks), args.setting, args.seed)
    write_split_file(args.out, m, ids, tasks, overwrite=args.overwrite)
    print(f'{args.out}: {len(ids)} images, {split_summary(m, tasks)}')


def cmd_convert(args):
    ids = _ids(args, args.src)
    m, cols = read_split_file(args.src, ids, args.columns)
    out_cols = check_task_names(args.columns) if args.columns else cols
    missing = [t for t in out_cols if t not in cols]
    if missing:
        sys.exit(f'{args.src} has no column(s) {missing}')
    m = m[:, [cols.index(t) for t in out_cols]]
    write_split_file(args.out, m, ids, out_cols, overwrite=args.overwrite)
    print(f'{args.src} -> {args.out}: {len(ids)} images, '
          f'{split_summary(m, out_cols)}')


def cmd_info(args):
    ids = _ids(args, args.src)
    m, cols = read_split_file(args.src, ids, args.columns)
    print(f'{args.src}: {len(ids)} images, tasks {list(cols)}')
    print(split_summary(m, cols))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest='cmd', required=True)

    def common(sp):
        sp.add_argument('--ids', help='image-id list, one a line')
        sp.add_argument('--num-images', type=int,
                        help='ids 0..N-1 (the npy layouts)')
        sp.add_argument('--columns', nargs='+', choices=TASK_NAMES,
                        help='task order of .pth columns')

    g = sub.add_parser('generate', help='draw a split from a seed')
    common(g)
    g.add_argument('--tasks', nargs='+', required=True, choices=TASK_NAMES)
    g.add_argument('--setting', required=True, choices=LABEL_SETTINGS)
    g.add_argument('--seed', type=int, default=0)
    g.add_argument('--out', required=True, help='.json, .npy or .pth')
    g.add_argument('--overwrite', action='store_true',
                   help='replace --out if it exists (refused otherwise)')
    c = sub.add_parser('convert', help='convert between formats')
    common(c)
    c.add_argument('src')
    c.add_argument('--out', required=True)
    c.add_argument('--overwrite', action='store_true',
                   help='replace --out if it exists (refused otherwise)')
    i = sub.add_parser('info', help='per-task counts')
    common(i)
    i.add_argument('src')
    args = p.parse_args(argv)
    dict(generate=cmd_generate, convert=cmd_convert, info=cmd_info)[args.cmd](
        args)


if __name__ == '__main__':
    from mmdmtl.utils.cli import run_tool
    run_tool(main)
