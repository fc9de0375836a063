"""Throughput of the Python edge evaluation (BSDS protocol), images per second.

Synthetic but realistic-looking inputs: a label of a few one-pixel boundaries
(straight and curved) and a prediction that is the label blurred, shifted by up
to two pixels and mixed with low-level noise, like a network's sigmoid output.
Every image goes through ``edge_pr_counts`` (binarise at every threshold, thin,
match within max_dist x diagonal), i.e. exactly what ``EdgeMetric.process`` does.

Example::

    python tools/benchmarks/edge_eval_throughput.py --size 512 --num-images 4 \
        --thresholds 99 --backend scipy
"""
import argparse
import json
import math
import time

import numpy as np


def synthetic_pair(size: int, rng: np.random.Generator):
    from scipy.ndimage import gaussian_filter
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
    prob = gaussian_filter(shifted, 1.5) * 4
    prob += 0.25 * gaussian_filter(rng.random((h, w)), 3)
    return np.clip(prob, 0, 1), gt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--size', type=int, default=512)
    ap.add_argument('--num-images', type=int, default=4)
    ap.add_argument('--thresholds', type=int, default=99)
    ap.add_argument('--max-dist', type=float, default=0.0075)
    ap.add_argument('--backend', default='scipy',
                    choices=['auto', 'pyedgeeval', 'scipy'])
    ap.add_argument('--no-thin', action='store_true')
    ap.add_argument('--seed', type=int, default=0)
    args = ap.parse_args()

    from mmdmtl.evaluation.functional import (bwmorph_thin, edge_pr_counts,
                                              edge_thresholds)
    from mmdmtl.evaluation.functional.edge import resolve_backend
    backend = resolve_backend(args.backend)
    rng = np.random.default_rng(args.seed)
    pairs = [synthetic_pair(args.size, rng) for _ in range(args.num_images)]
    th = edge_thresholds(args.thresholds)

    # time the thinning alone on the first image, then the whole pipeline
    t0 = time.perf_counter()
    bwmorph_thin(pairs[0][0][None] >= th[:, None, None])
    thin_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for prob, gt in pairs:
        edge_pr_counts(prob, gt, th, args.max_dist, not args.no_thin, 255, backend)
    total = time.perf_counter() - t0
    res = dict(
        size=args.size, images=args.num_images, thresholds=len(th),
        backend=backend, thin=not args.no_thin, seconds=round(total, 3),
        images_per_s=round(args.num_images / total, 4),
        thinning_s_per_image=round(thin_s, 3))
    print(json.dumps(res))
    print(f'{res["images_per_s"]:.3f} images/s at {args.size}x{args.size}, '
          f'{len(th)} thresholds, backend {backend} '
          f'({total / args.num_images:.2f} s per image, thinning '
          f'{thin_s:.2f} s of it); a 5105-image PASCAL val set would take '
          f'~{math.ceil(5105 * total / args.num_images / 60)} min per process')


if __name__ == '__main__':
    main()
