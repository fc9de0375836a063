"""Speed and memory of a config: training step and inference, batched vs the
per-sample reference loop, on CPU and (where there is one) GPU.

    python tools/analysis_tools/benchmark.py CONFIG [--batch-size 6] [--shape 512 512]
        [--setting one_label] [--device cpu|cuda] [--steps 1 2 3]
        [--train-modes loop fp32 fast] [--infer-modes loop fp32 fast]
        [--warmup 1] [--repeats 2] [--threads N] [--compile]
        [--compile-backend inductor]
        [--out-json FILE] [--out-md FILE] [--cfg-options ...]

What is measured, on random inputs of the given shape (the model's weights are
random too: the config's ``init_cfg`` is never called, nothing is downloaded):

* training step = forward + loss + backward + grad-norm clip (10) + Adam step, with
  ``--setting`` deciding which (image, task) pairs are labelled (``one_label``:
  image i is labelled for task i mod T, as in the official one-label batches);
* inference time per image (all tasks) for every ``--steps`` S of the denoiser
  and for the MTL baseline of the same config (``conditioner=None,
  refine_head=None``);
* peak memory of each measurement: on CPU the growth of the process's peak
  resident set (``VmHWM``, reset through ``/proc/self/clear_refs`` before each
  measurement, with glibc's dynamic mmap threshold disabled so that freed tensors
  go back to the system); on CUDA ``torch.cuda.max_memory_allocated``;
* parameters and FLOPs (``torch.utils.flop_counter``: 2 per multiply-add; the
  GMACs column is half of it, the convention of the paper's 676G), the achieved
  FLOP/s and its ratio to the machine's theoretical peak (the model FLOPs
  utilisation, MFU). On a GPU the fp32 modes are compared with the TF32 peak
  while ``torch.backends.cudnn.allow_tf32`` is on (PyTorch's default: the
  convolutions, nearly all of the FLOPs, then run on the TF32 tensor cores).

Modes:

* ``loop``: the per-sample, per-task reference (``mmdmtl/testing/
  reference_denoiser.py``, the loop structure of the published code), fp32;
* ``fp32``: the package's batched model, fp32, as it is;
* ``fast``: batched + ``channels_last`` + bf16 autocast (on CPU only when the CPU
  has bf16 instructions; ``--fast-dtype float16`` for GPUs without bf16), and at
  inference Conv+BN folding (``mmcv.cnn.fuse_conv_bn``);
* ``--compile`` adds ``compile`` (``fast`` + ``torch.compile`` of the backbone,
  neck and initial heads; ``--compile-backend aot_eager`` traces the same graphs
  forward and backward without generating kernels: a quick check of the
  plumbing, not a speed-up). Its FLOPs are the fast mode's (the same
  computation), not counted through the compiled graphs.

Each mode runs ``--warmup`` untimed steps (the first one counts the FLOPs) and
``--repeats`` timed ones; the best and the median are reported. On a shared
machine take the best of several repeats and look at the load average that the
report prints next to the numbers.

Example (the official training shape, one-label PASCAL, 5 tasks; the numbers of
docs/results.md; about 15 minutes on one CPU core, most of it the fp32 loop)::

    python tools/analysis_tools/benchmark.py \\
        configs/diffusionmtl/diffusionmtl-feature_r18_pascal-context_one-label.py \\
        --batch-size 6 --infer-batch-size 1 --shape 512 512 --threads 1 \\
        --warmup 0 --repeats 1 --out-json work_dirs/benchmark/pascal.json \\
        --out-md work_dirs/benchmark/pascal.md

On a GPU add ``--device cuda --warmup 2 --repeats 10`` (and ``--compile``).
"""
import argparse
import copy
import ctypes
import gc
import json
import os
import os.path as osp
import statistics
import sys
import time
from contextlib import contextmanager, nullcontext
from typing import Callable, Dict, List, Optional

import torch
import torch.nn.functional as F

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
# One copy of the CPU feature detection and of the fast-mode dtype choice: the
# package's (tools/train.py --amp, tools/test.py --fast use the same).
from mmdmtl.engine.fast_mode import choose_plan, cpu_info  # noqa: E402

# Theoretical dense peaks (FLOP/s) of common GPUs, by a substring of the name
# (the first key found in it; the H100 and H200 figures are the SXM parts').
GPU_PEAKS = {
    'H200': dict(float32=67e12, tfloat32=494.7e12, bfloat16=989.4e12,
                 float16=989.4e12),
    'H100 PCIe': dict(float32=51.2e12, tfloat32=378e12, bfloat16=756e12,
                      float16=756e12),
    'H100': dict(float32=67e12, tfloat32=494.7e12, bfloat16=989.4e12,
                 float16=989.4e12),
    'A100': dict(float32=19.5e12, tfloat32=156e12, bfloat16=312e12,
                 float16=312e12),
    'L40S': dict(float32=91.6e12, tfloat32=183e12, bfloat16=362e12,
                 float16=362e12),
    'V100': dict(float32=15.7e12, float16=125e12),
}


def parse_args(argv=None):
    from mmengine.config import DictAction
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('config')
    p.add_argument('--batch-size', type=int, default=6,
                   help='training batch size')
    p.add_argument('--infer-batch-size', type=int, default=None,
                   help='inference batch size (default: --batch-size)')
    p.add_argument('--shape', type=int, nargs=2, default=(512, 512),
                   metavar=('H', 'W'))
    p.add_argument('--setting', default='one_label',
                   choices=['one_label', 'full'],
                   help='labelled pairs of the training batch')
    p.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    p.add_argument('--steps', type=int, nargs='+', default=[1, 2, 3],
                   help='denoising steps S to time at inference (the fast mode)')
    p.add_argument('--train-modes', nargs='*', default=['loop', 'fp32', 'fast'],
                   choices=['loop', 'fp32', 'fast'])
    p.add_argument('--infer-modes', nargs='*', default=['loop', 'fp32', 'fast'],
                   choices=['loop', 'fp32', 'fast'])
    p.add_argument('--no-baseline', action='store_true',
                   help='skip the MTL baseline inference')
    p.add_argument('--compile', action='store_true',
                   help='also time fast + torch.compile')
    p.add_argument('--compile-backend', default='inductor',
                   help='torch.compile backend of --compile (aot_eager: trace '
                   'only, for a quick check on CPU)')
    p.add_argument('--fast-dtype', default='bfloat16',
                   choices=['bfloat16', 'float16'])
    p.add_argument('--inference-chunk', type=int, default=None,
                   help='fast inference modes: refine at most N (image, task) '
                   'pairs at a time (MultiTaskDenoiser.inference_chunk; '
                   'bounds the peak memory)')
    p.add_argument('--warmup', type=int, default=1,
                   help='untimed runs per mode (0: the first timed run counts '
                   'the FLOPs)')
    p.add_argument('--repeats', type=int, default=2)
    p.add_argument('--threads', type=int, default=None,
                   help='torch CPU threads (default: torch default)')
    p.add_argument('--out-json', default=None)
    p.add_argument('--out-md', default=None)
    p.add_argument('--cfg-options', nargs='+', action=DictAction)
    return p.parse_args(argv)


# ----------------------------------------------------------------- machine
def _disable_dynamic_mmap_threshold() -> None:
    """glibc: big blocks always mmapped, so freed tensors leave the RSS and the
    peak of the next measurement is its own."""
    try:
        libc = ctypes.CDLL('libc.so.6')
        libc.mallopt(-3, 1 << 20)  # M_MMAP_THRESHOLD = 1 MiB (fixed)
    except OSError:
        pass


def _rss_kib(field: str) -> Optional[int]:
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class PeakMemory:
    """Peak memory growth (MiB) of a block: CUDA allocator or process RSS."""

    def __init__(self, device: torch.device):
        self.device = device

    def __enter__(self):
        gc.collect()
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(self.device)
            self.base = torch.cuda.memory_allocated(self.device)
            return self
        try:
            ctypes.CDLL('libc.so.6').malloc_trim(0)
        except OSError:
            pass
        self.base = _rss_kib('VmRSS')
        try:
            with open('/proc/self/clear_refs', 'w') as f:
                f.write('5')  # resets VmHWM to the current RSS
            self.resettable = True
        except OSError:
            self.resettable = False
        return self

    def __exit__(self, *exc):
        if self.device.type == 'cuda':
            torch.cuda.synchronize(self.device)
            self.peak_mib = (torch.cuda.max_memory_allocated(self.device) -
                             self.base) / 2**20
        else:
            hwm = _rss_kib('VmHWM')
            self.peak_mib = None if (hwm is None or self.base is None
                                     or not self.resettable) else \
                (hwm - self.base) / 1024
        return False


def cpu_peak_flops(info: dict, threads: int, dtype: str) -> Optional[float]:
    """Theoretical peak: threads x GHz x FLOP/cycle (AVX-512: 2 FMA units x 16
    fp32 lanes x 2; AVX2: 2 x 8 x 2; AMX bf16: 1024 per core per cycle)."""
    if not info.get('mhz'):
        return None
    if dtype == 'bfloat16' and info.get('amx_bf16'):
        per_cycle = 1024
    elif dtype == 'bfloat16' and info.get('bf16'):
        per_cycle = 128  # avx512_bf16 dot products: 2x the fp32 rate
    else:
        per_cycle = 64 if info.get('avx512f') else 32
    return threads * info['mhz'] * 1e6 * per_cycle


def gpu_peak_flops(name: str, dtype: str) -> Optional[float]:
    for key, peaks in GPU_PEAKS.items():
        if key in name:
            return peaks.get(dtype)
    return None


# ------------------------------------------------------------------- model
def load_reference():
    from mmdmtl.testing import reference_denoiser
    return reference_denoiser


def model_cfg(cfg, baseline: bool = False, steps: Optional[int] = None) -> dict:
    m = copy.deepcopy(cfg.model.to_dict() if hasattr(cfg.model, 'to_dict')
                      else dict(cfg.model))
    if m.get('type', 'MultiTaskEncoderDecoder') not in (
            'MultiTaskEncoderDecoder', 'mmdmtl.MultiTaskEncoderDecoder'):
        raise ValueError(f'benchmark.py measures MultiTaskEncoderDecoder models; '
                         f'the config\'s model type is {m.get("type")!r}')
    if not m.get('tasks'):
        raise ValueError('the config\'s model.tasks is empty: give an experiment '
                         'config (e.g. configs/diffusionmtl/...)')
    m['data_preprocessor'] = None  # the benchmark feeds normalised tensors
    # Random weights: never download a pretrained checkpoint.
    for key in ('backbone', ):
        if isinstance(m.get(key), dict):
            m[key]['init_cfg'] = None
    m['init_cfg'] = None
    if baseline:
        m['conditioner'] = None
        m['refine_head'] = None
    elif steps is not None:
        if m.get('refine_head') is None:
            raise ValueError('--steps needs a config with a refine_head')
        rh = m['refine_head']
        rh['num_inference_steps'] = steps
        # S <= T: timing S steps needs a chain of at least S timesteps.
        sched = dict(rh.get('scheduler') or dict(type='DDPMScheduler'))
        sched['num_train_timesteps'] = max(int(sched.get('num_train_timesteps', 2)),
                                           steps)
        rh['scheduler'] = sched
    return m


def build_model(mcfg: dict, device: torch.device):
    from mmdmtl.registry import MODELS
    torch.manual_seed(0)
    return MODELS.build(mcfg).to(device)


def fake_batch(tasks: Dict[str, int], batch: int, shape, setting: str,
               device: torch.device):
    """Normalised images and data samples with labels of the right formats."""
    from mmengine.structures import PixelData
    from mmdmtl.structures import MultiTaskDataSample, get_task
    g = torch.Generator().manual_seed(0)
    H, W = shape
    inputs = torch.randn(batch, 3, H, W, generator=g)
    names = list(tasks)
    samples = []
    for i in range(batch):
        labeled = (names[i % len(names)], ) if setting == 'one_label' else \
            tuple(names)
        s = MultiTaskDataSample(metainfo=dict(
            img_shape=(H, W), ori_shape=(H, W), pad_shape=(H, W),
            batch_input_shape=(H, W), padding_size=[0, 0, 0, 0],
            labeled_tasks=labeled, sample_idx=i))
        for t in labeled:
            spec, c = get_task(t), tasks[t]
            if spec.kind == 'class':
                y = torch.randint(0, c, (1, H, W), generator=g)
            elif spec.kind == 'binary':
                y = torch.randint(0, 2, (1, H, W), generator=g)
            elif spec.kind == 'normals':
                y = F.normalize(torch.randn(3, H, W, generator=g), dim=0)
            else:
                y = torch.rand(1, H, W, generator=g) * 10 + 0.1
            s.set_field(PixelData(data=y.to(device)), spec.gt_field)
        samples.append(s)
    return inputs.to(device), samples


def _sum_losses(losses: dict) -> torch.Tensor:
    return sum(v for k, v in losses.items() if 'loss' in k)


# ------------------------------------------------------------------ timing
def _sync(device):
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def _flops_by_op(counter) -> Dict[str, int]:
    return {str(op).split('.')[-1] if '.' in str(op) else str(op): int(n)
            for op, n in counter.get_flop_counts().get('Global', {}).items()}


def measure(fn: Callable[[], object], device, warmup: int, repeats: int,
            count_flops: bool = True) -> dict:
    """Best/median seconds of ``fn``, its peak memory and FLOPs."""
    from torch.utils.flop_counter import FlopCounterMode
    flops, by_op = None, None
    with PeakMemory(device) as mem:
        for i in range(max(warmup, 0)):
            if i == 0 and count_flops:
                counter = FlopCounterMode(display=False)
                with counter:
                    fn()
                flops = counter.get_total_flops()
                by_op = _flops_by_op(counter)
            else:
                fn()
            _sync(device)
        times = []
        for i in range(repeats):
            # Without warm-up, the first timed run counts the FLOPs (the
            # counter's overhead is per op, negligible at real sizes).
            counter = FlopCounterMode(display=False) \
                if (i == 0 and flops is None and count_flops) else nullcontext()
            _sync(device)
            t0 = time.perf_counter()
            with counter:
                fn()
            _sync(device)
            times.append(time.perf_counter() - t0)
            if isinstance(counter, FlopCounterMode):
                flops = counter.get_total_flops()
                by_op = _flops_by_op(counter)
    return dict(best_s=min(times), median_s=statistics.median(times),
                times_s=times, peak_mem_mib=mem.peak_mib, flops=flops,
                flops_by_op=by_op,
                load=os.getloadavg()[0])


def _autocast(device, dtype_name: Optional[str], cache: bool = True):
    """``cache=False`` for inference: there every weight is used once per chain
    step, and autocast's cache would keep a low-precision copy of all of them."""
    if dtype_name is None:
        return nullcontext()
    return torch.autocast(device.type, dtype=getattr(torch, dtype_name),
                          cache_enabled=cache)


@contextmanager
def _frozen_noise_counter(model):
    """Same training noise in every call (the head counts its steps)."""
    head = getattr(model, 'refine_head', None)
    if head is None:
        yield
        return
    saved = head.train_iter.clone()
    yield
    head.train_iter.copy_(saved)


def train_step_fn(model, inputs, samples, mode: str, ref, fast_dtype,
                  device) -> Callable[[], float]:
    optim = torch.optim.Adam(model.parameters(), lr=2e-5, weight_decay=1e-6)
    model.train()

    def step():
        optim.zero_grad(set_to_none=True)
        with _autocast(device, fast_dtype if mode != 'loop' else None):
            if mode == 'loop':
                loss = ref.reference_loss(model, inputs, samples)
            else:
                loss = _sum_losses(model.loss(inputs, samples))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        optim.step()
        return float(loss)

    return step


def infer_fn(model, inputs, samples, mode: str, ref, fast_dtype,
             device) -> Callable[[], Dict[str, torch.Tensor]]:
    model.eval()
    size = inputs.shape[-2:]

    @torch.no_grad()
    def run():
        with _autocast(device, fast_dtype, cache=False):
            if mode == 'loop':
                x = model.extract_feat(inputs)
                feats, preds = model.init_heads(x)
                cond = model.conditioner(feats, preds) \
                    if model.conditioner is not None else x
                out = ref.reference_refine(model.refine_head, feats, preds, cond)
                return {
                    t: F.interpolate(
                        torch.cat([out[(b, t)] for b in range(inputs.shape[0])]),
                        size=size, mode='bilinear',
                        align_corners=model.align_corners)
                    for t in model.task_names
                }
            return model._predict_logits(inputs, samples)

    return run


def prepare(model, inputs, mode: str, inference: bool, compile_: bool,
            backend: str = 'inductor'):
    """Apply the mode's model transforms; returns (model, inputs)."""
    if mode in ('fast', 'compile'):
        if inference:
            from mmcv.cnn import fuse_conv_bn
            model = fuse_conv_bn(model.eval())
        model = model.to(memory_format=torch.channels_last)
        inputs = inputs.contiguous(memory_format=torch.channels_last)
        if compile_:
            model.extract_feat = torch.compile(model.extract_feat,
                                               backend=backend)
            model.init_heads = torch.compile(model.init_heads, backend=backend)
    return model, inputs


# -------------------------------------------------------------------- main
def run_benchmark(args) -> dict:
    from mmengine.config import Config
    from mmdmtl.utils import register_all_modules
    _disable_dynamic_mmap_threshold()
    register_all_modules(init_default_scope=True)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == 'cuda' and not torch.cuda.is_available():
        raise RuntimeError('--device cuda but torch sees no CUDA device')
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    ref = load_reference() if ('loop' in args.train_modes or
                               'loop' in args.infer_modes) else None

    info = cpu_info()
    threads = torch.get_num_threads()
    fp32_peak_basis = 'float32'
    # bf16 without hardware support is slower: the package's choice (fp32 there)
    plan = choose_plan(device, 'auto' if args.fast_dtype == 'bfloat16'
                       else args.fast_dtype)
    use_fast_dtype = plan.dtype_name if plan.autocast else None
    print(plan.describe(inference=True), flush=True)
    if device.type == 'cuda':
        name = torch.cuda.get_device_name(device)
        tf32 = torch.backends.cudnn.allow_tf32
        machine = dict(device=name, cuda=torch.version.cuda,
                       cudnn_allow_tf32=tf32,
                       matmul_allow_tf32=torch.backends.cuda.matmul.allow_tf32)
        peak = {d: gpu_peak_flops(name, d) for d in ('float32', use_fast_dtype)}
        if tf32 and gpu_peak_flops(name, 'tfloat32'):
            peak['float32'] = gpu_peak_flops(name, 'tfloat32')
            fp32_peak_basis = 'tfloat32'
    else:
        machine = dict(device=info['model'], **info)
        peak = {d: cpu_peak_flops(info, threads, d)
                for d in ('float32', use_fast_dtype or 'float32')}
    report = dict(
        config=osp.relpath(osp.abspath(args.config), ROOT),
        command='python tools/analysis_tools/benchmark.py ' +
        ' '.join(sys.argv[1:]),
        date=time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()),
        machine=dict(**machine, threads=threads, torch=torch.__version__,
                     load_at_start=os.getloadavg()),
        batch_size=args.batch_size, shape=list(args.shape), setting=args.setting,
        inference_chunk=args.inference_chunk,
        fast_dtype=use_fast_dtype, fast_reason=plan.reason, peak_flops=peak,
        fp32_peak_basis=fp32_peak_basis,
        train={}, infer={})

    def dtype_of(mode):
        return use_fast_dtype if mode in ('fast', 'compile') else None

    def add_rates(res, mode):
        if res.get('flops'):
            res['gmacs'] = res['flops'] / 2e9
            res['achieved_flops'] = res['flops'] / res['best_s']
            pk = peak.get(dtype_of(mode) or 'float32')
            res['peak_ratio'] = res['achieved_flops'] / pk if pk else None

    # ---- training step
    mcfg = model_cfg(cfg)
    tasks = dict(mcfg['tasks'])
    inputs0, samples = fake_batch(tasks, args.batch_size, args.shape, args.setting,
                                  device)
    train_modes = list(args.train_modes) + (['compile'] if args.compile else [])
    for mode in train_modes:
        print(f'[train] {mode} ...', flush=True)
        model = build_model(mcfg, device)
        report.setdefault('params', sum(p.numel() for p in model.parameters()))
        model, inputs = prepare(model, inputs0, mode, False, mode == 'compile',
                                args.compile_backend)
        fn = train_step_fn(model, inputs, samples, mode, ref, dtype_of(mode),
                           device)
        res = measure(fn, device, args.warmup, args.repeats,
                      count_flops=mode != 'compile')
        _flops_of_fast(res, mode, report['train'])
        res['images_per_s'] = args.batch_size / res['best_s']
        add_rates(res, mode)
        report['train'][mode] = res
        _checkpoint(report, args)
        print(f'  best {res["best_s"]:.3f}s  peak {res["peak_mem_mib"]} MiB  '
              f'load {res["load"]:.1f}', flush=True)
        del model, fn
        gc.collect()

    # ---- inference
    refine = mcfg.get('refine_head') is not None
    jobs = []
    for mode in args.infer_modes:
        jobs.append((f'{mode}', model_cfg(cfg), mode))
    if refine:
        for s in args.steps:
            jobs.append((f'fast_S{s}', model_cfg(cfg, steps=s), 'fast'))
    if not args.no_baseline:
        jobs.append(('mtl_baseline_fp32', model_cfg(cfg, baseline=True), 'fp32'))
        jobs.append(('mtl_baseline_fast', model_cfg(cfg, baseline=True), 'fast'))
    if args.compile:
        jobs.append(('compile', model_cfg(cfg), 'compile'))
    ib = args.infer_batch_size or args.batch_size
    inputs0, samples = fake_batch(tasks, ib, args.shape, args.setting, device)
    report['infer_batch_size'] = ib
    # ---- accuracy of the fast mode (same weights, same noise)
    if 'fast' in train_modes or 'fast' in args.infer_modes:
        report['fast_accuracy'] = fast_accuracy(mcfg, inputs0, samples, device,
                                                use_fast_dtype)
    for name, mc, mode in jobs:
        if mode == 'loop' and mc.get('refine_head') is None:
            continue
        print(f'[infer] {name} ...', flush=True)
        if mode in ('fast', 'compile') and args.inference_chunk and \
                mc.get('refine_head') is not None:
            mc = copy.deepcopy(mc)
            mc['refine_head']['inference_chunk'] = args.inference_chunk
        model = build_model(mc, device)
        model, inputs = prepare(model, inputs0, mode, True, mode == 'compile',
                                args.compile_backend)
        fn = infer_fn(model, inputs, samples, mode, ref, dtype_of(mode), device)
        res = measure(fn, device, args.warmup, args.repeats,
                      count_flops=mode != 'compile')
        _flops_of_fast(res, mode, report['infer'])
        res['per_image_s'] = res['best_s'] / ib
        res['params'] = sum(p.numel() for p in model.parameters())
        if name in ('loop', 'fp32'):  # the config's model, BN not folded
            report.setdefault('params', res['params'])
        if mc.get('refine_head') is not None:
            res['steps'] = model.refine_head.num_inference_steps
        add_rates(res, mode)
        report['infer'][name] = res
        _checkpoint(report, args)
        print(f'  per image {res["per_image_s"]:.3f}s  peak '
              f'{res["peak_mem_mib"]} MiB  load {res["load"]:.1f}', flush=True)
        del model, fn
        gc.collect()

    _add_speedups(report)
    report['machine']['load_at_end'] = os.getloadavg()
    return report


def _flops_of_fast(res: dict, mode: str, part: dict) -> None:
    """The compiled mode computes what the fast mode does: its FLOPs are the
    fast mode's (counting them through torch.compile would trace and compile
    the graphs once more, under the counter)."""
    if mode == 'compile' and part.get('fast', {}).get('flops'):
        res['flops'] = part['fast']['flops']
        res['flops_by_op'] = part['fast']['flops_by_op']
        res['flops_from'] = 'fast'


def _add_speedups(report: dict) -> None:
    for part in ('train', 'infer'):
        loop = report[part].get('loop')
        if loop:
            for res in report[part].values():
                res['speedup_vs_loop'] = loop['best_s'] / res['best_s']
                if res.get('peak_mem_mib') is not None and \
                        loop.get('peak_mem_mib'):
                    res['mem_vs_loop'] = res['peak_mem_mib'] / loop['peak_mem_mib']


def _checkpoint(report: dict, args) -> None:
    """Write what is measured so far (a long run that is cut off keeps it)."""
    if not args.out_json:
        return
    partial = copy.deepcopy(report)
    _add_speedups(partial)
    partial['partial'] = True
    os.makedirs(osp.dirname(osp.abspath(args.out_json)), exist_ok=True)
    with open(args.out_json, 'w') as f:
        json.dump(partial, f, indent=1)


def fast_accuracy(mcfg, inputs, samples, device, dtype_name) -> dict:
    """The fast mode's loss and logits against fp32 (same weights and noise)."""
    model = build_model(mcfg, device)
    out = {}
    with torch.no_grad():
        model.train()
        with _frozen_noise_counter(model):
            l32 = float(_sum_losses(model.loss(inputs, samples)))
        fast_model, fast_in = prepare(copy.deepcopy(model), inputs, 'fast', False,
                                      False)
        fast_model.train()
        with _frozen_noise_counter(fast_model), _autocast(device, dtype_name):
            lf = float(_sum_losses(fast_model.loss(fast_in, samples)))
        out['train_loss_fp32'] = l32
        out['train_loss_fast'] = lf
        out['train_loss_rel_diff'] = abs(lf - l32) / max(abs(l32), 1e-12)
        model.eval()
        p32 = model._predict_logits(inputs, samples)
        fast_model, fast_in = prepare(model, inputs, 'fast', True, False)
        with _autocast(device, dtype_name, cache=False):
            pf = fast_model._predict_logits(fast_in, samples)
        per_task = {}
        for t, a in p32.items():
            b = pf[t].float()
            rel = float((a - b).norm() / a.norm().clamp_min(1e-12))
            entry = dict(rel_l2=rel)
            if a.shape[1] > 1:
                entry['argmax_agreement'] = float(
                    (a.argmax(1) == b.argmax(1)).float().mean())
            per_task[t] = entry
        out['infer_logits'] = per_task
    return out


# ---------------------------------------------------------------- markdown
def _fmt(x, spec='.3f', none='-'):
    return none if x is None else format(x, spec)


def to_markdown(r: dict) -> str:
    m = r['machine']
    lines = [
        f'Config `{r["config"]}`, batch {r["batch_size"]}, '
        f'{r["shape"][0]}x{r["shape"][1]}, {r["setting"]} training batch, '
        f'inference batch {r.get("infer_batch_size", r["batch_size"])}; '
        f'{m["device"]}, {m["threads"]} threads, torch {m["torch"]}; '
        + (f'fast inference in chunks of {r["inference_chunk"]} pairs; '
           if r.get('inference_chunk') else '') +
        f'{r["date"]}; load average {m["load_at_start"][0]:.1f} at the start'
        + (f', {m["load_at_end"][0]:.1f} at the end' if 'load_at_end' in m
           else '') + '. Parameters: '
        f'{r.get("params", 0) / 1e6:.1f}M. Fast dtype: {r["fast_dtype"]}. '
        '% of peak (MFU): counted FLOPs / best time / the dense peak of the '
        f'mode\'s dtype (fp32 modes: {r.get("fp32_peak_basis", "float32")}).'
        + (' **Partial: the run was cut off; the modes below are those '
           'measured.**' if r.get('partial') else ''),
        '',
        f'Command: `{r["command"]}`',
        '',
        '| part | mode | best (s) | median (s) | per image (s) | speed-up vs loop | '
        'peak mem (MiB) | mem vs loop | GMACs | achieved GFLOP/s | % of peak |',
        '|---|---|---|---|---|---|---|---|---|---|---|',
    ]
    for part in ('train', 'infer'):
        for mode, res in r[part].items():
            per_img = res.get('per_image_s', res['best_s'] / r['batch_size'])
            ratio = res.get('peak_ratio')
            lines.append(
                f'| {"training step" if part == "train" else "inference"} | '
                f'{mode} | {_fmt(res["best_s"])} | {_fmt(res["median_s"])} | '
                f'{_fmt(per_img)} | {_fmt(res.get("speedup_vs_loop"), ".2f")} | '
                f'{_fmt(res.get("peak_mem_mib"), ".0f")} | '
                f'{_fmt(res.get("mem_vs_loop"), ".2f")} | '
                f'{_fmt(res.get("gmacs"), ".1f")} | '
                f'{_fmt((res.get("achieved_flops") or 0) / 1e9 or None, ".1f")} | '
                f'{_fmt(ratio * 100 if ratio else None, ".1f")} |')
    acc = r.get('fast_accuracy')
    if acc:
        lines += [
            '',
            f'Fast mode vs fp32 (same weights and noise): training loss '
            f'{acc["train_loss_fp32"]:.5f} vs {acc["train_loss_fast"]:.5f} '
            f'(relative difference {acc["train_loss_rel_diff"]:.2e}); inference '
            'logits: ' + ', '.join(
                f'{t} rel. L2 {e["rel_l2"]:.3f}' +
                (f' argmax agreement {e["argmax_agreement"] * 100:.1f}%'
                 if 'argmax_agreement' in e else '')
                for t, e in acc['infer_logits'].items()) + '.'
        ]
    return '\n'.join(lines) + '\n'


def main(argv=None):
    args = parse_args(argv)
    report = run_benchmark(args)
    md = to_markdown(report)
    print(md)
    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    from benchmark_tools import write_outputs
    write_outputs(args.out_json, report, args.out_md, md)
    return report


if __name__ == '__main__':
    main()
