"""tools/analysis_tools/benchmark.py at a tiny size: the batched model and the
per-sample reference loop do the same math (same FLOPs), the fast mode stays
accurate, the memory probe sees an allocation, and the report is complete."""
import json

import pytest
import torch


@pytest.fixture(scope='module')
def tiny_report(bench_mod, repo, tmp_path_factory):
    out = tmp_path_factory.mktemp('bench')
    cfg = repo / 'configs' / 'diffusionmtl' / \
        'demo_diffusionmtl-feature_synthetic_one-label.py'
    report = bench_mod.main([
        str(cfg), '--batch-size', '2', '--setting', 'full', '--shape', '32',
        '32', '--steps', '1', '3', '--infer-modes', 'loop', 'fp32', '--warmup', '0', '--repeats', '1', '--threads', '1',
        '--inference-chunk', '2',
        '--out-json', str(out / 'r.json'), '--out-md', str(out / 'r.md'),
        '--cfg-options', 'model.channels=16', 'model.refine_head.num_heads=2',
        'model.backbone.stem_channels=8', 'model.backbone.base_channels=8',
        'model.neck.in_channels=[8,16,32,64]'
    ])
    return report, out


def test_loop_and_batched_do_the_same_math(tiny_report):
    report, _ = tiny_report
    train, infer = report['train'], report['infer']
    assert set(train) == {'loop', 'fp32', 'fast'}
    # every pair labelled: the loop and the batched step do the same
    # conv/matmul FLOPs (in a partial batch, a task absent from the whole batch
    # still costs the batched step the backward of its zero-weighted initial
    # loss, which the loop skips)
    # The convolutions match exactly; the matmuls differ only by the time
    # embedding, which the loop recomputes for every pair.
    for part in (train, infer):
        conv = {k: v for k, v in part['fp32']['flops_by_op'].items()
                if 'convolution' in k}
        assert conv and conv == {k: v for k, v in
                                 part['loop']['flops_by_op'].items()
                                 if 'convolution' in k}
        assert part['fp32']['flops'] <= part['loop']['flops']
    assert train['loop']['speedup_vs_loop'] == pytest.approx(1.0)
    # more denoising steps cost more; the MTL baseline has no denoiser
    assert infer['fast_S1']['flops'] < infer['fast_S3']['flops']
    assert infer['fast_S3']['steps'] == 3
    assert infer['mtl_baseline_fp32']['flops'] < infer['fast_S1']['flops']
    assert infer['mtl_baseline_fp32']['params'] < report['params']


def test_fast_mode_accuracy(tiny_report):
    acc = tiny_report[0]['fast_accuracy']
    assert acc['train_loss_rel_diff'] < 0.05
    for task, entry in acc['infer_logits'].items():
        assert entry['rel_l2'] < 0.1, task


def test_report_files(tiny_report):
    report, out = tiny_report
    saved = json.loads((out / 'r.json').read_text())
    assert saved['batch_size'] == 2 and saved['shape'] == [32, 32]
    assert saved['params'] == report['params'] > 0
    md = (out / 'r.md').read_text()
    assert '| training step | loop |' in md and '| inference | fast_S3 |' in md
    assert 'Command: `python tools/analysis_tools/benchmark.py' in md
    assert 'fast inference in chunks of 2 pairs' in md


def test_peak_memory_probe_sees_an_allocation(bench_mod):
    bench_mod._disable_dynamic_mmap_threshold()
    with bench_mod.PeakMemory(torch.device('cpu')) as mem:
        x = torch.ones(16 * 2**20)  # 64 MiB, touched
        del x
    if mem.peak_mib is None:
        pytest.skip('no /proc/self/clear_refs here')
    assert 60 <= mem.peak_mib < 200


def test_cpu_peak_flops(bench_mod):
    info = dict(mhz=2000.0, avx512f=True, bf16=True, amx_bf16=True)
    assert bench_mod.cpu_peak_flops(info, 2, 'float32') == 2 * 2e9 * 64
    assert bench_mod.cpu_peak_flops(info, 1, 'bfloat16') == 2e9 * 1024
    info = dict(mhz=1000.0, avx512f=False, bf16=False, amx_bf16=False)
    assert bench_mod.cpu_peak_flops(info, 1, 'bfloat16') == 1e9 * 32
    assert bench_mod.cpu_peak_flops(dict(mhz=None), 1, 'float32') is None
    assert bench_mod.gpu_peak_flops('NVIDIA H100 80GB HBM3', 'bfloat16') == 989.4e12
    assert bench_mod.gpu_peak_flops('NVIDIA H100 80GB HBM3', 'tfloat32') == 494.7e12
    assert bench_mod.gpu_peak_flops('NVIDIA H100 PCIe', 'bfloat16') == 756e12
    assert bench_mod.gpu_peak_flops('Tesla V100-SXM2-16GB', 'tfloat32') is None


def test_rejects_config_without_tasks(bench_mod, repo):
    from mmengine.config import Config
    cfg = Config.fromfile(str(repo / 'configs' / '_base_' / 'models' /
                              'diffusionmtl_r18.py'))
    with pytest.raises(ValueError, match='model.tasks is empty'):
        bench_mod.model_cfg(cfg)
