"""Throughput of the Python edge evaluation (BSDS protocol).

Synthetic but realistic-looking inputs: a label of a few one-pixel boundaries
(straight and curved) and a prediction that is the label blurred, shifted by up
to two pixels and mixed with low-level noise, like a network's sigmoid output
(``--thick`` dilates the label first: the slow case of wide, blurry edges).
Every image goes through ``edge_pr_counts`` (binarise at every threshold, thin,
match within max_dist x diagonal), i.e. exactly what ``EdgeMetric.process`` does.

``--workers N`` also times N worker processes (the ``EdgeMetric(num_workers=N)``
pool) on the same images and asserts that their counts equal the in-process
ones. That the counts are those of the BSDS protocol is the tests' job
(tests/test_evaluation/test_eval_edge_counts.py).

Example::

    python tools/benchmarks/edge_eval_throughput.py --size 512 --num-images 3 \
        --thresholds 99
"""
import argparse
import json
import math
import platform
import time

import numpy as np

KEYS = ('cntR', 'sumR', 'cntP', 'sumP')


def synthetic_pair(size: int, rng: np.random.Generator, thick: bool = False):
    from scipy.ndimage import binary_dilation, gaussian_filter
    h = w = size
    gt = np.zeros((h, w), np.uint8)
    for _ in range(6):  # straight boundaries
        if rng.random() < 0.5:
            gt[rng.integers(0, h), rng.integers(0, w // 2):rng.integers(w // 2, w)] = 1
        else:
            gt[rng.integers(0, h // 2):rng.integers(h // 2, h), rng.integers(0, w)] = 1
    yy, xx = np.mgrid[:h, :w]
    for _ in range(4):  # circles
        cy, cx, r = rng.integers(0, h), rng.integers(0, w), rng.integers(10, size // 4)
        ring = np.abs(np.hypot(yy - cy, xx - cx) - r) < 0.5
        gt[ring] = 1
    shifted = np.roll(gt, tuple(rng.integers(-2, 3, 2)), axis=(0, 1)).astype(float)
    if thick:
        shifted = binary_dilation(shifted, iterations=3).astype(float)
    prob = gaussian_filter(shifted, 1.5) * 4
    prob += 0.25 * gaussian_filter(rng.random((h, w)), 3)
    return np.clip(prob, 0, 1), gt


def cpu_name() -> str:
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown CPU'


def _counts_job(args):
    from mmdmtl.evaluation.functional import edge_pr_counts
    return edge_pr_counts(*args)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--size', type=int, default=512)
    ap.add_argument('--num-images', type=int, default=3)
    ap.add_argument('--thresholds', type=int, default=99)
    ap.add_argument('--max-dist', type=float, default=0.0075)
    ap.add_argument('--backend', default='scipy',
                    choices=['auto', 'pyedgeeval', 'scipy'])
    ap.add_argument('--no-thin', action='store_true')
    ap.add_argument('--thick', action='store_true',
                    help='dilate the predicted edges (wide, blurry maps)')
    ap.add_argument('--workers', type=int, default=0,
                    help='also time this many worker processes')
    ap.add_argument('--seed', type=int, default=0)
    args = ap.parse_args()

    from mmdmtl.evaluation.functional import edge_pr_counts, edge_thresholds
    from mmdmtl.evaluation.functional.edge import resolve_backend
    backend = resolve_backend(args.backend)
    rng = np.random.default_rng(args.seed)
    pairs = [synthetic_pair(args.size, rng, args.thick)
             for _ in range(args.num_images)]
    th = edge_thresholds(args.thresholds)
    thin = not args.no_thin
    call = (th, args.max_dist, thin, 255, backend)

    # numba compiles (or loads its cache) on the first call: not timed below
    t0 = time.perf_counter()
    edge_pr_counts(pairs[0][0][:32, :32], pairs[0][1][:32, :32], 3, 0.05)
    warmup = time.perf_counter() - t0

    after, t_after = [], []
    for prob, gt in pairs:
        t0 = time.perf_counter()
        after.append(edge_pr_counts(prob, gt, *call))
        t_after.append(time.perf_counter() - t0)
    res = dict(cpu=cpu_name(), size=args.size, images=args.num_images,
               thresholds=len(th), backend=backend, thin=thin, thick=args.thick,
               warmup_s=round(warmup, 2),
               s_per_image=round(float(np.mean(t_after)), 3))
    if args.workers > 0:
        from mmdmtl.evaluation.metrics.edge_metric import make_pool
        pool = make_pool(args.workers)
        list(pool.map(_counts_job, [(p[:32, :32], g[:32, :32], 3, 0.05)
                                    for p, g in pairs]))  # start the workers
        t0 = time.perf_counter()
        par = list(pool.map(_counts_job, [(p, g) + call for p, g in pairs]))
        t_par = time.perf_counter() - t0
        pool.shutdown()
        for new, p in zip(after, par):
            for k in KEYS:
                assert np.array_equal(new[k], p[k]), k
        res.update(workers=args.workers,
                   workers_s_per_image=round(t_par / args.num_images, 3))
    print(json.dumps(res))
    per = res['s_per_image']
    print(f'{res["cpu"]}: {args.size}x{args.size}, {len(th)} thresholds, '
          f'backend {backend}: {per:.3f} s/image')
    for n in (1, 2, 8, 16):
        print(f'  5105-image PASCAL val on {n} core(s): ~'
              f'{math.ceil(5105 * per / n / 60)} min')


if __name__ == '__main__':
    main()
