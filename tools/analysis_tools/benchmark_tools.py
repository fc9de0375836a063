"""End-to-end speed through the tools themselves: ``tools/train.py`` iterations/s
and ``tools/test.py`` images/s (data loading, hooks and logging included), fp32 vs
the fast mode (``--amp`` / ``--fast``), side by side in one run.

    python tools/analysis_tools/benchmark_tools.py [CONFIG] [--data-root DIR]
        [--num-train 64] [--num-val 64] [--size 128 128] [--iters 30]
        [--skip-iters 5] [--batch-size 8] [--workers 1] [--threads N]
        [--modes fp32 fast] [--work-dir work_dirs/benchmark_tools]
        [--out-md FILE] [--out-json FILE] [--cfg-options k=v ...]

CONFIG (default: the demo experiment, configs/diffusionmtl/
demo_diffusionmtl-feature_synthetic_one-label.py) must train on SyntheticScenes:
the script writes a config that inherits it with the data folder, the generated
sizes, the batch size, ``--iters`` iterations, a logger at every iteration and no
validation, generates the data once (``generate`` of the dataset), then runs as
subprocesses, for each mode:

* ``tools/train.py`` (``fast``: ``--amp``), timed per iteration from its json log
  (``time`` = whole iteration incl. data, ``data_time`` = waiting for the batch);
  the first ``--skip-iters`` iterations (warm-up, worker start) are left out;
* ``tools/test.py`` (``fast``: ``--fast``) on the val split with the checkpoint of
  the fp32 run, timed per iteration from its text log.

Reported: iterations/s and images/s from the mean step time, the mean data_time
and its share of the step (data loading is the bottleneck when the share is
large), the wall clock of the whole tool process (start-up included), and the
fast-mode line of each log (what the switch chose on this machine and why).
"""
import argparse
import json
import os
import os.path as osp
import re
import statistics
import subprocess
import sys
import time

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
DEMO = osp.join(ROOT, 'configs', 'diffusionmtl',
                'demo_diffusionmtl-feature_synthetic_one-label.py')

DERIVED = """_base_ = [{base!r}]
data_root = {root!r}
generate = dict(num_train={num_train}, num_val={num_val}, size={size!r}, seed=0)
train_dataloader = dict(
    batch_size={bs}, num_workers={workers}, persistent_workers={persistent},
    dataset=dict(data_root=data_root, generate=generate))
val_dataloader = dict(
    batch_size={bs}, num_workers={workers}, persistent_workers={persistent},
    dataset=dict(data_root=data_root, generate=generate))
test_dataloader = val_dataloader
# the config's LR schedule is kept (it does not change the speed)
train_cfg = dict(max_iters={iters}, val_interval={iters} + 1)
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval={iters}, max_keep_ckpts=1))
"""

_TEST_LINE = re.compile(
    r'Iter\(test\)\s*\[\s*(\d+)/(\d+)\].*?\btime:\s*([\d.]+)\s+data_time:\s*([\d.]+)')
_PLAN_LINE = re.compile(r'(fast mode \([a-z]+\):[^\n]*)')


def parse_args(argv=None):
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('config', nargs='?', default=DEMO)
    p.add_argument('--data-root', default='work_dirs/benchmark_tools/data')
    p.add_argument('--num-train', type=int, default=64)
    p.add_argument('--num-val', type=int, default=64)
    p.add_argument('--size', type=int, nargs=2, default=(128, 128),
                   metavar=('H', 'W'))
    p.add_argument('--iters', type=int, default=30, help='training iterations')
    p.add_argument('--skip-iters', type=int, default=5,
                   help='first training iterations left out of the means')
    p.add_argument('--batch-size', type=int, default=8)
    p.add_argument('--workers', type=int, default=1, help='DataLoader workers')
    p.add_argument('--threads', type=int, default=None,
                   help='OMP/MKL threads of the tool processes (default: unset)')
    p.add_argument('--modes', nargs='+', default=['fp32', 'fast'],
                   choices=['fp32', 'fast'])
    p.add_argument('--work-dir', default='work_dirs/benchmark_tools')
    p.add_argument('--out-md', default=None)
    p.add_argument('--out-json', default=None)
    p.add_argument('--cfg-options', nargs='+', action=DictAction, default=None,
                   help='passed to both tools')
    return p.parse_args(argv)


def _env(threads):
    env = dict(os.environ)
    env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
    if threads:
        env['OMP_NUM_THREADS'] = env['MKL_NUM_THREADS'] = str(threads)
    return env


def _run(cmd, env, log_path):
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    with open(log_path, 'w') as f:
        f.write(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(f'{" ".join(cmd)} exited {proc.returncode}; log: '
                           f'{log_path}\n{(proc.stdout + proc.stderr)[-3000:]}')
    return proc.stdout + proc.stderr, wall


def _cfg_opts(args):
    if not args.cfg_options:
        return []
    return ['--cfg-options'] + [f'{k}={v}' for k, v in args.cfg_options.items()]


def _plan_line(log: str) -> str:
    m = _PLAN_LINE.search(log)
    return m.group(1).strip() if m else 'off'


def _summary(times, data_times, batch):
    step = statistics.mean(times)
    data = statistics.mean(data_times)
    return dict(n=len(times), step_s=step, data_s=data, data_share=data / step,
                iters_per_s=1 / step, images_per_s=batch / step)


def train_run(args, cfg_path, mode, env):
    work = osp.join(args.work_dir, f'train_{mode}')
    cmd = [sys.executable, 'tools/train.py', cfg_path, '--work-dir', work]
    cmd += (['--amp'] if mode == 'fast' else []) + _cfg_opts(args)
    log, wall = _run(cmd, env, osp.join(args.work_dir, f'train_{mode}.log'))
    scalars = sorted(
        (osp.join(dp, f) for dp, _, fs in os.walk(work) for f in fs
         if f == 'scalars.json' and 'vis_data' in dp), key=osp.getmtime)[-1]
    rows = [json.loads(x) for x in open(scalars) if x.strip()]
    rows = [r for r in rows if 'time' in r and 'loss' in r
            and r.get('step', r.get('iter', 0)) > args.skip_iters]
    if not rows:
        raise RuntimeError(f'{scalars}: no training iteration after '
                           f'--skip-iters {args.skip_iters}')
    res = _summary([r['time'] for r in rows], [r['data_time'] for r in rows],
                   args.batch_size)
    res.update(wall_s=wall, plan=_plan_line(log), work_dir=work,
               final_loss=rows[-1]['loss'])
    return res


def test_run(args, cfg_path, ckpt, mode, env):
    work = osp.join(args.work_dir, f'test_{mode}')
    cmd = [sys.executable, 'tools/test.py', cfg_path, ckpt, '--work-dir', work]
    cmd += (['--fast'] if mode == 'fast' else []) + _cfg_opts(args)
    log, wall = _run(cmd, env, osp.join(args.work_dir, f'test_{mode}.log'))
    hits = _TEST_LINE.findall(log)
    if not hits:
        raise RuntimeError(f'no "Iter(test) ... time: data_time:" lines in the '
                           f'log of {" ".join(cmd)}')
    # the first iteration carries the worker start and the first-call set-up
    rows = hits[1:] if len(hits) > 1 else hits
    res = _summary([float(h[2]) for h in rows], [float(h[3]) for h in rows],
                   args.batch_size)
    res.update(wall_s=wall, plan=_plan_line(log), iters_total=int(hits[0][1]))
    return res


def write_outputs(out_json, report: dict, out_md, md: str) -> None:
    """The report as JSON and the table as markdown, where paths are given
    (tools/analysis_tools/benchmark.py writes its files with this too)."""
    for path, text in ((out_json, json.dumps(report, indent=1)), (out_md, md)):
        if path:
            os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
            with open(path, 'w') as f:
                f.write(text)


def cpu_line() -> str:
    sys.path.insert(0, ROOT)
    from mmdmtl.engine.fast_mode import cpu_info
    info = cpu_info()
    flags = ', '.join(info.get('bf16_flags') or []) or 'none'
    return (f'{info["model"]}, {info["logical_cpus"]} logical CPUs; AVX-512/AMX/'
            f'bf16 flags: {flags}; native bf16: '
            f'{"yes" if info["bf16"] else "no"}')


def to_markdown(r: dict) -> str:
    cols = ('tool', 'mode', 'rate', 'step (s)', 'data_time (s)', 'data share',
            'iterations timed', 'wall clock (s)')
    lines = [f'{r["machine"]}; torch {r["torch"]}; {r["date"]}; load average '
             f'{r["load_start"]:.1f} at the start, {r["load_end"]:.1f} at the end.',
             '', f'Command: `{r["command"]}`', '',
             '| ' + ' | '.join(cols) + ' |', '|' + '---|' * len(cols)]
    for tool in ('train', 'test'):
        for mode, x in r[tool].items():
            rate = (f'{x["iters_per_s"]:.2f} it/s ({x["images_per_s"]:.1f} img/s)'
                    if tool == 'train' else f'{x["images_per_s"]:.1f} img/s')
            flag = {'train': ' --amp', 'test': ' --fast'}[tool] \
                if mode == 'fast' else ''
            lines.append(
                f'| tools/{tool}.py{flag} | {mode} | {rate} | {x["step_s"]:.3f} | '
                f'{x["data_s"]:.4f} | {x["data_share"] * 100:.1f}% | {x["n"]} | '
                f'{x["wall_s"]:.1f} |')
    for tool in ('train', 'test'):
        base, fast = r[tool].get('fp32'), r[tool].get('fast')
        if base and fast:
            lines.append('')
            lines.append(f'{tool}: fast / fp32 = '
                         f'{base["step_s"] / fast["step_s"]:.2f}x; switch chose: '
                         f'{fast["plan"]}')
    return '\n'.join(lines) + '\n'


def main(argv=None):
    import torch
    args = parse_args(argv)
    os.makedirs(args.work_dir, exist_ok=True)
    env = _env(args.threads)
    cfg_path = osp.join(args.work_dir, 'benchmark_tools_config.py')
    with open(cfg_path, 'w') as f:
        f.write(DERIVED.format(
            base=osp.abspath(args.config), root=osp.abspath(args.data_root),
            num_train=args.num_train, num_val=args.num_val, size=tuple(args.size),
            bs=args.batch_size, workers=args.workers,
            persistent=args.workers > 0, iters=args.iters))
    # generate the data once, outside the timed runs
    from mmdmtl.datasets.synthetic_scenes import generate_synthetic_scenes
    t0 = time.perf_counter()
    generate_synthetic_scenes(osp.abspath(args.data_root),
                              num_train=args.num_train, num_val=args.num_val,
                              size=tuple(args.size), seed=0)
    print(f'data ready in {time.perf_counter() - t0:.1f} s', flush=True)
    report = dict(
        command='python tools/analysis_tools/benchmark_tools.py ' +
        ' '.join(sys.argv[1:] if argv is None else argv),
        machine=cpu_line() if not torch.cuda.is_available() else
        torch.cuda.get_device_name(0),
        torch=torch.__version__,
        date=time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()),
        load_start=os.getloadavg()[0], train={}, test={},
        size=list(args.size), batch_size=args.batch_size, iters=args.iters)
    for mode in args.modes:
        print(f'[train] {mode} ...', flush=True)
        report['train'][mode] = train_run(args, cfg_path, mode, env)
        print(f'  {report["train"][mode]["iters_per_s"]:.2f} it/s', flush=True)
    ckpt_dir = report['train'][args.modes[0]]['work_dir']
    ckpt = osp.join(ckpt_dir, f'iter_{args.iters}.pth')
    for mode in args.modes:
        print(f'[test] {mode} ...', flush=True)
        report['test'][mode] = test_run(args, cfg_path, ckpt, mode, env)
        print(f'  {report["test"][mode]["images_per_s"]:.1f} img/s', flush=True)
    report['load_end'] = os.getloadavg()[0]
    md = to_markdown(report)
    print(md)
    write_outputs(args.out_json, report, args.out_md, md)
    return report


if __name__ == '__main__':
    main()
