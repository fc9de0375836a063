"""Partial-label accuracy study on SyntheticScenes.

For every label setting (one-label, random-label) and every seed, trains with the
same budget (iterations x batch size, optimiser, schedule):

* ``stl``: one single-task model per task (MTL-baseline architecture with one
  task, trained on the images labelled for that task), the reference of Delta_m;
* ``mtl``: the MTL baseline (shared encoder, initial heads only);
* ``dmtl_feature`` / ``dmtl_prediction``: DiffusionMTL, feature / prediction
  diffusion;
* ``no_mtc``: DiffusionMTL feature without multi-task conditioning (the denoiser is
  conditioned on the neck feature);
* ``no_diffusion``: DiffusionMTL feature without noise (same refiner and chain);

then evaluates each on the val split with the package's metrics and writes, after
EVERY run (a cut-off run still leaves a table):

* ``<out-dir>/runs.json``: every run's metrics, Delta_m and timing;
* ``<out-dir>/study.json``: mean and std over seeds of every metric and Delta_m;
* ``<out-dir>/study.md``: the same as Markdown tables.

Delta_m of a run is computed against the single-task models of the same setting
and seed (the mean over the available STL seeds if that seed's STL is missing).

The models are the package's own configs (``configs/_base_/models``) with the widths
and image size scaled down for a CPU: a ResNet-18 layout with ``base_channels``
channels in its first stage, ``channels`` in the neck/heads/denoiser. The
training loop is a plain loop over ``model.train_step`` with an mmengine
``OptimWrapper`` (Adam, grad-norm clip 10, poly LR), on samples packed once and
held in memory (no augmentation: the budget is too small for it to matter).

Example (the size used for docs/results.md, about an hour on 2 CPU cores)::

    python tools/benchmarks/partial_label_study.py --out-dir work_dirs/partial_label_study

Full-size example (wider, longer, 128x128)::

    python tools/benchmarks/partial_label_study.py --size 128 --channels 128 \\
        --base-channels 64 --iters 3000 --num-train 1000 --num-val 200 \\
        --token-stride 4 --out-dir work_dirs/partial_label_study_full
"""
import argparse
import copy
import json
import math
import os
import os.path as osp
import platform
import sys
import time
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))

ALL_TASKS = ('semseg', 'human_parts', 'sal', 'normals', 'edge', 'depth')
TASK_CHANNELS = dict(semseg=9, human_parts=7, sal=2, normals=3, edge=1, depth=1)
# The headline metric of each task (the one of the papers' tables).
HEADLINE = {
    'semseg': 'semseg/mIoU',
    'human_parts': 'human_parts/mIoU',
    'sal': 'sal/maxF',
    'normals': 'normals/mean',
    'edge': 'edge/odsF',
    'depth': 'depth/abs_err',
}
LOWER_BETTER = ('normals/mean', 'depth/abs_err')
VARIANTS = ('stl', 'mtl', 'dmtl_feature', 'dmtl_prediction', 'no_mtc',
            'no_diffusion')
VARIANT_NAMES = {
    'stl': 'single-task (one model per task)',
    'mtl': 'MTL baseline',
    'dmtl_feature': 'DiffusionMTL, feature diffusion',
    'dmtl_prediction': 'DiffusionMTL, prediction diffusion',
    'no_mtc': 'DiffusionMTL feature, w/o conditioning (MTC)',
    'no_diffusion': 'DiffusionMTL feature, w/o diffusion (no noise)',
}
SETTINGS = ('one_label', 'random_label')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out-dir', default='work_dirs/partial_label_study')
    p.add_argument('--data-root', default=None,
                   help='where the synthetic data is generated (default: '
                   '<out-dir>/data_<size>)')
    p.add_argument('--settings', nargs='+', default=list(SETTINGS),
                   choices=SETTINGS)
    p.add_argument('--variants', nargs='+', default=list(VARIANTS),
                   choices=VARIANTS)
    p.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    p.add_argument('--tasks', nargs='+', default=list(ALL_TASKS),
                   choices=ALL_TASKS)
    p.add_argument('--size', type=int, default=64, help='image side (pixels)')
    p.add_argument('--num-train', type=int, default=240)
    p.add_argument('--num-val', type=int, default=48)
    p.add_argument('--data-seed', type=int, default=0,
                   help='seed of the generated scenes (fixed over runs)')
    p.add_argument('--iters', type=int, default=150,
                   help='training iterations of every model (the budget)')
    p.add_argument('--batch-size', type=int, default=8)
    p.add_argument('--lr', type=float, default=2e-3)
    p.add_argument('--channels', type=int, default=32,
                   help='width of neck, heads, conditioner and denoiser (512 '
                   'official)')
    p.add_argument('--base-channels', type=int, default=16,
                   help='first-stage width of the ResNet-18 (64 official)')
    p.add_argument('--num-heads', type=int, default=4)
    p.add_argument('--token-stride', type=int, default=2,
                   help='map -> token downsampling (4 official at 512 px; 2 '
                   'keeps a 4x4 token grid at 64 px)')
    p.add_argument('--threads', type=int, default=1,
                   help='torch threads (1: no oversubscription on a shared CPU)')
    p.add_argument('--edge-thresholds', type=int, default=19,
                   help='thresholds of the edge odsF (99 = BSDS; fewer is '
                   'faster)')
    p.add_argument('--resume', action='store_true',
                   help='skip runs already in <out-dir>/runs.json')
    p.add_argument('--quiet', action='store_true')
    return p.parse_args(argv)


# ------------------------------------------------------------------- configs
def model_config(variant: str, tasks: Dict[str, int], args) -> dict:
    """The package's model config of ``variant`` at the study's size."""
    from mmengine.config import Config
    base = 'mtl_baseline_r18.py' if variant in ('stl', 'mtl') else \
        'diffusionmtl_r18.py'
    cfg = Config.fromfile(osp.join(ROOT, 'configs', '_base_', 'models', base))
    m = copy.deepcopy(cfg.model.to_dict())
    bc = args.base_channels
    m['tasks'] = dict(tasks)
    m['channels'] = args.channels
    m['backbone'].update(stem_channels=bc, base_channels=bc, init_cfg=None)
    m['neck']['in_channels'] = [bc, bc * 2, bc * 4, bc * 8]
    m['data_preprocessor'] = dict(
        type='MultiTaskDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True)
    if m.get('refine_head') is not None:
        m['refine_head'].update(
            num_heads=args.num_heads, token_stride=args.token_stride)
        if variant == 'dmtl_prediction':
            m['refine_head']['diffuse'] = 'prediction'
        elif variant == 'no_diffusion':
            m['refine_head']['use_noise'] = False
        if variant == 'no_mtc':
            m['conditioner'] = None
    return m


# ---------------------------------------------------------------------- data
def load_split(data_root: str, split: str, setting: str, seed: int, args,
               tasks: Sequence[str]) -> List[dict]:
    """Packed samples ({'inputs', 'data_samples'}) of a split, held in memory."""
    from mmdmtl.registry import DATASETS
    ds = DATASETS.build(
        dict(
            type='SyntheticScenesDataset',
            data_root=data_root,
            split=split,
            generate=dict(
                num_train=args.num_train,
                num_val=args.num_val,
                size=(args.size, args.size),
                seed=args.data_seed),
            tasks=tuple(tasks),
            label_setting=setting,
            split_seed=seed,
            test_mode=split == 'val',
            pipeline=[
                dict(type='LoadMultiTaskImage'),
                dict(type='LoadMultiTaskAnnotations'),
                dict(type='PackMultiTaskInputs'),
            ]))
    return [ds[i] for i in range(len(ds))]


def task_subset(samples: List[dict], task: str) -> List[dict]:
    """The single-task training set of ``task``: the images labelled for it,
    with only that task's label."""
    from mmdmtl.structures import get_task
    out = []
    keep_field = get_task(task).gt_field
    for s in samples:
        ds = s['data_samples']
        if task not in ds.metainfo.get('labeled_tasks', ()):
            continue
        new = ds.clone()
        for t in ALL_TASKS:
            f = get_task(t).gt_field
            if f != keep_field and f in new:
                delattr(new, f)
        new.set_metainfo(dict(labeled_tasks=(task, )))
        out.append(dict(inputs=s['inputs'], data_samples=new))
    return out


# ------------------------------------------------------------- train & eval
def train_model(model, samples: List[dict], args, seed: int) -> Dict[str, float]:
    from mmengine.dataset import pseudo_collate
    from mmengine.optim import OptimWrapper
    torch.manual_seed(seed)
    optim = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=1e-6)
    wrapper = OptimWrapper(optim, clip_grad=dict(max_norm=10, norm_type=2))
    sched = torch.optim.lr_scheduler.LambdaLR(
        optim, lambda it: (1 - it / args.iters)**0.9)
    gen = torch.Generator().manual_seed(seed)
    order: List[int] = []
    model.train()
    t0 = time.perf_counter()
    last = {}
    for it in range(args.iters):
        if len(order) < args.batch_size:
            order += torch.randperm(len(samples), generator=gen).tolist()
        idx, order = order[:args.batch_size], order[args.batch_size:]
        batch = pseudo_collate([samples[i] for i in idx])
        log = model.train_step(batch, wrapper)
        sched.step()
        if not all(math.isfinite(float(v)) for v in log.values()):
            raise FloatingPointError(f'non-finite loss at iteration {it}: {log}')
        last = {k: float(v) for k, v in log.items()}
        if not args.quiet and (it + 1) % 50 == 0:
            print(f'    it {it + 1}/{args.iters} loss {last.get("loss", 0):.4f} '
                  f'({time.perf_counter() - t0:.0f}s)', flush=True)
    return dict(train_s=time.perf_counter() - t0, final_loss=last.get('loss'))


@torch.no_grad()
def evaluate_model(model, samples: List[dict], tasks: Sequence[str], args
                   ) -> Dict[str, float]:
    from mmengine.dataset import pseudo_collate
    from mmdmtl.registry import METRICS
    cfgs = dict(
        semseg=dict(type='SemSegMetric', num_classes=TASK_CHANNELS['semseg']),
        human_parts=dict(type='HumanPartsMetric',
                         num_classes=TASK_CHANNELS['human_parts']),
        sal=dict(type='SaliencyMetric'),
        normals=dict(type='NormalsMetric'),
        edge=dict(type='EdgeMetric', max_dist=0.0075,
                  thresholds=args.edge_thresholds),
        depth=dict(type='DepthMetric'))
    metrics = [METRICS.build(cfgs[t]) for t in tasks]
    model.eval()
    for i in range(0, len(samples), args.batch_size):
        batch = pseudo_collate(samples[i:i + args.batch_size])
        preds = model.val_step(batch)
        for m in metrics:
            m.process(batch, preds)
    out = {}
    for m in metrics:
        out.update(m.evaluate(len(samples)))
    return {k: float(v) for k, v in out.items()}


def run_one(variant: str, tasks: Dict[str, int], train: List[dict],
            val: List[dict], args, seed: int) -> dict:
    from mmdmtl.registry import MODELS
    torch.manual_seed(seed)
    np.random.seed(seed)
    model = MODELS.build(model_config(variant, tasks, args))
    n_params = sum(p.numel() for p in model.parameters())
    stats = train_model(model, train, args, seed)
    t0 = time.perf_counter()
    metrics = evaluate_model(model, val, list(tasks), args)
    stats['eval_s'] = time.perf_counter() - t0
    if getattr(model, 'refine_head', None) is not None:
        # the same model's initial heads (test_cfg.output='initial'): what the
        # refinement adds per task
        model.test_output = 'initial'
        stats['initial_metrics'] = evaluate_model(model, val, list(tasks), args)
        model.test_output = 'final'

    stats['params'] = n_params
    stats['num_train_images'] = len(train)
    return dict(metrics=metrics, **stats)


# ------------------------------------------------------------------ summary
def _headline(metrics: Dict[str, float], tasks: Sequence[str]) -> Dict[str, float]:
    return {HEADLINE[t]: metrics[HEADLINE[t]] for t in tasks
            if HEADLINE[t] in metrics}


def delta_m(metrics: Dict[str, float], ref: Dict[str, float]) -> Optional[float]:
    from mmdmtl.evaluation.functional.gain import multi_task_gain
    keys = [k for k in ref if k in metrics and math.isfinite(metrics[k])
            and ref[k] != 0 and math.isfinite(ref[k])]
    if len(keys) != len(ref):
        return None
    return multi_task_gain({k: metrics[k] for k in keys},
                           {k: ref[k] for k in keys},
                           lower_is_better=LOWER_BETTER)['delta_m']


def stl_reference(runs: List[dict], setting: str, seed: int,
                  tasks: Sequence[str]) -> Optional[Dict[str, float]]:
    """{headline key: STL value} of a setting and seed (mean over the other
    seeds for tasks whose STL run of this seed is missing)."""
    ref = {}
    for t in tasks:
        key = HEADLINE[t]
        same = [r for r in runs if r['variant'] == 'stl' and r['setting'] == setting
                and r['task'] == t]
        this = [r['metrics'][key] for r in same if r['seed'] == seed]
        vals = this or [r['metrics'][key] for r in same]
        if not vals:
            return None
        ref[key] = float(np.mean(vals))
    return ref


INITIAL_SUFFIX = ':initial'


def _row_stats(runs, setting, seeds, metrics_by_seed, tasks) -> dict:
    dms = []
    for s, m in zip(seeds, metrics_by_seed):
        ref = stl_reference(runs, setting, s, tasks)
        dms.append(delta_m(m, ref) if ref else None)
    keys = sorted(set().union(*[set(m) for m in metrics_by_seed]))
    stat = {}
    for k in keys:
        vals = [m[k] for m in metrics_by_seed if k in m]
        stat[k] = dict(mean=float(np.mean(vals)), std=float(np.std(vals)),
                       n=len(vals))
    good = [d for d in dms if d is not None]
    if good:
        stat['delta_m'] = dict(mean=float(np.mean(good)), std=float(np.std(good)),
                               n=len(good))
    return dict(seeds=seeds, metrics=stat)


def summarise(runs: List[dict], tasks: Sequence[str], args) -> dict:
    """Mean/std over seeds of every metric of every (setting, variant)."""
    summary = {}
    for setting in args.settings:
        rows = {}
        for variant in args.variants:
            if variant == 'stl':
                # One STL "model" per seed = the union of its per-task runs.
                per_seed = {}
                for r in runs:
                    if r['variant'] == 'stl' and r['setting'] == setting:
                        per_seed.setdefault(r['seed'], {}).update(r['metrics'])
                seeds = sorted(per_seed)
                metrics_by_seed = [per_seed[s] for s in seeds]
            else:
                sel = [r for r in runs if r['variant'] == variant and
                       r['setting'] == setting]
                seeds = [r['seed'] for r in sel]
                metrics_by_seed = [r['metrics'] for r in sel]
            if not seeds:
                continue
            rows[variant] = _row_stats(runs, setting, seeds, metrics_by_seed, tasks)
            if variant != 'stl' and all('initial_metrics' in r for r in sel):
                rows[variant + INITIAL_SUFFIX] = _row_stats(
                    runs, setting, seeds, [r['initial_metrics'] for r in sel], tasks)
        summary[setting] = rows
    return summary


def markdown(summary: dict, tasks: Sequence[str], meta: dict) -> str:
    lines = []
    heads = [HEADLINE[t] for t in tasks]
    arrows = ['(lower better)' if h in LOWER_BETTER else '' for h in heads]
    for setting, rows in summary.items():
        lines.append(f'#### {setting.replace("_", "-")}\n')
        lines.append('| model | seeds | ' + ' | '.join(
            f'{h} {a}'.strip() for h, a in zip(heads, arrows)) + ' | Delta_m (%) |')
        lines.append('|---' * (len(heads) + 3) + '|')
        for variant, row in rows.items():
            cells = []
            for h in heads + ['delta_m']:
                s = row['metrics'].get(h)
                if s is None:
                    cells.append('-' if h != 'delta_m' or variant != 'stl'
                                 else '0 (reference)')
                    continue
                fmt = '{:+.2f} ± {:.2f}' if h == 'delta_m' else (
                    '{:.4f} ± {:.4f}' if h == 'depth/abs_err' else
                    '{:.2f} ± {:.2f}')
                cells.append(fmt.format(s['mean'], s['std']))
            name = VARIANT_NAMES[variant.split(':')[0]]
            if variant.endswith(INITIAL_SUFFIX):
                name = f'{name}: initial heads'
            elif variant not in ('stl', 'mtl'):
                name = f'{name}: final (refined)'
            lines.append(f'| {name} | {len(row["seeds"])} | ' +
                         ' | '.join(cells) + ' |')
        lines.append('')
    lines.append(f'Mean ± std over seeds. {meta["budget"]}')
    return '\n'.join(lines) + '\n'


def _write_json(path: str, obj) -> None:
    from mmdmtl.utils.atomic_write import atomic_write_json
    atomic_write_json(obj, path, indent=1)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    sys.path.insert(0, ROOT)
    from mmdmtl.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    os.makedirs(args.out_dir, exist_ok=True)
    data_root = args.data_root or osp.join(args.out_dir, f'data_{args.size}')
    tasks = {t: TASK_CHANNELS[t] for t in ALL_TASKS if t in args.tasks}
    runs_path = osp.join(args.out_dir, 'runs.json')
    runs: List[dict] = []
    if args.resume and osp.isfile(runs_path):
        with open(runs_path) as f:
            runs = json.load(f)['runs']
    meta = dict(
        command='python tools/benchmarks/partial_label_study.py ' +
        ' '.join(sys.argv[1:] if argv is None else argv),
        started=time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()),
        machine=f'{platform.processor() or platform.machine()}, '
        f'{os.cpu_count()} CPUs, torch {torch.__version__}, '
        f'{args.threads} threads',
        args=vars(args),
        budget=(f'Budget per model: {args.iters} iterations of batch '
                f'{args.batch_size} (Adam lr {args.lr}, poly 0.9, clip 10), '
                f'{args.size}x{args.size} images, {args.num_train} train / '
                f'{args.num_val} val, width {args.channels}, ResNet-18 with '
                f'{args.base_channels} first-stage channels, token stride '
                f'{args.token_stride}, edge odsF with {args.edge_thresholds} '
                'thresholds.'))
    failures: List[dict] = []
    done = {(r['setting'], r['seed'], r['variant'], r.get('task')) for r in runs}

    def save():
        summary = summarise(runs, list(tasks), args)
        meta['updated'] = time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())
        _write_json(runs_path, dict(meta=meta, runs=runs))
        _write_json(osp.join(args.out_dir, 'study.json'),
                    dict(meta=meta, summary=summary))
        with open(osp.join(args.out_dir, 'study.md'), 'w') as f:
            f.write(markdown(summary, list(tasks), meta))

    val = load_split(data_root, 'val', 'full', 0, args, list(tasks))
    # Seed-major order: a cut-off study still has complete seeds.
    for seed in args.seeds:
        for setting in args.settings:
            train = load_split(data_root, 'train', setting, seed, args, list(tasks))
            jobs = []
            for variant in args.variants:
                if variant == 'stl':
                    jobs += [('stl', t) for t in tasks]
                else:
                    jobs.append((variant, None))
            for variant, task in jobs:
                if (setting, seed, variant, task) in done:
                    continue
                t0 = time.perf_counter()
                label = f'{setting} seed {seed} {variant}' + \
                    (f' [{task}]' if task else '')
                print(f'== {label}', flush=True)
                try:
                    if variant == 'stl':
                        res = run_one('stl', {task: tasks[task]},
                                      task_subset(train, task), val, args, seed)
                    else:
                        res = run_one(variant, tasks, train, val, args, seed)
                except Exception as e:  # keep the other runs of the study going
                    import traceback
                    traceback.print_exc()
                    failures.append(dict(setting=setting, seed=seed,
                                         variant=variant, task=task,
                                         error=f'{type(e).__name__}: {e}'))
                    meta['failures'] = failures
                    save()
                    continue
                res.update(setting=setting, seed=seed, variant=variant, task=task,
                           wall_s=time.perf_counter() - t0,
                           load=os.getloadavg()[0])
                runs.append(res)
                print(f'   {_headline(res["metrics"], list(tasks))} '
                      f'({res["wall_s"]:.0f}s, load {res["load"]:.1f})',
                      flush=True)
                save()
    save()
    print(open(osp.join(args.out_dir, 'study.md')).read())


if __name__ == '__main__':
    main()
