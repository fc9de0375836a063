"""The tables of tools/analysis_tools/gpu_benchmark.sh in one markdown file.

    python tools/analysis_tools/gpu_report.py OUT_DIR [--note TEXT ...]

Reads OUT_DIR/bare_step.json (tools/analysis_tools/benchmark.py's report; a run
cut off at the time budget leaves a partial one, which is shown as such),
OUT_DIR/tools.json (benchmark_tools.py's, if that part ran) and OUT_DIR/env.txt,
and writes OUT_DIR/gpu.md: the summary (training step and batch-1 inference per
mode, speed-up over the per-sample loop, peak memory, MFU), then the full tables.
"""
import argparse
import json
import os.path as osp
import sys

HERE = osp.dirname(osp.abspath(__file__))
sys.path.insert(0, HERE)
from benchmark import _fmt, to_markdown  # noqa: E402

MODES = [
    ('loop', 'per-sample loop (the published code\'s structure), fp32'),
    ('fp32', 'mmdmtl batched, fp32'),
    ('fast', 'mmdmtl AMP {dtype} (channels_last; Conv+BN folded at '
     'inference)'),
    ('compile', 'mmdmtl AMP + torch.compile'),
]


def _gib(mib):
    return None if mib is None else mib / 1024


def _pct(ratio):
    return None if ratio is None else ratio * 100


def summary(r: dict) -> str:
    ib = r.get('infer_batch_size', r['batch_size'])
    lines = [
        f'Training step: batch {r["batch_size"]}, {r["shape"][0]}x'
        f'{r["shape"][1]}, {r["setting"]}; inference: batch {ib}, all tasks. '
        'Best of the timed repeats; MFU = counted FLOPs / time / dense peak of '
        f'the mode\'s dtype (fp32 modes: {r.get("fp32_peak_basis", "float32")}).',
        '',
        '| mode | train step (s) | train img/s | train vs loop | train peak '
        '(GiB) | train MFU % | inference (ms/img) | infer vs loop | infer peak '
        '(GiB) | infer MFU % |',
        '|---|---|---|---|---|---|---|---|---|---|',
    ]
    for key, label in MODES:
        tr, inf = r['train'].get(key), r['infer'].get(key)
        if tr is None and inf is None:
            continue
        tr, inf = tr or {}, inf or {}
        per_img = inf.get('per_image_s')
        lines.append(
            f'| {label.format(dtype=r.get("fast_dtype") or "off here: fp32")} | '
            f'{_fmt(tr.get("best_s"))} | {_fmt(tr.get("images_per_s"), ".1f")} | '
            f'{_fmt(tr.get("speedup_vs_loop"), ".2f")} | '
            f'{_fmt(_gib(tr.get("peak_mem_mib")), ".2f")} | '
            f'{_fmt(_pct(tr.get("peak_ratio")), ".1f")} | '
            f'{_fmt(None if per_img is None else per_img * 1e3, ".1f")} | '
            f'{_fmt(inf.get("speedup_vs_loop"), ".2f")} | '
            f'{_fmt(_gib(inf.get("peak_mem_mib")), ".2f")} | '
            f'{_fmt(_pct(inf.get("peak_ratio")), ".1f")} |')
    return '\n'.join(lines) + '\n'


def main(argv=None) -> str:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('out_dir')
    p.add_argument('--note', nargs='*', default=[],
                   help='lines to add under the title (how the run went)')
    args = p.parse_args(argv)
    bare_path = osp.join(args.out_dir, 'bare_step.json')
    if not osp.isfile(bare_path):
        raise SystemExit(f'gpu_report.py: error: {bare_path} not found: the '
                         'bare-step benchmark wrote nothing (see its log)')
    with open(bare_path) as f:
        bare = json.load(f)
    m = bare['machine']
    out = [f'# mmdmtl on {m["device"]}', '']
    out += [f'torch {m["torch"]}' + (f', CUDA {m["cuda"]}' if m.get('cuda')
                                     else '') + f', {bare["date"]}.', '']
    out += [f'{n}' for n in args.note] + ([''] if args.note else [])
    env_path = osp.join(args.out_dir, 'env.txt')
    if osp.isfile(env_path):
        with open(env_path) as f:
            out += ['Environment:', '', '```', f.read().rstrip(), '```', '']
    out += ['## Summary (bare step)', '', summary(bare),
            '## Bare step: every mode', '', to_markdown(bare)]
    tools_path = osp.join(args.out_dir, 'tools.json')
    out += ['## End to end through tools/train.py and tools/test.py', '']
    if osp.isfile(tools_path):
        sys.path.insert(0, HERE)
        from benchmark_tools import to_markdown as tools_markdown
        with open(tools_path) as f:
            out.append(tools_markdown(json.load(f)))
    else:
        out.append('Not run (see the notes above).\n')
    text = '\n'.join(out)
    with open(osp.join(args.out_dir, 'gpu.md'), 'w') as f:
        f.write(text)
    return text


if __name__ == '__main__':
    main()
