"""Plot training curves from MMEngine's json logs, or summarise training time.

MMEngine writes one json object per logged step to
``<work_dir>/<timestamp>/vis_data/<timestamp>.json`` (and ``scalars.json``): training
lines carry ``loss``, ``lr``, ``time``, ... and ``step``; validation lines carry the
metrics (``semseg/mIoU``, ``depth/abs_err``, ...) and ``step``.

    python tools/analysis_tools/analyze_logs.py plot_curve LOG.json [LOG2.json ...] \
        [--keys loss 'semseg/*'] [--legend run1 run2] [--out curves.png]
    python tools/analysis_tools/analyze_logs.py list_keys LOG.json
    python tools/analysis_tools/analyze_logs.py cal_train_time LOG.json

Keys are shell-style patterns; each matching key gets its own subplot (losses and
metrics live on different scales), every log its own line. Without ``--keys``:
every key containing 'loss' plus every validation metric.
"""
import argparse
import fnmatch
import json
import os
import os.path as osp
import sys
from collections import OrderedDict
from typing import Dict, List, Sequence

# Keys that describe the step, not a quantity worth plotting.
_META_KEYS = {'step', 'iter', 'epoch', 'memory', 'data_time', 'time', 'lr',
              'base_lr'}


def load_records(path: str) -> List[dict]:
    """The json objects of a json-lines log, in order.

    Raises:
        FileNotFoundError / ValueError: naming the file (and line) at fault.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'log file not found: {path}')
    records = []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise ValueError(f'{path}:{lineno}: not a json line ({e.msg})') from e
    return records


def load_json_log(path: str) -> Dict[str, List[tuple]]:
    """key -> [(step, value), ...] over the numeric entries of a json-lines log."""
    series: Dict[str, List[tuple]] = OrderedDict()
    for rec in load_records(path):
        step = rec.get('step', rec.get('iter'))
        if step is None:
            continue
        for k, v in rec.items():
            if k == 'step' or isinstance(v, bool) or not isinstance(v, (int, float)):
                continue
            series.setdefault(k, []).append((step, float(v)))
    if not series:
        raise ValueError(f'{path}: no numeric entries with a step; is it an MMEngine '
                         'json log (vis_data/<timestamp>.json or scalars.json)?')
    return series


def default_keys(series: Dict[str, list]) -> List[str]:
    keys = [k for k in series if 'loss' in k]
    keys += [k for k in series if '/' in k and 'loss' not in k and k not in keys]
    return keys or [k for k in series if k not in _META_KEYS]


def select_keys(all_keys: Sequence[str], patterns: Sequence[str]) -> List[str]:
    chosen = []
    for p in patterns:
        hits = [k for k in all_keys if fnmatch.fnmatchcase(k, p)]
        if not hits:
            raise KeyError(f'--keys {p!r} matches nothing; available keys: '
                           f'{sorted(all_keys)}')
        chosen += [k for k in hits if k not in chosen]
    return chosen


def plot_curve(logs: Sequence[str],
               keys: Sequence[str] = (),
               legend: Sequence[str] = (),
               out: str = 'curves.png',
               title: str = '',
               ncols: int = 3) -> str:
    """Draw the curves of ``keys`` (patterns) of every log into ``out`` (PNG)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    data = [load_json_log(p) for p in logs]
    if legend and len(legend) != len(logs):
        raise ValueError(f'--legend has {len(legend)} names for {len(logs)} logs')
    names = list(legend) if legend else [
        osp.basename(osp.dirname(osp.dirname(osp.abspath(p)))) or osp.basename(p)
        for p in logs
    ]
    all_keys = list(OrderedDict.fromkeys(k for d in data for k in d))
    chosen = select_keys(all_keys, keys) if keys else default_keys(data[0])
    ncols = max(1, min(ncols, len(chosen)))
    nrows = (len(chosen) + ncols - 1) // ncols
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(4.2 * ncols, 3.2 * nrows), squeeze=False)
    for ax, key in zip(axes.ravel(), chosen):
        for name, d in zip(names, data):
            if key not in d:
                continue
            xs, ys = zip(*d[key])
            ax.plot(xs, ys, marker='o' if len(xs) < 20 else None, ms=3,
                    label=name)
        ax.set_title(key, fontsize=10)
        ax.set_xlabel('iteration')
        ax.grid(alpha=0.3)
        if len(data) > 1:
            ax.legend(fontsize=8)
    for ax in axes.ravel()[len(chosen):]:
        ax.axis('off')
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def cal_train_time(log: str) -> Dict[str, float]:
    """Mean / slowest / fastest seconds per logged training iteration (the lines
    with a loss; validation lines also log "time")."""
    times = [float(r['time']) for r in load_records(log)
             if 'time' in r and any('loss' in k for k in r)]
    if not times:
        raise ValueError(f'{log}: no training lines with "time" (not a training log?)')
    return dict(
        mean=sum(times) / len(times), slowest=max(times), fastest=min(times),
        num=len(times))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Analyse MMEngine json logs')
    sub = parser.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('plot_curve', help='plot curves to a PNG')
    p.add_argument('logs', nargs='+', help='json log files')
    p.add_argument('--keys', nargs='+', default=[], help='key patterns to plot')
    p.add_argument('--legend', nargs='+', default=[], help='one name per log')
    p.add_argument('--title', default='')
    p.add_argument('--out', default='curves.png', help='output PNG')
    p.add_argument('--overwrite', action='store_true',
                   help='replace --out if it exists (refused otherwise)')
    p.add_argument('--ncols', type=int, default=3)
    p = sub.add_parser('list_keys', help='print the keys a log holds')
    p.add_argument('logs', nargs='+')
    p = sub.add_parser('cal_train_time', help='seconds per iteration')
    p.add_argument('logs', nargs='+')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.cmd == 'plot_curve':
        if osp.exists(args.out) and not args.overwrite:
            raise FileExistsError(
                f'--out {args.out} exists already; refusing to overwrite it '
                '(pass --overwrite to replace it, or give another name)')
        out = plot_curve(args.logs, args.keys, args.legend, args.out, args.title,
                         args.ncols)
        print(f'curves written to {out}')
    elif args.cmd == 'list_keys':
        for log in args.logs:
            d = load_json_log(log)
            print(f'{log}:')
            for k, v in d.items():
                print(f'  {k}  ({len(v)} points)')
    else:
        for log in args.logs:
            t = cal_train_time(log)
            print(f'{log}: {t["mean"]:.4f} s/iter on average over {t["num"]} '
                  f'logged iterations (slowest {t["slowest"]:.4f}, fastest '
                  f'{t["fastest"]:.4f})')


if __name__ == '__main__':
    sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    from mmdmtl.utils.cli import run_tool
    sys.exit(run_tool(main))
