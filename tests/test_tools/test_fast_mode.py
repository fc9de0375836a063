"""The fast mode (mmdmtl/engine/fast_mode.py) in its four entry points: the dtype
choice from the machine (detection monkeypatched both ways), the inference
transforms against fp32 (tolerances below), tools/train.py --amp on CPU,
tools/test.py --fast, demo/image_demo.py --fast and MultiTaskInferencer(fast=True).

Tolerances (tiny random model, 32x32, BN statistics randomised so that the
folding changes the weights):

* fp32 fast path (Conv+BN folded + channels_last): logits within 1e-4 relative L2
  of the plain model (only rounding differs);
* bf16 autocast path (emulated on a CPU without native bf16, the same math):
  logits within 10% relative L2 per task (measured: 0.6% to 1.3%, edge 7.4%:
  the random model's edge logits are all near 0, so the relative error of a
  small norm), class maps agree on >= 90% of pixels (measured: 100%).
"""
import copy
import importlib.util
import json

import pytest
import torch
from mmengine.config import Config

from mmdmtl.engine import fast_mode

FP32_TOL = 1e-4
BF16_TOL = 0.1
BF16_ARGMAX = 0.90


def _cpu(native: bool):
    return lambda: dict(model='Test CPU', logical_cpus=2, avx512f=native,
                        bf16=native, amx_bf16=native, bf16_flags=[], mhz=None)


@pytest.fixture
def native_bf16(monkeypatch):
    monkeypatch.setattr(fast_mode, 'cpu_info', _cpu(True))


@pytest.fixture
def no_native_bf16(monkeypatch):
    monkeypatch.setattr(fast_mode, 'cpu_info', _cpu(False))


# ------------------------------------------------------------------- choice
def test_plan_cpu_with_native_bf16(native_bf16):
    plan = fast_mode.choose_plan('cpu')
    assert plan.dtype is torch.bfloat16 and plan.autocast
    assert 'native bf16' in plan.reason


def test_plan_cpu_without_native_bf16_stays_fp32(no_native_bf16):
    plan = fast_mode.choose_plan('cpu')
    assert plan.dtype is None and not plan.autocast
    line = plan.describe(inference=True)
    assert '\n' not in line
    assert 'avx512_bf16/amx_bf16' in line and 'float32 is kept' in line
    assert 'Conv+BN folded' in line and 'channels_last' in line
    # asked for explicitly, bf16 is honoured and called emulated
    forced = fast_mode.choose_plan('cpu', 'bfloat16')
    assert forced.dtype is torch.bfloat16 and 'emulated' in forced.reason
    assert fast_mode.choose_plan('cpu', 'float32').dtype is None
    with pytest.raises(ValueError, match='float16 is for GPUs'):
        fast_mode.choose_plan('cpu', 'float16')


def test_plan_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda *a, **k: True)
    assert fast_mode.choose_plan('cuda').dtype is torch.bfloat16
    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda *a, **k: False)
    assert fast_mode.choose_plan('cuda:0').dtype is torch.float16


def test_fast_options():
    assert fast_mode.fast_options(Config(dict()))['enabled'] is False
    assert fast_mode.fast_options(Config(dict(fast=True)))['enabled'] is True
    opts = fast_mode.fast_options(Config(dict(fast=dict(dtype='float32'))), True)
    assert opts['enabled'] and opts['dtype'] == 'float32'
    assert fast_mode.fast_options(Config(dict(fast=True)), False)['enabled'] is False
    with pytest.raises(KeyError, match='unknown option'):
        fast_mode.fast_options(Config(dict(fast=dict(speed=3))))
    with pytest.raises(ValueError, match='fast.dtype'):
        fast_mode.fast_options(Config(dict(fast=dict(dtype='int8'))))


def _optim_cfg(**ow):
    return Config(dict(optim_wrapper=dict(
        dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-3)), **ow)))


def test_train_precision_by_machine(monkeypatch):
    monkeypatch.setattr(fast_mode, 'cpu_info', _cpu(False))
    cfg = _optim_cfg()
    assert fast_mode.apply_train_precision(cfg, None) is None  # off by default
    plan = fast_mode.apply_train_precision(cfg, True, device='cpu')
    assert plan.dtype is None and cfg.optim_wrapper.type == 'OptimWrapper'
    assert 'float32 is kept' in plan.describe(inference=False)

    monkeypatch.setattr(fast_mode, 'cpu_info', _cpu(True))
    cfg = _optim_cfg()
    fast_mode.apply_train_precision(cfg, True, device='cpu')
    assert cfg.optim_wrapper.type == 'CPUAutocastOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'bfloat16'

    monkeypatch.setattr(torch.cuda, 'is_bf16_supported', lambda *a, **k: False)
    cfg = _optim_cfg()
    fast_mode.apply_train_precision(cfg, True, device='cuda')
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.dtype == 'float16'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'

    cfg = Config(dict(optim_wrapper=dict(type='ApexOptimWrapper'), fast=True))
    with pytest.raises(SystemExit, match='ApexOptimWrapper'):
        fast_mode.apply_train_precision(cfg, None, device='cpu')


def test_cpu_autocast_optim_wrapper_runs_bf16():
    from mmdmtl.registry import OPTIM_WRAPPERS
    model = torch.nn.Linear(4, 2)
    wrapper = OPTIM_WRAPPERS.build(dict(
        type='CPUAutocastOptimWrapper',
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1)))
    with wrapper.optim_context(model):
        y = model(torch.randn(3, 4))
    assert y.dtype is torch.bfloat16
    before = model.weight.detach().clone()
    wrapper.update_params(y.float().square().mean())
    assert model.weight.dtype is torch.float32
    assert not torch.equal(before, model.weight)


# ---------------------------------------------------------------- inference
REPO = __import__('pathlib').Path(__file__).resolve().parents[2]
DEMO = REPO / 'configs' / 'diffusionmtl' / \
    'demo_diffusionmtl-feature_synthetic_one-label.py'


def _tiny_model():
    """The demo network at width 16, random weights, BN with random statistics
    and affine parameters (so that folding them into the convolutions matters)."""
    from mmdmtl.registry import MODELS
    from mmdmtl.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(str(DEMO))
    mcfg = cfg.model.to_dict()
    mcfg.update(channels=16)
    mcfg['refine_head']['num_heads'] = 2
    torch.manual_seed(0)
    model = MODELS.build(mcfg)
    g = torch.Generator().manual_seed(1)
    n_bn = 0
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            m.running_mean.copy_(0.2 * torch.randn(n, generator=g))
            m.running_var.copy_(0.5 + torch.rand(n, generator=g))
            m.weight.data.copy_(1 + 0.2 * torch.randn(n, generator=g))
            m.bias.data.copy_(0.1 * torch.randn(n, generator=g))
            n_bn += 1
    assert n_bn > 0
    return model.eval()


def _samples(n, size=32):
    from mmdmtl.structures import MultiTaskDataSample
    return [MultiTaskDataSample(metainfo=dict(
        img_shape=(size, size), ori_shape=(size, size), sample_idx=i))
        for i in range(n)]


def _rel(a, b):
    return float((a.float() - b.float()).norm() / a.float().norm().clamp_min(1e-12))


@pytest.fixture(scope='module')
def model_and_ref():
    model = _tiny_model()
    inputs = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ref = model._predict_logits(inputs, _samples(2))
    return model, inputs, ref


def test_fast_inference_fp32_path_matches(model_and_ref, no_native_bf16):
    model, inputs, ref = model_and_ref
    plan = fast_mode.choose_plan('cpu')
    assert not plan.autocast
    fast = fast_mode.prepare_model_for_inference(copy.deepcopy(model), plan)
    n_bn = sum(isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
               for m in fast.modules())
    assert n_bn < sum(isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
                      for m in model.modules())  # folded
    conv = next(m for m in fast.modules() if isinstance(m, torch.nn.Conv2d)
                and m.kernel_size == (3, 3))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        out = fast._predict_logits(inputs, _samples(2))
        samples = fast.predict(inputs, _samples(2))
    for task, a in ref.items():
        assert out[task].dtype is torch.float32
        assert _rel(a, out[task]) < FP32_TOL, task
    from mmdmtl.structures import get_task
    pred = getattr(samples[0], get_task('semseg').pred_field)
    assert tuple(pred.data.shape[-2:]) == (32, 32)


def test_fast_inference_bf16_path_within_tolerance(model_and_ref, native_bf16):
    model, inputs, ref = model_and_ref
    plan = fast_mode.choose_plan('cpu')
    assert plan.dtype is torch.bfloat16
    fast = fast_mode.prepare_model_for_inference(copy.deepcopy(model), plan)
    with torch.no_grad():
        out = fast._predict_logits(inputs, _samples(2))
        samples = fast.predict(inputs, _samples(2))
    for task, a in ref.items():
        assert out[task].dtype is torch.float32  # post-processing sees fp32
        assert _rel(a, out[task]) < BF16_TOL, task
        if a.shape[1] > 1:
            agree = (a.argmax(1) == out[task].argmax(1)).float().mean()
            assert agree >= BF16_ARGMAX, task
    for name, value in samples[0].items():
        if hasattr(value, 'data') and value.data.is_floating_point():
            assert value.data.dtype is torch.float32, name


def test_fast_inference_keeps_inference_chunk(no_native_bf16):
    model = _tiny_model()
    model.refine_head.inference_chunk = 1
    inputs = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        ref = model._predict_logits(inputs, _samples(2))
        fast = fast_mode.prepare_model_for_inference(
            model, fast_mode.choose_plan('cpu'))
        out = fast._predict_logits(inputs, _samples(2))
    assert fast.refine_head.inference_chunk == 1
    for task, a in ref.items():
        assert _rel(a, out[task]) < FP32_TOL, task


# ------------------------------------------------------------ entry points
def _load_tool(rel, name):
    spec = importlib.util.spec_from_file_location(name, REPO / rel)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope='module')
def tiny_tools(tmp_path_factory, tiny_data):
    conf = _load_tool('tests/test_tools/conftest.py', 'mmdmtl_fast_mode_conftest')
    return conf, tiny_data


def _train(conf, data, tmp, native, amp=True):
    cfg = conf.write_tiny_config(tmp / 'tiny_fast.py', data, iters=2)
    work = tmp / 'work'
    args = [conf.sys.executable, 'tools/train.py', str(cfg), '--work-dir',
            str(work)] + (['--amp'] if amp else [])
    proc = conf.run_tool(args, env_extra={fast_mode.BF16_ENV: '1' if native else '0'})
    log = (proc.stdout + proc.stderr)
    scalars = sorted(work.rglob('vis_data/scalars.json'))[-1]
    lines = [json.loads(x) for x in scalars.read_text().splitlines()]
    return cfg, work, log, [x for x in lines if 'loss' in x]


@pytest.fixture(scope='module')
def trained(tiny_tools, tmp_path_factory):
    """tools/train.py --amp, 2 iterations, CPU taken as bf16-native (the CPU
    autocast wrapper runs; emulated on a CPU without bf16)."""
    conf, data = tiny_tools
    return _train(conf, data, tmp_path_factory.mktemp('amp_native'), native=True)


def test_train_amp_cpu_native_bf16(trained):
    import math
    _, work, log, steps = trained
    assert 'training fast mode (cpu): bfloat16 autocast' in log
    assert [x['step'] for x in steps] == [1, 2]
    assert all(math.isfinite(x['loss']) for x in steps)
    dumped = Config.fromfile(str(next(work.glob('*.py'))))
    assert dumped.optim_wrapper.type == 'CPUAutocastOptimWrapper'
    assert (work / 'iter_2.pth').is_file()


def test_train_amp_cpu_without_native_bf16(tiny_tools, tmp_path):
    conf, data = tiny_tools
    _, work, log, steps = _train(conf, data, tmp_path, native=False)
    assert 'training fast mode (cpu): float32' in log
    assert 'float32 is kept' in log
    assert [x['step'] for x in steps] == [1, 2]
    dumped = Config.fromfile(str(next(work.glob('*.py'))))
    assert dumped.optim_wrapper.type == 'OptimWrapper'


def _test(conf, cfg, ckpt, out, fast, native=False):
    args = [conf.sys.executable, 'tools/test.py', str(cfg), str(ckpt),
            '--work-dir', str(out / 'work'), '--out', str(out / 'preds')]
    proc = conf.run_tool(args + (['--fast'] if fast else []),
                         env_extra={fast_mode.BF16_ENV: '1' if native else '0'})
    metrics = json.loads((out / 'preds' / 'metrics.json').read_text())
    return proc.stdout + proc.stderr, metrics


def test_test_fast_matches_fp32(trained, tiny_tools, tmp_path):
    import numpy as np
    conf, _ = tiny_tools
    cfg, work, _, _ = trained
    _, ref = _test(conf, cfg, work / 'iter_2.pth', tmp_path / 'fp32', fast=False)
    log, fast = _test(conf, cfg, work / 'iter_2.pth', tmp_path / 'fast', fast=True)
    assert 'fast mode (cpu): float32, Conv+BN folded, channels_last' in log
    assert 'float32 is kept' in log
    assert set(ref) == set(fast)
    for key, value in ref.items():
        assert fast[key] == pytest.approx(value, rel=1e-3, abs=1e-3), key
    # the saved predictions: depth within the fp32 tolerance
    a = np.load(sorted((tmp_path / 'fp32' / 'preds' / 'depth').glob('*.npy'))[0])
    b = np.load(sorted((tmp_path / 'fast' / 'preds' / 'depth').glob('*.npy'))[0])
    assert np.linalg.norm(a - b) / np.linalg.norm(a) < FP32_TOL


def test_inferencer_and_demo_fast(trained, tiny_tools, tmp_path, monkeypatch):
    import numpy as np
    from mmdmtl.apis import MultiTaskInferencer
    conf, data = tiny_tools
    cfg, work, _, _ = trained
    monkeypatch.setenv(fast_mode.BF16_ENV, '0')
    imgs = [str(p) for p in sorted((data / 'images').glob('val_*.png'))[:2]]
    assert len(imgs) == 2
    ckpt = str(work / 'iter_2.pth')
    plain = MultiTaskInferencer(str(cfg), ckpt, device='cpu')
    fast = MultiTaskInferencer(str(cfg), ckpt, device='cpu', fast=True)
    assert plain.fast_plan is None and fast.fast_plan is not None
    assert not fast.fast_plan.autocast  # this CPU "has no bf16"
    a, b = plain(imgs)['predictions'], fast(imgs)['predictions']
    for pa, pb in zip(a, b):
        for task in ('depth', 'normals', 'sal'):
            x, y = pa[task].astype(np.float64), pb[task].astype(np.float64)
            assert np.linalg.norm(x - y) / np.linalg.norm(x) < FP32_TOL, task
    # the config key turns it on; fast=False turns it off again
    on = Config.fromfile(str(cfg))
    on.fast = dict(enabled=True)
    assert MultiTaskInferencer(on, ckpt, device='cpu').fast_plan is not None
    assert MultiTaskInferencer(on, ckpt, device='cpu', fast=False).fast_plan is None
    # demo/image_demo.py --fast
    demo = _load_tool('demo/image_demo.py', 'mmdmtl_demo_fast')
    res = demo.main([imgs[0], str(cfg), ckpt, '--out-dir', str(tmp_path / 'demo'),
                     '--device', 'cpu', '--fast'])
    assert len(res['predictions']) == 1
    assert (tmp_path / 'demo' / 'vis').is_dir()
