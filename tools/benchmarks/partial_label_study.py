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

For the question "does the refinement help?" (docs/results.md) it also has:

* ``--num-test``: a held-out test split for the tables (val stays for choices);
* ``--eval-every N``: learning curves of the refined output AND the initial heads
  on val and on a held-in training slice, with their losses
  (``<out-dir>/curves/*.json|png``) and, per task, the first iteration at which the
  refined output matches the initial heads;
* ``--diagnose``: activation scale, dead ReLUs and gradient shares through the
  denoiser, per-class IoU and the effect of a shuffled condition;
* ``--augment``, ``--timesteps``, the ``dmtl_residual`` variant, and ``--compare``
  (one ladder table over several study folders).

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
            'no_diffusion', 'dmtl_residual')
VARIANT_NAMES = {
    'stl': 'single-task (one model per task)',
    'mtl': 'MTL baseline',
    'dmtl_feature': 'DiffusionMTL, feature diffusion',
    'dmtl_prediction': 'DiffusionMTL, prediction diffusion',
    'no_mtc': 'DiffusionMTL feature, w/o conditioning (MTC)',
    'no_diffusion': 'DiffusionMTL feature, w/o diffusion (no noise)',
    'dmtl_residual': 'DiffusionMTL feature + logit residual (ours, opt-in)',
}
# The variants with a refinement chain (they also report their initial heads).
REFINED = ('dmtl_feature', 'dmtl_prediction', 'no_mtc', 'no_diffusion',
           'dmtl_residual')
SETTINGS = ('one_label', 'random_label')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out-dir', default='work_dirs/partial_label_study')
    p.add_argument('--data-root', default=None,
                   help='where the synthetic data is generated (default: '
                   '<out-dir>/data_<size>px_<train>_<val+test>_seed<data-seed>)')
    p.add_argument('--settings', nargs='+', default=list(SETTINGS),
                   choices=SETTINGS)
    p.add_argument('--variants', nargs='+', default=list(VARIANTS),
                   choices=VARIANTS)
    p.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    p.add_argument('--num-test', type=int, default=0,
                   help='held-out test images, generated after the val images: '
                   'when > 0 the tables report them, and val serves the curves '
                   'and any choice made on them')
    p.add_argument('--eval-every', type=int, default=0,
                   help='learning curves: evaluate the refined output AND the '
                   'initial heads on val and on a held-in slice of the training '
                   'images every N iterations (0: only at the end)')
    p.add_argument('--train-eval-num', type=int, default=None,
                   help='images of the held-in training slice (the first '
                   'training images with their partial training labels: each '
                   'task is scored on the images labelled for it; default '
                   '--num-val)')
    p.add_argument('--augment', action='store_true',
                   help='train with the synthetic configs\' pipeline (random '
                   'scale, crop, flip, photometric distortion) instead of the '
                   'packed images')
    p.add_argument('--timesteps', type=int, default=2,
                   help='T = S of the diffusion chain (published: 2)')
    p.add_argument('--diagnose', action='store_true',
                   help='at every evaluation also measure the mechanism: '
                   'activation scale through the denoiser, dead ReLUs of '
                   'x0_hat, each task\'s gradient share at the shared '
                   'cross-attention blocks, refined vs initial gradient at the '
                   'initial features, and (at the end) per-class IoU and the '
                   'effect of a shuffled condition')
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
    p.add_argument('--compare', nargs='+', metavar='OUT_DIR', default=None,
                   help='print no training: one Markdown table over the runs of '
                   'these study folders (a ladder), each refined run beside its '
                   'initial heads and the MTL baseline of its folder')
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
            num_heads=args.num_heads, token_stride=args.token_stride,
            num_inference_steps=args.timesteps)
        m['refine_head']['scheduler']['num_train_timesteps'] = args.timesteps
        if variant == 'dmtl_residual':
            m['refine_head']['logit_residual'] = True
        elif variant == 'dmtl_prediction':
            m['refine_head']['diffuse'] = 'prediction'
        elif variant == 'no_diffusion':
            m['refine_head']['use_noise'] = False
        if variant == 'no_mtc':
            m['conditioner'] = None
    return m


# ---------------------------------------------------------------------- data
def build_split(data_root: str, split: str, setting: str, seed: int, args,
                tasks: Sequence[str], augment: bool = False):
    """The SyntheticScenes dataset of a split (the val split holds val + test)."""
    from mmdmtl.registry import DATASETS
    if augment:
        from mmengine.config import Config
        base = Config.fromfile(osp.join(ROOT, 'configs', '_base_', 'datasets',
                                        'synthetic_scenes.py'))
        pipeline = [
            dict(t, crop_size=(args.size, args.size)) if t['type'] ==
            'MultiTaskRandomCrop' else dict(t, size=(args.size, args.size))
            if t['type'] == 'MultiTaskPad' else dict(t)
            for t in base.train_pipeline
        ]
    else:
        pipeline = [
            dict(type='LoadMultiTaskImage'),
            dict(type='LoadMultiTaskAnnotations'),
            dict(type='PackMultiTaskInputs'),
        ]
    return DATASETS.build(
        dict(
            type='SyntheticScenesDataset',
            data_root=data_root,
            split=split,
            generate=dict(
                num_train=args.num_train,
                num_val=args.num_val + args.num_test,
                size=(args.size, args.size),
                seed=args.data_seed),
            tasks=tuple(tasks),
            label_setting=setting,
            split_seed=seed,
            test_mode=split == 'val',
            pipeline=pipeline))


def load_split(data_root: str, split: str, setting: str, seed: int, args,
               tasks: Sequence[str], indices: Optional[range] = None
               ) -> List[dict]:
    """Packed samples ({'inputs', 'data_samples'}) of a split (or of
    ``indices`` of it), held in memory."""
    ds = build_split(data_root, split, setting, seed, args, tasks)
    return [ds[i] for i in (indices if indices is not None else range(len(ds)))]


def _only_task(data_sample, task: str):
    """``data_sample`` with only ``task``'s label, marked labelled for it alone
    (changed in place and returned)."""
    from mmdmtl.structures import get_task
    keep_field = get_task(task).gt_field
    for t in ALL_TASKS:
        f = get_task(t).gt_field
        if f != keep_field and f in data_sample:
            delattr(data_sample, f)
    data_sample.set_metainfo(dict(labeled_tasks=(task, )))
    return data_sample


def task_subset(samples: List[dict], task: str) -> List[dict]:
    """The single-task training set of ``task``: the images labelled for it,
    with only that task's label."""
    return [
        dict(inputs=s['inputs'],
             data_samples=_only_task(s['data_samples'].clone(), task))
        for s in samples
        if task in s['data_samples'].metainfo.get('labeled_tasks', ())
    ]


class _AugmentedSubset:
    """The augmented samples of the images in ``keep``, with only ``task``'s
    label (the single-task training set under ``--augment``)."""

    def __init__(self, dataset, keep, task: str):
        self.dataset = dataset
        self.task = task
        self.indices = [i for i in range(len(dataset))
                        if dataset.get_data_info(i)['img_path'] in keep]

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, i):
        s = self.dataset[self.indices[i]]
        _only_task(s['data_samples'], self.task)
        return s


# ------------------------------------------------------------- train & eval
def lower_better(key: str) -> bool:
    return key in LOWER_BETTER


class TrainSource:
    """Training batches in the study's fixed order: packed samples, or (with
    ``--augment``) a dataset whose pipeline draws new augmentations per visit."""

    def __init__(self, samples, args, seed: int):
        self.samples = samples
        self.batch_size = args.batch_size
        self.gen = torch.Generator().manual_seed(seed)
        self.order: List[int] = []

    def __len__(self):
        return len(self.samples)

    def next_batch(self) -> List[dict]:
        if len(self.order) < self.batch_size:
            self.order += torch.randperm(len(self.samples),
                                         generator=self.gen).tolist()
        idx, self.order = self.order[:self.batch_size], self.order[self.batch_size:]
        return [self.samples[i] for i in idx]


def train_model(model, source: TrainSource, args, seed: int,
                on_eval=None) -> Dict[str, float]:
    """Adam + poly LR + clip 10 for ``args.iters`` iterations; calls
    ``on_eval(it, train_log)`` every ``args.eval_every`` iterations (and at the
    end when given), with the per-key mean of the training log since the last
    call."""
    from mmengine.dataset import pseudo_collate
    from mmengine.optim import OptimWrapper
    torch.manual_seed(seed)
    optim = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=1e-6)
    wrapper = OptimWrapper(optim, clip_grad=dict(max_norm=10, norm_type=2))
    sched = torch.optim.lr_scheduler.LambdaLR(
        optim, lambda it: (1 - it / args.iters)**0.9)
    model.train()
    t0 = time.perf_counter()
    last: Dict[str, float] = {}
    window: Dict[str, List[float]] = {}
    eval_s = 0.0
    for it in range(args.iters):
        batch = pseudo_collate(source.next_batch())
        log = model.train_step(batch, wrapper)
        sched.step()
        last = {k: float(v.detach()) if torch.is_tensor(v) else float(v)
                for k, v in log.items()}
        if not all(math.isfinite(v) for v in last.values()):
            raise FloatingPointError(f'non-finite loss at iteration {it}: {log}')
        for k, v in last.items():
            window.setdefault(k, []).append(v)
        if not args.quiet and (it + 1) % 50 == 0:
            print(f'    it {it + 1}/{args.iters} loss {last.get("loss", 0):.4f} '
                  f'({time.perf_counter() - t0:.0f}s)', flush=True)
        if on_eval is not None and (
                it + 1 == args.iters or
                (args.eval_every and (it + 1) % args.eval_every == 0)):
            te = time.perf_counter()
            on_eval(it + 1, {k: float(np.mean(v)) for k, v in window.items()})
            window = {}
            model.train()
            eval_s += time.perf_counter() - te
    return dict(train_s=time.perf_counter() - t0 - eval_s,
                final_loss=last.get('loss'))


def _metric_cfgs(args) -> dict:
    return dict(
        semseg=dict(type='SemSegMetric', num_classes=TASK_CHANNELS['semseg'],
                    log_per_class=False),
        human_parts=dict(type='HumanPartsMetric',
                         num_classes=TASK_CHANNELS['human_parts'],
                         log_per_class=False),
        sal=dict(type='SaliencyMetric'),
        normals=dict(type='NormalsMetric'),
        edge=dict(type='EdgeMetric', max_dist=0.0075,
                  thresholds=args.edge_thresholds),
        depth=dict(type='DepthMetric'))


@torch.no_grad()
def evaluate_model(model, samples: List[dict], tasks: Sequence[str], args,
                   output: str = 'final', per_class: bool = False
                   ) -> Dict[str, float]:
    """Metrics of ``output`` ('final' = refined, 'initial' = the initial
    heads of the same model) on ``samples``; with ``per_class`` also
    ``semseg/IoU.<c>`` of every semseg class."""
    from mmengine.dataset import pseudo_collate
    from mmdmtl.evaluation.functional.segmentation import segmentation_scores
    from mmdmtl.registry import METRICS
    cfgs = _metric_cfgs(args)
    metrics = [METRICS.build(cfgs[t]) for t in tasks]
    previous = getattr(model, 'test_output', 'final')
    if getattr(model, 'refine_head', None) is not None:
        model.test_output = output
    model.eval()
    try:
        for i in range(0, len(samples), args.batch_size):
            batch = pseudo_collate(samples[i:i + args.batch_size])
            preds = model.val_step(batch)
            for m in metrics:
                m.process(batch, preds)
    finally:
        model.test_output = previous
    out = {}
    for t, m in zip(tasks, metrics):
        if per_class and t == 'semseg':
            rec = m.counted(m.results)
            if rec:
                iou = segmentation_scores(*[
                    np.sum([r[k] for r in rec], axis=0)
                    for k in ('intersect', 'pred_area', 'label_area')
                ])['IoU']
                out.update({f'semseg/IoU.{c}': 100.0 * float(v)
                            for c, v in enumerate(iou)})
        out.update(m.evaluate(len(samples)))
    return {k: float(v) for k, v in out.items()}


@torch.no_grad()
def evaluate_losses(model, samples: List[dict], args) -> Dict[str, float]:
    """Per task, the unweighted loss of the refined output (``<task>.final``)
    and of the initial heads (``<task>.initial``) on ``samples``, averaged over
    the images labelled for the task (each with its partial-label weight, as
    in training), in eval mode (inference noise)."""
    from mmengine.dataset import pseudo_collate
    model.eval()
    sums: Dict[str, float] = {}
    wsum = {t: 0.0 for t in model.task_names}
    for i in range(0, len(samples), args.batch_size):
        batch = pseudo_collate(samples[i:i + args.batch_size])
        data = model.data_preprocessor(batch, False)
        losses = model(**data, mode='loss')
        b = data['inputs'].shape[0]
        for k, v in losses.items():
            if '.loss' in k:  # sum_b w_bt L_bt * lambda_t / b
                sums[k] = sums.get(k, 0.0) + float(v) * b
        for ds in data['data_samples']:
            lab = ds.metainfo.get('labeled_tasks', ())
            for t in lab:
                wsum[t] += len(model.task_names) / len(lab)
    out = {}
    for k, v in sums.items():
        task, kind = k.split('.loss')
        if not wsum[task]:
            continue
        lam = model.loss_weights[task] * wsum[task]
        if kind == '_final':
            out[f'{task}.final'] = v / lam
        elif kind == '_init':
            out[f'{task}.initial'] = v / (lam * model.init_loss_weight)
    return out


def diagnostic_batch(samples: List[dict], tasks: Sequence[str], size: int
                     ) -> List[dict]:
    """A fixed training batch that holds a label of every task (if any)."""
    chosen: List[int] = []
    for t in tasks:
        for i, s in enumerate(samples):
            if i not in chosen and t in s['data_samples'].metainfo.get(
                    'labeled_tasks', ()):
                chosen.append(i)
                break
    rest = [i for i in range(len(samples)) if i not in chosen]
    return [samples[i] for i in (chosen + rest)[:size]]


def _norm(tensors) -> float:
    g = [t.detach().float().pow(2).sum() for t in tensors if t is not None]
    return float(torch.stack(g).sum().sqrt()) if g else 0.0


def diagnose(model, batch: List[dict], tasks: Sequence[str]) -> dict:
    """The mechanism, measured on a copy of the model in training mode (the
    copy keeps the run's BatchNorm statistics and noise counter untouched):

    * ``rms``: root-mean-square of the denoiser's signals per task (its input
      x_t, h = Conv3x3_t(x_t) + TimeEmbed, the shared blocks' output stream,
      x0_hat) at the last step, and of the initial feature F_t;
    * ``dead_relu``: fraction of x0_hat's channels that are zero on every
      pixel of every pair of the task (dead ReLUs), and of zero activations;
    * ``grad_share_blocks``: each task's share of the refined-loss gradient
      norm reaching the shared cross-attention blocks (loss weights included);
    * ``grad_at_feature``: norm of the refined (final) and of the initial loss
      gradient at the initial feature F_t of the task (loss weights included).
    """
    from mmengine.dataset import pseudo_collate
    dm = copy.deepcopy(model)
    dm.train()
    rh = dm.refine_head
    data = dm.data_preprocessor(pseudo_collate(batch), True)
    rec: Dict[str, dict] = {t: {} for t in tasks}
    hooks = []
    state = dict(groups=None)

    def split(x):
        return {t: x[a:b] for t, a, b in state['groups']}

    orig_denoise = rh.denoise

    def denoise(x_t, t, cond_tokens, groups):
        state['groups'] = groups
        for task, v in split(x_t).items():
            rec[task]['x_t'] = v
        return orig_denoise(x_t, t, cond_tokens, groups)

    rh.denoise = denoise
    for task in tasks:
        def conv_hook(mod, inp, out, task=task):
            rec[task]['h'] = out
        hooks.append(rh.input_convs[task].register_forward_hook(conv_hook))

        def head_hook(mod, inp, out, task=task):
            rec[task]['stream'] = inp[0]
            rec[task]['x0_hat'] = out
        hooks.append(rh.task_heads[task].register_forward_hook(head_hook))
    feats_box = {}

    def init_hook(mod, inp, out):
        feats_box.update(out[0])
        for f in out[0].values():
            f.retain_grad()
    hooks.append(dm.init_heads.register_forward_hook(init_hook))
    try:
        losses = dm(**data, mode='loss')
    finally:
        for h in hooks:
            h.remove()
        rh.denoise = orig_denoise
    shared = [p for p in rh.blocks.parameters() if p.requires_grad]
    out = dict(rms={}, dead_relu={}, grad_share_blocks={}, grad_at_feature={})
    block_norms = {}
    for task in tasks:
        r = rec.get(task, {})
        if 'x0_hat' not in r:
            continue  # no labelled pair of the task in the batch
        rms = {k: float(v.detach().float().pow(2).mean().sqrt()) for k, v in r.items()}
        rms['F_t'] = float(feats_box[task].detach().pow(2).mean().sqrt())
        out['rms'][task] = rms
        x0 = r['x0_hat'].detach()
        out['dead_relu'][task] = dict(
            channels=float((x0.amax(dim=(0, 2, 3)) <= 0).float().mean()),
            activations=float((x0 <= 0).float().mean()))
        lf = losses[f'{task}.loss_final']
        li = losses[f'{task}.loss_init']
        block_norms[task] = _norm(torch.autograd.grad(
            lf, shared, retain_graph=True, allow_unused=True))
        gf = torch.autograd.grad(lf, feats_box[task], retain_graph=True,
                                 allow_unused=True)[0]
        gi = torch.autograd.grad(li, feats_box[task], retain_graph=True,
                                 allow_unused=True)[0]
        out['grad_at_feature'][task] = dict(final=_norm([gf]), initial=_norm([gi]))
    total = sum(block_norms.values()) or 1.0
    out['grad_share_blocks'] = {t: v / total for t, v in block_norms.items()}
    return out


@torch.no_grad()
def shuffled_condition_metrics(model, samples: List[dict],
                               tasks: Sequence[str], args) -> Dict[str, float]:
    """Refined metrics when every image is refined with the condition of
    another image of its batch (the batch rolled by one): what the
    multi-task condition carries."""
    cond_mod = model.conditioner
    orig = cond_mod.forward

    def rolled(*a, **k):
        return orig(*a, **k).roll(1, dims=0)

    cond_mod.forward = rolled
    try:
        return evaluate_model(model, samples, tasks, args, 'final')
    finally:
        cond_mod.forward = orig


def first_match(curve: List[dict], tasks: Sequence[str], where: str = 'val'
                ) -> Dict[str, Optional[int]]:
    """Per task, the first evaluated iteration at which the refined output
    is at least as good as the initial heads (None: not reached)."""
    out = {}
    for t in tasks:
        key = HEADLINE[t]
        out[t] = None
        for p in curve:
            f = p[where]['final'].get(key)
            i = p[where]['initial'].get(key)
            if f is None or i is None or not (math.isfinite(f) and math.isfinite(i)):
                continue
            if (f <= i) if lower_better(key) else (f >= i):
                out[t] = p['iter']
                break
    return out


def plot_curves(path: str, curve: List[dict], tasks: Sequence[str],
                title: str, init_loss_weight: float) -> None:
    """One panel per task (refined vs initial, val and held-in train) and
    one of the refined / initial training-loss ratio per task."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    its = [p['iter'] for p in curve]
    n = len(tasks) + 1
    cols = min(4, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.2 * rows),
                             squeeze=False)
    for ax, t in zip(axes.flat, tasks):
        key = HEADLINE[t]
        for where, style in (('val', '-'), ('train', ':')):
            for out, color in (('final', 'tab:red'), ('initial', 'tab:blue')):
                if out not in curve[0].get(where, {}):
                    continue
                ys = [p[where][out].get(key, float('nan')) for p in curve]
                ax.plot(its, ys, style, color=color, marker='.',
                        label=f'{"refined" if out == "final" else "initial"} '
                        f'({where})')
        ax.set_title(f'{key} ({"lower" if lower_better(key) else "higher"} '
                     'is better)', fontsize=9)
        ax.set_xlabel('iteration', fontsize=8)
        ax.tick_params(labelsize=7)
    axes.flat[0].legend(fontsize=7)
    ax = axes.flat[len(tasks)]
    for t in tasks:
        ys = []
        for p in curve:
            f = p['train_log'].get(f'{t}.loss_final')
            i = p['train_log'].get(f'{t}.loss_init')
            ys.append(f / (i / init_loss_weight) if f is not None and i
                      else float('nan'))
        ax.plot(its, ys, marker='.', label=t)
    ax.axhline(1.0, color='gray', lw=0.5)
    ax.set_title('training loss: refined / initial', fontsize=9)
    ax.legend(fontsize=7)
    ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[n:]:
        ax.axis('off')
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def run_one(variant: str, tasks: Dict[str, int], source: TrainSource,
            report: List[dict], args, seed: int,
            val: Optional[List[dict]] = None,
            held_in: Optional[List[dict]] = None,
            diag_batch: Optional[List[dict]] = None) -> dict:
    """Train one model; metrics on ``report`` (test, or val without a test
    split); with a refinement chain also its initial heads; with ``val``
    the learning curve (val and ``held_in`` train slice, refined and
    initial, losses, diagnostics)."""
    from mmdmtl.registry import MODELS
    torch.manual_seed(seed)
    np.random.seed(seed)
    model = MODELS.build(model_config(variant, tasks, args))
    n_params = sum(p.numel() for p in model.parameters())
    task_list = list(tasks)
    refined = getattr(model, 'refine_head', None) is not None
    outputs = ('final', 'initial') if refined else ('final', )
    curve: List[dict] = []

    def on_eval(it, train_log):
        if val is None:
            return
        point = dict(iter=it, train_log=train_log)
        for where, samples in (('val', val), ('train', held_in)):
            if samples:
                point[where] = {o: evaluate_model(model, samples, task_list, args, o)
                                for o in outputs}
        if refined:
            point['val_loss'] = evaluate_losses(model, val, args)
            if held_in:
                point['train_loss'] = evaluate_losses(model, held_in, args)
            if args.diagnose and diag_batch:
                point['diagnostics'] = diagnose(model, diag_batch, task_list)
        curve.append(point)
        if not args.quiet:
            v = point['val']
            print('    eval it {}: '.format(it) + ', '.join(
                f'{t} {v["final"][HEADLINE[t]]:.2f}' +
                (f'/{v["initial"][HEADLINE[t]]:.2f}' if refined else '')
                for t in task_list) + ' (refined/initial, val)', flush=True)

    stats = train_model(model, source, args, seed,
                        on_eval if val is not None and args.eval_every else None)
    t0 = time.perf_counter()
    per_class = args.diagnose and 'semseg' in tasks
    stats['metrics'] = evaluate_model(model, report, task_list, args, 'final',
                                      per_class)
    stats['eval_s'] = time.perf_counter() - t0
    if refined:
        # the same model's initial heads: what the refinement adds per task
        stats['initial_metrics'] = evaluate_model(model, report, task_list, args,
                                                  'initial', per_class)
        if args.diagnose and model.conditioner is not None:
            stats['shuffled_condition_metrics'] = shuffled_condition_metrics(
                model, report, task_list, args)
    if curve:
        stats['curve'] = curve
        if refined:
            stats['first_match'] = first_match(curve, task_list)
    stats['params'] = n_params
    stats['num_train_images'] = len(source)
    stats['init_loss_weight'] = float(getattr(model, 'init_loss_weight', 1.0))
    return stats


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
    lines.append(f'Mean ± std over seeds, on {meta.get("report_split", "val")}. '
                 f'{meta["budget"]}')
    return '\n'.join(lines) + '\n'


def gain(metrics: Dict[str, float], ref: Dict[str, float],
         tasks: Sequence[str]) -> Optional[float]:
    """Mean relative gain (%) of ``metrics`` over ``ref`` on the headline
    metrics (Delta_m's formula with ``ref`` as the reference)."""
    keys = [HEADLINE[t] for t in tasks]
    if not all(k in metrics and k in ref and ref[k] for k in keys):
        return None
    return float(np.mean([(-1 if lower_better(k) else 1) *
                          (metrics[k] - ref[k]) / ref[k] * 100 for k in keys]))


def compare_table(out_dirs: Sequence[str]) -> str:
    """Markdown: per folder and refined run, per task ``refined / initial /
    MTL`` and the mean relative gains refined vs initial and vs MTL."""
    lines = []
    header = None
    for d in out_dirs:
        with open(osp.join(d, 'runs.json')) as f:
            data = json.load(f)
        runs = data['runs']
        tasks = [t for t in ALL_TASKS
                 if HEADLINE[t] in (runs[0]['metrics'] if runs else {})]
        if header is None:
            header = tasks
            lines.append('| run | seed | ' + ' | '.join(
                f'{HEADLINE[t]} ref / init / MTL' for t in tasks) +
                ' | refined vs initial | refined vs MTL | refined >= initial '
                '(val, first iter) |')
            lines.append('|---' * (len(tasks) + 5) + '|')
        for r in runs:
            if 'initial_metrics' not in r:
                continue
            mtl = next((m for m in runs if m['variant'] == 'mtl' and
                        m['seed'] == r['seed'] and m['setting'] == r['setting']),
                       None)
            cells = []
            for t in header:
                k = HEADLINE[t]
                fmt = '{:.3f}' if k == 'depth/abs_err' else '{:.1f}'
                vals = [r['metrics'], r['initial_metrics']] + (
                    [mtl['metrics']] if mtl else [])
                cells.append(' / '.join(fmt.format(v[k]) for v in vals))
            g_init = gain(r['metrics'], r['initial_metrics'], header)
            g_mtl = gain(r['metrics'], mtl['metrics'], header) if mtl else None
            fm = r.get('first_match') or {}
            reached = ', '.join(f'{t} {fm[t]}' for t in header if fm.get(t)) \
                or 'none'
            name = f'{osp.basename(osp.normpath(d))}: {r["variant"]}' + (
                '' if r['setting'] == 'one_label' else f' ({r["setting"]})')
            pct = lambda g: '-' if g is None else f'{g:+.1f}%'  # noqa: E731
            lines.append(f'| {name} | {r["seed"]} | ' + ' | '.join(cells) +
                         f' | {pct(g_init)} | {pct(g_mtl)} | {reached} |')
    return '\n'.join(lines) + '\n'


def _write_json(path: str, obj) -> None:
    from mmdmtl.utils.atomic_write import atomic_write_json
    atomic_write_json(obj, path, indent=1)


def main(argv=None):
    args = parse_args(argv)
    if args.compare:
        print(compare_table(args.compare))
        return
    torch.set_num_threads(args.threads)
    sys.path.insert(0, ROOT)
    from mmdmtl.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    os.makedirs(args.out_dir, exist_ok=True)
    # one folder per generation (a run with other counts never regenerates
    # the folder of another run)
    data_root = args.data_root or osp.join(
        args.out_dir, f'data_{args.size}px_{args.num_train}_'
        f'{args.num_val + args.num_test}_seed{args.data_seed}')
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

    n_val = args.num_val
    val = load_split(data_root, 'val', 'full', 0, args, list(tasks), range(n_val))
    report = load_split(data_root, 'val', 'full', 0, args, list(tasks),
                        range(n_val, n_val + args.num_test)) if args.num_test \
        else val
    meta['report_split'] = (f'test ({args.num_test} held-out images)'
                            if args.num_test else f'val ({n_val} images)')
    curve_dir = osp.join(args.out_dir, 'curves')
    # Seed-major order: a cut-off study still has complete seeds.
    for seed in args.seeds:
        for setting in args.settings:
            train = load_split(data_root, 'train', setting, seed, args, list(tasks))
            # held-in slice: the first training images with their TRAINING
            # labels (each task scored on the images it was trained on)
            held_in = train[:args.train_eval_num or n_val] \
                if args.eval_every else None
            augmented = build_split(data_root, 'train', setting, seed, args,
                                    list(tasks), augment=True) \
                if args.augment else None
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
                        sub = task_subset(train, task)
                        if augmented is not None:
                            keep = {s['data_samples'].img_path for s in sub}
                            sub = _AugmentedSubset(augmented, keep, task)
                        res = run_one('stl', {task: tasks[task]},
                                      TrainSource(sub, args, seed), report,
                                      args, seed)
                    else:
                        src = augmented if augmented is not None else train
                        res = run_one(variant, tasks, TrainSource(src, args, seed),
                                      report, args, seed, val=val, held_in=held_in,
                                      diag_batch=diagnostic_batch(
                                          train, list(tasks), args.batch_size))
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
                if res.get('curve'):
                    os.makedirs(curve_dir, exist_ok=True)
                    stem = f'{setting}_seed{seed}_{variant}'
                    _write_json(osp.join(curve_dir, stem + '.json'),
                                dict(meta=meta, curve=res['curve'],
                                     first_match=res.get('first_match')))
                    plot_curves(osp.join(curve_dir, stem + '.png'), res['curve'],
                                list(tasks), f'{VARIANT_NAMES[variant]}, '
                                f'{setting}, seed {seed}',
                                res.get('init_loss_weight', 1.0))
                    if 'first_match' in res:
                        print('   first iteration refined >= initial (val): '
                              f'{res["first_match"]}', flush=True)
                save()
    save()
    print(open(osp.join(args.out_dir, 'study.md')).read())


if __name__ == '__main__':
    main()
