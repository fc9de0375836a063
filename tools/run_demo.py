"""The end-to-end demo (``make demo``): synthetic data -> train DiffusionMTL in the
one-label setting -> evaluate every task, trained vs untrained -> panels and a table.

    python tools/run_demo.py [--work-dir work_dirs/demo] [--config CONFIG]
                             [--data-root data/synthetic_scenes_demo]
                             [--retrain] [--reeval] [--max-iters N]

Writes into the work dir:
    final.pth          the trained checkpoint
    results.json       metrics of the untrained model and of the trained model's two
                       outputs (``initial/...``: its initial heads, ``refined/...``:
                       the diffusion-refined final output), timings, commands
    panels/*.png       image + every task's label and refined prediction, for a few
                       val images
    panels_initial/    the same panels with the initial heads' predictions
    panels_compare/    refined (top) and initial (bottom) panels of each image, stacked
    curves.png         training losses
    train/, eval_*/    MMEngine's logs

A second run reuses what exists: the data (its manifest matches), the checkpoint (no
training when final.pth exists; an interrupted training resumes from its last
checkpoint) and the evaluations (cached by checkpoint size+mtime in results.json).
"""
import argparse
import copy
import datetime
import json
import os
import os.path as osp
import shutil
import sys
import time
import warnings

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEFAULT_CONFIG = osp.join(
    REPO, 'configs', 'diffusionmtl',
    'demo_diffusionmtl-feature_synthetic_one-label.py')

# The number shown per task in the summary (the metric the papers report) and
# whether higher is better. Every other metric is in results.json.
PRIMARY = [
    ('semseg', ('mIoU', ), True),
    ('human_parts', ('mIoU', ), True),
    ('sal', ('maxF', ), True),
    ('normals', ('mean', 'mErr', 'mean_angle'), False),
    ('edge', ('odsF', ), True),
    ('depth', ('abs_err', 'rmse'), False),
]
LOWER_IS_BETTER_HINTS = ('err', 'rmse', 'mean', 'median', 'abs_rel', 'sq_rel',
                         'log', 'loss')


def log(msg: str) -> None:
    stamp = datetime.datetime.now().strftime('%H:%M:%S')
    print(f'[demo {stamp}] {msg}', flush=True)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description='mmdmtl end-to-end CPU demo')
    p.add_argument('--work-dir', default='work_dirs/demo')
    p.add_argument('--config', default=DEFAULT_CONFIG)
    p.add_argument(
        '--data-root', default=None,
        help='where the synthetic data goes (default: the config\'s data_root)')
    p.add_argument('--max-iters', type=int, default=None,
                   help='override the training length (iterations)')
    p.add_argument('--retrain', action='store_true',
                   help='train again even if final.pth exists')
    p.add_argument('--reeval', action='store_true',
                   help='evaluate again even if results.json has the numbers')
    p.add_argument('--num-panels', type=int, default=8,
                   help='val images drawn as panels')
    p.add_argument('--threads', type=int, default=None,
                   help='torch threads on CPU (default: cores - 1, leaving one core '
                   'to the data-loading worker)')
    p.add_argument('--cfg-options', nargs='+', default=None,
                   help='extra config overrides (key=value)')
    return p.parse_args(argv)


# ----------------------------------------------------------------- config
def load_config(args):
    from mmengine.config import Config, DictAction
    if not osp.isfile(args.config):
        raise FileNotFoundError(f'demo config not found: {args.config}')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        parser = argparse.ArgumentParser()
        parser.add_argument('--o', nargs='+', action=DictAction)
        cfg.merge_from_dict(parser.parse_args(['--o', *args.cfg_options]).o)
    if args.data_root:
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            cfg[key].dataset.data_root = args.data_root
    if args.max_iters:
        # a shorter run: one poly decay over it (the warm-up may not fit)
        cfg.train_cfg.max_iters = args.max_iters
        cfg.train_cfg.val_interval = args.max_iters
        cfg.param_scheduler = [
            dict(type='PolyLR', eta_min=0.0, power=0.9, by_epoch=False, begin=0,
                 end=args.max_iters)
        ]
    return cfg


def data_settings(cfg):
    ds = cfg.train_dataloader.dataset
    return ds.data_root, dict(ds.get('generate') or {})


# ------------------------------------------------------------------ steps
def make_data(cfg) -> float:
    from mmdmtl.datasets.synthetic_scenes import generate_synthetic_scenes
    root, gen = data_settings(cfg)
    t0 = time.time()
    manifest = osp.join(root, 'manifest.json')
    if osp.isfile(manifest):
        log(f'[1/4] data: checking {root}')
    else:
        log(f'[1/4] data: generating SyntheticScenes into {root} '
            f'({gen.get("num_train")} train + {gen.get("num_val")} val images, '
            f'{tuple(gen.get("size", ()))} px; about a minute on 2 cores)')
    gen.setdefault('num_workers', min(2, os.cpu_count() or 1))
    made = generate_synthetic_scenes(root, **gen)
    log(f'      {"generated" if made else "reused"} in {time.time() - t0:.1f} s')
    return time.time() - t0


def _progress_hook(every: int):
    """A hook printing one line per ``every`` training iterations (the Runner's own
    INFO log is silenced for the demo; it stays complete in the work dir's json)."""
    from mmengine.hooks import Hook

    class DemoProgressHook(Hook):
        priority = 'LOW'

        def before_train(self, runner):
            self.t0 = time.time()
            self.start_iter = runner.iter

        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            it = runner.iter + 1
            if it % every and it != runner.max_iters:
                return
            done = it - self.start_iter
            spent = time.time() - self.t0
            eta = spent / max(done, 1) * (runner.max_iters - it)
            outputs = {k: float(v.detach() if hasattr(v, 'detach') else v)
                       for k, v in (outputs or {}).items()}
            finals = ' '.join(
                f'{k.split(".")[0]} {v:.3f}' for k, v in outputs.items()
                if k.endswith('.loss_final'))
            loss = float(outputs.get('loss', float('nan')))
            log(f'      iter {it:4d}/{runner.max_iters}  loss {loss:7.3f}  '
                f'[task losses: {finals}]  {spent / max(done, 1):.2f} s/iter, '
                f'ETA {eta / 60:.1f} min')

    return DemoProgressHook()


def _unique(name: str) -> str:
    return f'{name}_{datetime.datetime.now().strftime("%Y%m%d_%H%M%S_%f")}'


def _runner(cfg, work_dir: str, name: str):
    """A copy of ``cfg`` for one Runner of this process (own names, quiet log)."""
    c = copy.deepcopy(cfg)
    c.work_dir = work_dir
    c.experiment_name = _unique(name)
    # every Runner in this process needs its own visualizer/logger instance
    c.visualizer = dict(c.get('visualizer') or dict(type='MultiTaskVisualizer'))
    c.visualizer['name'] = c.experiment_name
    # the Runner's INFO log (config dump, weight init, hook table) would bury the
    # demo's progress lines; warnings and errors still show
    c.log_level = 'WARNING'
    return c


def evaluate(cfg, work_dir: str, checkpoint=None, panels_dir=None,
             num_panels: int = 8, name: str = 'eval', output: str = 'final') -> dict:
    """Test-split metrics of ``checkpoint`` (None: the untrained model, initialised
    exactly as training initialises it), of its refined output (``output='final'``)
    or of its initial heads (``'initial'``)."""
    from mmengine.runner import Runner
    c = _runner(cfg, work_dir, name)
    # (ConfigDict.setdefault hands back a copy: assign the whole dict)
    c.model.test_cfg = dict(c.model.get('test_cfg') or {}, output=output)
    c.load_from = checkpoint
    c.resume = False
    hooks = c.setdefault('default_hooks', {})
    if panels_dir:
        hooks['visualization'] = dict(
            type='MultiTaskVisualizationHook', draw=True, interval=1,
            out_dir=osp.abspath(panels_dir), max_samples=num_panels)
    else:
        hooks['visualization'] = dict(type='MultiTaskVisualizationHook', draw=False)
    runner = Runner.from_cfg(c)
    if checkpoint is None and hasattr(runner.model, 'init_weights'):
        runner.model.init_weights()
    metrics = runner.test()
    return {k: float(v) for k, v in metrics.items() if _is_number(v)}


def _is_number(v) -> bool:
    try:
        float(v)
        return True
    except (TypeError, ValueError):
        return False


def train(cfg, work_dir: str, final_ckpt: str) -> float:
    from mmengine.runner import Runner
    train_dir = osp.join(work_dir, 'train')
    c = _runner(cfg, train_dir, 'train')
    c.resume = osp.isfile(osp.join(train_dir, 'last_checkpoint'))
    c.load_from = None
    if c.resume:
        log('      resuming the interrupted training from its last checkpoint')
    runner = Runner.from_cfg(c)
    runner.register_hook(_progress_hook(25))
    t0 = time.time()
    runner.train()
    elapsed = time.time() - t0
    last = osp.join(train_dir, f'iter_{runner.iter}.pth')
    if not osp.isfile(last):
        with open(osp.join(train_dir, 'last_checkpoint')) as f:
            last = f.read().strip()
    from mmdmtl.utils.atomic_write import atomic_write_bytes
    with open(last, 'rb') as f:
        atomic_write_bytes(f.read(), final_ckpt)
    return elapsed


def _ckpt_key(path: str) -> str:
    st = os.stat(path)
    return f'{st.st_size}:{int(st.st_mtime)}'


def primary_rows(untrained: dict, initial: dict, refined: dict) -> list:
    """Per task: the papers' metric of the untrained model (refined output), of
    the trained model's initial heads and of its refined (final) output, whether
    training improved the refined output, and which trained output is better by
    how much (``margin`` = better minus worse, in the metric's unit)."""
    rows = []
    for task, names, higher in PRIMARY:
        key = next((f'{task}/{n}' for n in names if f'{task}/{n}' in refined), None)
        if key is None:
            continue
        u, i, r = untrained.get(key), initial.get(key), refined[key]
        improved = None if u is None else (r > u if higher else r < u)
        if i is None:
            winner, margin = None, None
        elif r == i:
            winner, margin = 'tie', 0.0
        else:
            winner = 'refined' if (r > i) == higher else 'initial'
            margin = abs(r - i)
        rows.append(dict(task=task, metric=key.split('/', 1)[1],
                         better='higher' if higher else 'lower', untrained=u,
                         initial=i, refined=r, improved=improved, winner=winner,
                         margin=margin))
    return rows


def _verdict(row: dict) -> str:
    if row['winner'] is None:
        return '-'
    if row['winner'] == 'tie':
        return 'tie'
    return f'{row["winner"]} by {row["margin"]:.4f}'


def format_table(rows: list) -> str:
    head = ('task', 'metric', 'better', 'untrained', 'initial heads',
            'refined (final)', 'better output', 'trained > untrained')
    fmt = lambda v: '-' if v is None else f'{v:.4f}'  # noqa: E731
    body = [(r['task'], r['metric'], f'{r["better"]} is better', fmt(r['untrained']),
             fmt(r['initial']), fmt(r['refined']), _verdict(r),
             '-' if r['improved'] is None else ('yes' if r['improved'] else 'NO'))
            for r in rows]
    widths = [max(len(str(r[i])) for r in [head] + body) for i in range(len(head))]

    def row(cells):
        return '| ' + ' | '.join(str(c).ljust(w) for c, w in zip(cells, widths)) + ' |'

    line = '+' + '+'.join('-' * (w + 2) for w in widths) + '+'
    return '\n'.join([line, row(head), line] + [row(r) for r in body] + [line])


def _unprefix(metrics: dict, prefix: str) -> dict:
    return {k[len(prefix) + 1:]: v for k, v in metrics.items()
            if k.startswith(prefix + '/')}


def compare_panels(refined_dir: str, initial_dir: str, out_dir: str) -> list:
    """``<out_dir>/<stem>.png``: the refined panel of each image above its
    initial-heads panel, each under a caption band. Returns the names written.
    ``out_dir`` is claimed first: a folder of files mmdmtl did not write is
    refused, never written into."""
    import cv2
    import numpy as np
    from mmdmtl.utils.safe_output import claim_output_dir
    if not (osp.isdir(refined_dir) and osp.isdir(initial_dir)):
        return []
    names = sorted(set(f for f in os.listdir(refined_dir) if f.endswith('.png'))
                   & set(os.listdir(initial_dir)))
    claim_output_dir(out_dir, 'tools/run_demo.py', 'panel comparison folder')
    written = []

    def captioned(img, text):
        band = np.full((28, img.shape[1], 3), 255, np.uint8)
        cv2.putText(band, text, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6,
                    (0, 0, 0), 1, cv2.LINE_AA)
        return np.concatenate([band, img], axis=0)

    for name in names:
        top = cv2.imread(osp.join(refined_dir, name))
        bottom = cv2.imread(osp.join(initial_dir, name))
        if top is None or bottom is None or top.shape[1] != bottom.shape[1]:
            continue
        both = np.concatenate([
            captioned(top, 'predictions: refined (final output)'),
            captioned(bottom, 'predictions: initial heads (before refinement)')
        ], axis=0)
        cv2.imwrite(osp.join(out_dir, name), both)
        written.append(name)
    return written


def plot_curves(train_dir: str, out: str):
    sys.path.insert(0, osp.join(REPO, 'tools', 'analysis_tools'))
    try:
        from analyze_logs import plot_curve
    finally:
        sys.path.pop(0)
    logs = sorted(
        (osp.join(root, f) for root, _, files in os.walk(train_dir) for f in files
         if f == 'scalars.json'), key=osp.getmtime)
    if not logs:
        return None
    # a resumed run writes a second log; the newest covers the latest iterations
    return plot_curve(logs[-1:], keys=['loss*', '*.loss_*'], out=out,
                      title='DiffusionMTL demo: training losses', ncols=4)


def main(argv=None):
    args = parse_args(argv)
    # mmseg's deprecation notes about its own loss builder are noise here
    warnings.filterwarnings('ignore', category=UserWarning, module=r'mmseg\.')
    sys.path.insert(0, REPO)
    t_start = time.time()
    log('mmdmtl demo: DiffusionMTL (feature diffusion), one-label setting, '
        'SyntheticScenes, CPU')
    from mmdmtl.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    import torch
    if not torch.cuda.is_available():
        torch.set_num_threads(args.threads or max(1, (os.cpu_count() or 2) - 1))
    log(f'torch {torch.__version__}, {torch.get_num_threads()} threads, '
        f'device: {"cuda" if torch.cuda.is_available() else "cpu"}')

    cfg = load_config(args)
    work_dir = args.work_dir
    os.makedirs(work_dir, exist_ok=True)
    results_path = osp.join(work_dir, 'results.json')
    final_ckpt = osp.join(work_dir, 'final.pth')
    panels_dir = osp.join(work_dir, 'panels')
    cached = {}
    if osp.isfile(results_path):
        with open(results_path) as f:
            cached = json.load(f)
    timings = dict(cached.get('timings_s', {}))

    timings['data'] = make_data(cfg)

    # untrained model: depends only on the config (model + seed + val data)
    cfg_key = f'{cfg.model}|{cfg.get("randomness")}|{data_settings(cfg)}'
    if (not args.reeval and cached.get('untrained_metrics')
            and cached.get('config_key') == cfg_key):
        untrained = cached['untrained_metrics']
        log('[2/4] untrained model: metrics reused from results.json')
    else:
        log('[2/4] evaluating the untrained model (random initialisation, seed '
            f'{cfg.get("randomness", {}).get("seed")})')
        t0 = time.time()
        untrained = {
            f'refined/{k}': v for k, v in evaluate(
                cfg, osp.join(work_dir, 'eval_untrained'),
                name='untrained').items()
        }
        timings['eval_untrained'] = time.time() - t0

    if osp.isfile(final_ckpt) and not args.retrain:
        log(f'[3/4] training: {final_ckpt} exists, skipped (--retrain to train '
            'again)')
    else:
        if args.retrain and osp.isdir(osp.join(work_dir, 'train')):
            shutil.rmtree(osp.join(work_dir, 'train'))
        log(f'[3/4] training for {cfg.train_cfg.max_iters} iterations, batch '
            f'{cfg.train_dataloader.batch_size} (one-label: each image has one '
            'labelled task)')
        timings['train'] = train(cfg, work_dir, final_ckpt)
        log(f'      trained in {timings["train"] / 60:.1f} min -> {final_ckpt}')

    key = _ckpt_key(final_ckpt)
    initial_panels = osp.join(work_dir, 'panels_initial')
    have_panels = all(
        osp.isdir(d) and any(f.endswith('.png') for f in os.listdir(d))
        for d in (panels_dir, initial_panels))
    if (not args.reeval and cached.get('trained_metrics')
            and cached.get('checkpoint_key') == key and have_panels):
        trained = cached['trained_metrics']
        log('[4/4] trained model: metrics reused from results.json')
    else:
        log('[4/4] evaluating the trained model on the val split, its refined '
            f'output and its initial heads, and drawing {args.num_panels} panels '
            'of each')
        t0 = time.time()
        trained = {}
        for output, prefix, panels in (('final', 'refined', panels_dir),
                                       ('initial', 'initial', initial_panels)):
            metrics = evaluate(cfg, osp.join(work_dir, f'eval_trained_{prefix}'),
                               final_ckpt, panels, args.num_panels,
                               name=f'trained_{prefix}', output=output)
            trained.update({f'{prefix}/{k}': v for k, v in metrics.items()})
        timings['eval_trained'] = time.time() - t0
    compare_dir = osp.join(work_dir, 'panels_compare')
    compared = compare_panels(panels_dir, initial_panels, compare_dir)
    curves = None
    try:
        curves = plot_curves(osp.join(work_dir, 'train'),
                             osp.join(work_dir, 'curves.png'))
    except Exception as e:  # curves are a nicety; never fail the demo on them
        log(f'      (no training curves: {e})')
    rows = primary_rows(_unprefix(untrained, 'refined'),
                        _unprefix(trained, 'initial'),
                        _unprefix(trained, 'refined'))
    timings['total_this_run'] = time.time() - t_start
    cfg_rel = osp.relpath(args.config, os.getcwd())
    results = dict(
        config=cfg_rel,
        config_key=cfg_key,
        checkpoint=final_ckpt,
        checkpoint_key=key,
        # keys say the output: 'refined/<task>/<metric>' is the model's final
        # (diffusion-refined) output, 'initial/...' its initial heads
        untrained_metrics=untrained,
        trained_metrics=trained,
        summary=rows,
        all_tasks_improved=bool(rows) and all(r['improved'] for r in rows),
        refined_better_tasks=[r['task'] for r in rows if r['winner'] == 'refined'],
        initial_better_tasks=[r['task'] for r in rows if r['winner'] == 'initial'],
        timings_s=timings,
        panels=sorted(os.listdir(panels_dir)) if osp.isdir(panels_dir) else [],
        panels_compare=compared,
        curves=curves,
        commands=dict(
            train=f'python tools/train.py {cfg_rel} --work-dir {work_dir}/train',
            test=f'python tools/test.py {cfg_rel} {final_ckpt} --show-dir '
            f'{panels_dir}',
            test_initial_heads=f'python tools/test.py {cfg_rel} {final_ckpt} '
            '--cfg-options model.test_cfg.output=initial',
            infer=f'python demo/image_demo.py IMAGE {cfg_rel} {final_ckpt}'),
    )
    from mmdmtl.utils.atomic_write import atomic_write_json
    atomic_write_json(results, results_path)
    print()
    print('DiffusionMTL demo: val metrics of the untrained model, and of the '
          'trained model\'s initial heads and refined (final) output')
    print(format_table(rows))
    n_ok = sum(bool(r['improved']) for r in rows)
    n_ref = len(results['refined_better_tasks'])
    n_init = len(results['initial_better_tasks'])
    print(f'{n_ok}/{len(rows)} tasks: the refined output beats the untrained model')
    print(f'refinement vs initial heads: the refined output is better on {n_ref}/'
          f'{len(rows)} tasks, the initial heads on {n_init}/{len(rows)} '
          '(docs/results.md, "Does the refinement help?")')
    print(f'total time this run {timings["total_this_run"] / 60:.1f} min')
    print(f'outputs: {results_path}, {final_ckpt}, {panels_dir}/, {compare_dir}/'
          + (f', {curves}' if curves else ''))
    return results


if __name__ == '__main__':
    main()
