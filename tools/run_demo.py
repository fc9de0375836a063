"""The end-to-end demo (``make demo``): synthetic data -> train DiffusionMTL in the
one-label setting -> evaluate every task, trained vs untrained -> panels and a table.

    python tools/run_demo.py [--work-dir work_dirs/demo] [--config CONFIG]
                             [--data-root data/synthetic_scenes_demo]
                             [--retrain] [--reeval] [--max-iters N]

Writes into the work dir:
    final.pth          the trained checkpoint
    results.json       metrics of the untrained and the trained model, timings, commands
    panels/*.png       image + every task's label and prediction, for a few val images
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
             num_panels: int = 8, name: str = 'eval') -> dict:
    """Test-split metrics of ``checkpoint`` (None: the untrained model, initialised
    exactly as training initialises it)."""
    from mmengine.runner import Runner
    c = _runner(cfg, work_dir, name)
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


def primary_rows(untrained: dict, trained: dict):
    rows = []
    for task, names, higher in PRIMARY:
        key = next((f'{task}/{n}' for n in names if f'{task}/{n}' in trained), None)
        if key is None:
            continue
        u, t = untrained.get(key), trained[key]
        better = None if u is None else (t > u if higher else t < u)
        rows.append((task, key.split('/', 1)[1], 'higher' if higher else 'lower', u,
                     t, better))
    return rows


def format_table(untrained: dict, trained: dict) -> str:
    rows = primary_rows(untrained, trained)
    head = ('task', 'metric', 'better', 'untrained', 'trained', 'improved')
    body = [(t, m, f'{d} is better', '-' if u is None else f'{u:.4f}', f'{v:.4f}',
             '-' if b is None else ('yes' if b else 'NO')) for t, m, d, u, v, b in rows]
    widths = [max(len(str(r[i])) for r in [head] + body) for i in range(len(head))]

    def row(cells):
        return '| ' + ' | '.join(str(c).ljust(w) for c, w in zip(cells, widths)) + ' |'

    line = '+' + '+'.join('-' * (w + 2) for w in widths) + '+'
    return '\n'.join([line, row(head), line] + [row(r) for r in body] + [line])


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
        untrained = evaluate(cfg, osp.join(work_dir, 'eval_untrained'),
                             name='untrained')
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
    have_panels = osp.isdir(panels_dir) and any(
        f.endswith('.png') for f in os.listdir(panels_dir))
    if (not args.reeval and cached.get('trained_metrics')
            and cached.get('checkpoint_key') == key and have_panels):
        trained = cached['trained_metrics']
        log('[4/4] trained model: metrics reused from results.json')
    else:
        log('[4/4] evaluating the trained model on the val split and drawing '
            f'{args.num_panels} panels')
        t0 = time.time()
        trained = evaluate(cfg, osp.join(work_dir, 'eval_trained'), final_ckpt,
                           panels_dir, args.num_panels, name='trained')
        timings['eval_trained'] = time.time() - t0

    curves = None
    try:
        curves = plot_curves(osp.join(work_dir, 'train'),
                             osp.join(work_dir, 'curves.png'))
    except Exception as e:  # curves are a nicety; never fail the demo on them
        log(f'      (no training curves: {e})')

    rows = primary_rows(untrained, trained)
    timings['total_this_run'] = time.time() - t_start
    cfg_rel = osp.relpath(args.config, os.getcwd())
    results = dict(
        config=cfg_rel,
        config_key=cfg_key,
        checkpoint=final_ckpt,
        checkpoint_key=key,
        untrained_metrics=untrained,
        trained_metrics=trained,
        summary=[dict(task=t, metric=m, better=d, untrained=u, trained=v,
                      improved=b) for t, m, d, u, v, b in rows],
        all_tasks_improved=bool(rows) and all(r[-1] for r in rows),
        timings_s=timings,
        panels=sorted(os.listdir(panels_dir)) if osp.isdir(panels_dir) else [],
        curves=curves,
        commands=dict(
            train=f'python tools/train.py {cfg_rel} --work-dir {work_dir}/train',
            test=f'python tools/test.py {cfg_rel} {final_ckpt} --show-dir '
            f'{panels_dir}',
            infer=f'python demo/image_demo.py IMAGE {cfg_rel} {final_ckpt}'),
    )
    from mmdmtl.utils.atomic_write import atomic_write_json
    atomic_write_json(results, results_path)

    print()
    print('DiffusionMTL demo: val metrics, untrained vs trained')
    print(format_table(untrained, trained))
    n_ok = sum(bool(r[-1]) for r in rows)
    print(f'{n_ok}/{len(rows)} tasks better than the untrained model; '
          f'total time this run {timings["total_this_run"] / 60:.1f} min')
    print(f'outputs: {results_path}, {final_ckpt}, {panels_dir}/'
          + (f', {curves}' if curves else ''))
    return results


if __name__ == '__main__':
    main()
