"""The fast mode: one switch for training, testing, the demo and the inferencer,
chosen from what the machine has.

Entry points (same semantics everywhere):

* ``tools/train.py --amp``: mixed-precision training;
* ``tools/test.py --fast`` and ``demo/image_demo.py --fast``: fast inference;
* ``MultiTaskInferencer(..., fast=True)``;
* the config key ``fast = dict(enabled=True, ...)`` turns it on for all of them
  (a flag only ever turns it on; ``fast=False`` in the inferencer turns it off).

What "fast" is, by machine (:func:`choose_plan`):

* GPU: autocast to bfloat16 where ``torch.cuda.is_bf16_supported()``, else float16
  (training: MMEngine's ``AmpOptimWrapper`` with ``loss_scale='dynamic'``);
* CPU with native bf16 (``avx512_bf16`` or ``amx_bf16`` among the flags of
  ``/proc/cpuinfo``; ``MMDMTL_CPU_BF16=1``/``0`` overrides): bfloat16 autocast (training: :class:`CPUAutocastOptimWrapper`,
  since MMEngine's ``AmpOptimWrapper`` refuses CPU);
* CPU without native bf16: float32, with one logged line saying why (bf16 would be
  emulated there and is slower than fp32).

Inference in addition (:func:`prepare_model_for_inference`): ``model.eval()``,
Conv+BN folding (``mmcv.cnn.fuse_conv_bn``) and ``channels_last`` weights and
inputs; the autocast runs without its weight cache (each weight is used once per
chain step, the cache would hold a low-precision copy of all of them), and the
denoiser's ``inference_chunk`` (bounded memory) is kept as configured. The network
part runs under autocast, the post-processing (resize, argmax, metrics) in fp32.

Config key (every entry optional)::

    fast = dict(
        enabled=False,        # what --amp / --fast / fast=True set
        dtype='auto',         # 'auto' | 'bfloat16' | 'float16' | 'float32'
        channels_last=True,   # inference only
        fuse_conv_bn=True,    # inference only
    )

``dtype='bfloat16'`` on a CPU without native bf16 is honoured (emulated, slow; a
warning says so); ``'float16'`` is GPU-only.
"""
import functools
import os
import platform
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Optional, Union

import torch
from mmengine.logging import print_log
from mmengine.optim import OptimWrapper

from mmdmtl.registry import OPTIM_WRAPPERS

#: /proc/cpuinfo flags that mean bf16 arithmetic in hardware.
NATIVE_BF16_FLAGS = ('avx512_bf16', 'amx_bf16')
#: Environment override of the detection ('1': treat the CPU as bf16-native,
#: '0': as not), for tests and for machines whose /proc/cpuinfo hides flags.
BF16_ENV = 'MMDMTL_CPU_BF16'
FAST_DEFAULTS = dict(enabled=False, dtype='auto', channels_last=True,
                     fuse_conv_bn=True)
_DTYPES = ('auto', 'bfloat16', 'float16', 'float32')


# ------------------------------------------------------------------ machine
def cpu_info() -> dict:
    """Model name, logical CPUs, clock and the bf16-relevant flags of this CPU."""
    info = dict(model=platform.processor() or platform.machine(),
                logical_cpus=os.cpu_count())
    flags, mhz = set(), None
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    info['model'] = line.split(':', 1)[1].strip()
                elif line.startswith('flags'):
                    flags = set(line.split(':', 1)[1].split())
                elif line.startswith('cpu MHz') and mhz is None:
                    mhz = float(line.split(':', 1)[1])
    except OSError:
        pass
    info['avx512f'] = 'avx512f' in flags
    info['bf16'] = bool(set(NATIVE_BF16_FLAGS) & flags)
    forced = os.environ.get(BF16_ENV, '').strip()
    if forced in ('0', '1'):
        info['bf16'] = forced == '1'
        info['bf16_forced'] = True
    info['amx_bf16'] = 'amx_bf16' in flags
    info['bf16_flags'] = sorted(f for f in flags
                                if 'bf16' in f or f.startswith(('avx512f', 'amx')))
    info['mhz'] = mhz
    return info


def cpu_has_native_bf16() -> bool:
    return bool(cpu_info()['bf16'])


# --------------------------------------------------------------------- plan
@dataclass(frozen=True)
class FastPlan:
    """What the fast mode does on one device."""
    device_type: str  # 'cuda' or 'cpu'
    dtype: Optional[torch.dtype]  # autocast dtype; None: float32
    reason: str  # one line: why this dtype
    channels_last: bool = True
    fuse_conv_bn: bool = True

    @property
    def autocast(self) -> bool:
        return self.dtype is not None

    @property
    def dtype_name(self) -> str:
        return str(self.dtype).replace('torch.', '') if self.dtype else 'float32'

    def describe(self, inference: bool) -> str:
        parts = [f'{self.dtype_name} autocast' if self.autocast else 'float32']
        if inference:
            parts += (['Conv+BN folded'] if self.fuse_conv_bn else []) + \
                (['channels_last'] if self.channels_last else [])
        return f'fast mode ({self.device_type}): {", ".join(parts)} - {self.reason}'


def fast_options(cfg=None, enable: Optional[bool] = None) -> dict:
    """The config's ``fast`` key merged over the defaults; ``enable`` (a flag)
    overrides ``enabled`` when it is not None. ``fast=True`` means
    ``dict(enabled=True)``."""
    raw = cfg.get('fast', None) if cfg is not None else None
    if raw is None:
        raw = {}
    elif isinstance(raw, bool):
        raw = dict(enabled=raw)
    elif not isinstance(raw, dict):
        raise TypeError(f'config key fast: expected a dict or a bool, got '
                        f'{type(raw).__name__}')
    unknown = set(raw) - set(FAST_DEFAULTS)
    if unknown:
        raise KeyError(f'config key fast: unknown option(s) {sorted(unknown)}; '
                       f'known: {sorted(FAST_DEFAULTS)}')
    opts = dict(FAST_DEFAULTS, **dict(raw))
    if enable is not None:
        opts['enabled'] = bool(enable)
    if opts['dtype'] not in _DTYPES:
        raise ValueError(f'config key fast.dtype: {opts["dtype"]!r}, expected one '
                         f'of {_DTYPES}')
    return opts


def choose_plan(device: Union[str, torch.device, None] = None,
                dtype: str = 'auto',
                channels_last: bool = True,
                fuse_conv_bn: bool = True,
                **_ignored) -> FastPlan:
    """The fast mode for ``device`` (default: a GPU if there is one)."""
    if device is None:
        device = 'cuda' if torch.cuda.is_available() else 'cpu'
    dev = torch.device(device).type
    if dtype not in _DTYPES:
        raise ValueError(f'fast mode dtype {dtype!r}, expected one of {_DTYPES}')
    kw = dict(channels_last=channels_last, fuse_conv_bn=fuse_conv_bn)
    if dtype == 'float32':
        return FastPlan(dev, None, 'dtype float32 asked for', **kw)
    if dev == 'cuda':
        if dtype == 'auto':
            bf16 = torch.cuda.is_bf16_supported()
            return FastPlan(dev, torch.bfloat16 if bf16 else torch.float16,
                            'this GPU supports bf16' if bf16 else
                            'this GPU has no bf16: float16 with loss scaling', **kw)
        return FastPlan(dev, getattr(torch, dtype), f'dtype {dtype} asked for', **kw)
    if dev != 'cpu':
        return FastPlan(dev, None, f'no fast dtype known for device {dev}', **kw)
    if dtype == 'float16':
        raise ValueError('fast mode dtype float16 is for GPUs; on CPU use '
                         "'bfloat16' or 'auto'")
    info = cpu_info()
    flags = '/'.join(NATIVE_BF16_FLAGS)
    if info['bf16']:
        return FastPlan(dev, torch.bfloat16,
                        f'CPU {info["model"]} has native bf16 ({flags})', **kw)
    if dtype == 'bfloat16':
        return FastPlan(dev, torch.bfloat16,
                        f'dtype bfloat16 asked for, but CPU {info["model"]} has no '
                        f'{flags}: bf16 is emulated, expect it slower than fp32',
                        **kw)
    return FastPlan(dev, None,
                    f'CPU {info["model"]} has no {flags}: bf16 would be emulated '
                    '(slower than fp32), so float32 is kept', **kw)


# ----------------------------------------------------------------- training
@OPTIM_WRAPPERS.register_module()
class CPUAutocastOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose forward runs under ``torch.autocast('cpu')``.

    MMEngine's ``AmpOptimWrapper`` refuses CPU. bf16 keeps fp32's exponent range,
    so no loss scaling is needed; the parameters, gradients and optimizer state stay
    fp32.
    """

    def __init__(self, dtype: str = 'bfloat16', **kwargs) -> None:
        if dtype not in ('bfloat16', 'float16'):
            raise ValueError(f'CPUAutocastOptimWrapper: dtype {dtype!r}, expected '
                             "'bfloat16' (or 'float16')")
        super().__init__(**kwargs)
        self.cast_dtype = getattr(torch, dtype)

    @contextmanager
    def optim_context(self, model):
        with super().optim_context(model), torch.autocast(
                'cpu', dtype=self.cast_dtype):
            yield


_AMP_TYPES = ('AmpOptimWrapper', 'CPUAutocastOptimWrapper')


def apply_train_precision(cfg, enable: Optional[bool] = None,
                          device: Optional[str] = None) -> Optional[FastPlan]:
    """Set ``cfg.optim_wrapper`` for the fast mode (``--amp`` is ``enable=True``).

    Returns the plan, or None when the fast mode is off; tools/train.py logs
    ``plan.describe()`` (one line: the choice, and on a CPU without native bf16
    why it stays fp32) in the run's log.
    """
    opts = fast_options(cfg, enable)
    if not opts['enabled']:
        return None
    plan = choose_plan(device, opts['dtype'])
    ow = cfg.optim_wrapper
    wrapper = str(ow.get('type', 'OptimWrapper')).split('.')[-1]
    if wrapper in _AMP_TYPES:
        print_log(f'--amp: optim_wrapper.type is already {wrapper}; kept',
                  logger='current')
        return plan
    if wrapper != 'OptimWrapper':
        raise SystemExit(f'--amp: optim_wrapper.type is {wrapper!r}; only '
                         "'OptimWrapper' can be switched to mixed precision")
    if plan.device_type == 'cuda' and plan.autocast:
        ow.type = 'AmpOptimWrapper'
        ow.dtype = plan.dtype_name
        ow.setdefault('loss_scale', 'dynamic')
    elif plan.device_type == 'cpu' and plan.autocast:
        ow.type = 'CPUAutocastOptimWrapper'
        ow.dtype = plan.dtype_name
    return plan


# ---------------------------------------------------------------- inference
def _inputs_channels_last(module, args, kwargs):
    """Forward pre-hook: the image batch in channels_last memory format."""
    def cl(x):
        return x.contiguous(memory_format=torch.channels_last) \
            if isinstance(x, torch.Tensor) and x.dim() == 4 else x
    if 'inputs' in kwargs:
        kwargs = dict(kwargs, inputs=cl(kwargs['inputs']))
    if args:
        args = (cl(args[0]), ) + tuple(args[1:])
    return args, kwargs


def inference_autocast(plan: Optional[FastPlan]):
    """The plan's autocast context for inference (no weight cache), or a no-op."""
    if plan is None or not plan.autocast:
        return nullcontext()
    return torch.autocast(plan.device_type, dtype=plan.dtype, cache_enabled=False)


def _autocast_logits(fn, plan: FastPlan):
    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        with inference_autocast(plan):
            out = fn(*args, **kwargs)
        if isinstance(out, dict):
            out = {k: v.float() if isinstance(v, torch.Tensor) and
                   v.is_floating_point() else v for k, v in out.items()}
        return out
    wrapped._fast_mode_original = fn
    return wrapped


def prepare_model_for_inference(model: torch.nn.Module,
                                plan: FastPlan) -> torch.nn.Module:
    """Turn ``model`` (unwrapped) into its fast inference form, in place.

    eval mode; Conv+BN folded; channels_last weights, and a forward pre-hook that
    puts the input batch in channels_last; the network part (``_predict_logits``
    of :class:`MultiTaskEncoderDecoder`) under the plan's autocast with its logits
    returned as float32, so post-processing and metrics see fp32. A model without
    ``_predict_logits`` gets no autocast (the returned model says so in
    ``model._fast_plan_note``). Calling it twice is a no-op.
    """
    if getattr(model, '_fast_plan', None) is not None:
        return model
    model.eval()
    if plan.fuse_conv_bn:
        from mmcv.cnn import fuse_conv_bn
        fuse_conv_bn(model)
    if plan.channels_last:
        model.to(memory_format=torch.channels_last)
        model.register_forward_pre_hook(_inputs_channels_last, with_kwargs=True)
    note = ''
    if plan.autocast:
        if hasattr(model, '_predict_logits'):
            model._predict_logits = _autocast_logits(model._predict_logits, plan)
        else:
            note = (f'{type(model).__name__} has no _predict_logits: no autocast')
    model._fast_plan = plan
    model._fast_plan_note = note
    return model


def enable_fast_inference(model: torch.nn.Module, **opts) -> FastPlan:
    """Choose the plan for ``model``'s device (``opts``: dtype, channels_last,
    fuse_conv_bn) and put the model in its fast inference form; the plan."""
    plan = choose_plan(model_device(model), **opts)
    prepare_model_for_inference(model, plan)
    return plan


def model_device(model: torch.nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    return torch.device('cpu')


def add_fast_inference_hook(cfg, enable: Optional[bool] = None) -> bool:
    """``tools/test.py``: add ``FastInferenceHook`` (engine/hooks) when the fast mode
    is on (``--fast`` or ``fast.enabled`` in the config). Returns whether it is on."""
    opts = fast_options(cfg, enable)
    if not opts['enabled']:
        return False
    hooks = [h for h in (cfg.get('custom_hooks', None) or [])
             if not (isinstance(h, dict) and str(h.get('type', '')).split('.')[-1]
                     == 'FastInferenceHook')]
    hooks.append(dict(type='mmdmtl.FastInferenceHook', dtype=opts['dtype'],
                      channels_last=opts['channels_last'],
                      fuse_conv_bn=opts['fuse_conv_bn']))
    cfg.custom_hooks = hooks
    return True
