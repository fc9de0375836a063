"""tools/benchmarks/partial_label_study.py: Delta_m/summary arithmetic and a tiny
end-to-end study (2 iterations, 32x32, three tasks)."""
import json
import math

import numpy as np
import pytest


def _run(setting, seed, variant, metrics, task=None):
    return dict(setting=setting, seed=seed, variant=variant, task=task,
                metrics=metrics)


def test_summary_delta_m_against_same_seed_stl(study_mod):
    args = study_mod.parse_args(['--settings', 'one_label', '--variants', 'stl',
                                 'mtl', '--tasks', 'semseg', 'depth'])
    runs = [
        _run('one_label', 0, 'stl', {'semseg/mIoU': 50.0}, 'semseg'),
        _run('one_label', 0, 'stl', {'depth/abs_err': 1.0}, 'depth'),
        _run('one_label', 1, 'stl', {'semseg/mIoU': 40.0}, 'semseg'),
        _run('one_label', 1, 'stl', {'depth/abs_err': 2.0}, 'depth'),
        # seed 0: +10% semseg, depth 10% worse -> 0; seed 1: +25%, +50% -> 37.5
        _run('one_label', 0, 'mtl', {'semseg/mIoU': 55.0, 'depth/abs_err': 1.1}),
        _run('one_label', 1, 'mtl', {'semseg/mIoU': 50.0, 'depth/abs_err': 1.0}),
    ]
    s = study_mod.summarise(runs, ['semseg', 'depth'], args)['one_label']
    mtl = s['mtl']['metrics']
    assert mtl['delta_m']['mean'] == pytest.approx(18.75)
    assert mtl['delta_m']['std'] == pytest.approx(18.75)
    assert mtl['semseg/mIoU']['mean'] == pytest.approx(52.5)
    assert mtl['depth/abs_err']['std'] == pytest.approx(0.05)
    stl = s['stl']['metrics']
    assert stl['delta_m']['mean'] == pytest.approx(0.0)
    assert stl['semseg/mIoU']['mean'] == pytest.approx(45.0)
    assert s['stl']['seeds'] == [0, 1]


def test_stl_reference_falls_back_to_other_seeds(study_mod):
    runs = [_run('one_label', 0, 'stl', {'semseg/mIoU': 50.0}, 'semseg'),
            _run('one_label', 1, 'stl', {'semseg/mIoU': 30.0}, 'semseg')]
    assert study_mod.stl_reference(runs, 'one_label', 0, ['semseg']) == \
        {'semseg/mIoU': 50.0}
    assert study_mod.stl_reference(runs, 'one_label', 5, ['semseg']) == \
        {'semseg/mIoU': 40.0}
    assert study_mod.stl_reference(runs, 'random_label', 0, ['semseg']) is None
    # a NaN metric gives no Delta_m rather than a wrong one
    assert study_mod.delta_m({'semseg/mIoU': math.nan}, {'semseg/mIoU': 50.0}) \
        is None


def test_variant_configs(study_mod):
    args = study_mod.parse_args([])
    tasks = dict(semseg=9, sal=2)
    mtl = study_mod.model_config('mtl', tasks, args)
    assert mtl['refine_head'] is None and mtl['conditioner'] is None
    assert mtl['neck']['in_channels'] == [16, 32, 64, 128]
    assert mtl['backbone']['init_cfg'] is None
    pred = study_mod.model_config('dmtl_prediction', tasks, args)
    assert pred['refine_head']['diffuse'] == 'prediction'
    assert pred['conditioner'] is not None
    assert study_mod.model_config('no_mtc', tasks, args)['conditioner'] is None
    nod = study_mod.model_config('no_diffusion', tasks, args)
    assert nod['refine_head']['use_noise'] is False
    assert nod['refine_head']['token_stride'] == 2


def test_tiny_study_end_to_end(study_mod, tmp_path):
    out = tmp_path / 'study'
    study_mod.main([
        '--out-dir', str(out), '--size', '32', '--num-train', '12',
        '--num-val', '4', '--iters', '2', '--batch-size', '4', '--channels', '8',
        '--base-channels', '8', '--num-heads', '2', '--token-stride', '1',
        '--tasks', 'semseg', 'sal', 'depth', '--variants', 'stl', 'mtl',
        'dmtl_feature', '--seeds', '0', '--settings', 'one_label',
        '--edge-thresholds', '3', '--quiet'
    ])
    runs = json.loads((out / 'runs.json').read_text())
    assert 'failures' not in runs['meta']
    kinds = [(r['variant'], r['task']) for r in runs['runs']]
    assert kinds == [('stl', 'semseg'), ('stl', 'sal'), ('stl', 'depth'),
                     ('mtl', None), ('dmtl_feature', None)]
    # one-label, 12 images over 3 tasks: each STL model sees its 4 images
    assert [r['num_train_images'] for r in runs['runs'][:3]] == [4, 4, 4]
    full = runs['runs'][3]['metrics']
    assert 0 <= full['semseg/mIoU'] <= 100 and full['depth/abs_err'] > 0
    summary = json.loads((out / 'study.json').read_text())['summary']
    row = summary['one_label']['dmtl_feature']['metrics']
    ref = study_mod.stl_reference(runs['runs'], 'one_label', 0,
                                  ['semseg', 'sal', 'depth'])
    dmtl = runs['runs'][4]['metrics']
    expect = (100 * (dmtl['semseg/mIoU'] - ref['semseg/mIoU']) /
              ref['semseg/mIoU'] + 100 * (dmtl['sal/maxF'] - ref['sal/maxF']) /
              ref['sal/maxF'] - 100 * (dmtl['depth/abs_err'] -
                                       ref['depth/abs_err']) /
              ref['depth/abs_err']) / 3
    assert row['delta_m']['mean'] == pytest.approx(expect)
    md = (out / 'study.md').read_text()
    assert '| DiffusionMTL, feature diffusion: final (refined) | 1 |' in md
    # every DiffusionMTL row also reports its own initial heads
    assert '| DiffusionMTL, feature diffusion: initial heads | 1 |' in md
    assert 'Budget per model: 2 iterations of batch 4' in md
    # --resume skips what is done (nothing to train: returns quickly)
    study_mod.main(['--out-dir', str(out), '--size', '32', '--num-train', '12',
                    '--num-val', '4', '--tasks', 'semseg', 'sal', 'depth',
                    '--variants', 'stl', 'mtl', 'dmtl_feature', '--seeds', '0',
                    '--settings', 'one_label', '--resume', '--quiet'])
    assert len(json.loads((out / 'runs.json').read_text())['runs']) == 5


def test_residual_variant_and_timesteps_configs(study_mod):
    args = study_mod.parse_args(['--timesteps', '3'])
    cfg = study_mod.model_config('dmtl_residual', dict(semseg=9), args)
    assert cfg['refine_head']['logit_residual'] is True
    assert cfg['refine_head']['num_inference_steps'] == 3
    assert cfg['refine_head']['scheduler']['num_train_timesteps'] == 3
    pub = study_mod.model_config('dmtl_feature', dict(semseg=9), args)
    assert 'logit_residual' not in pub['refine_head']  # published: off


def test_first_match_reads_the_direction_of_each_metric(study_mod):
    def point(it, f, i):
        return dict(iter=it, val=dict(final=f, initial=i))

    curve = [
        point(10, {'semseg/mIoU': 40.0, 'depth/abs_err': 0.5},
              {'semseg/mIoU': 50.0, 'depth/abs_err': 0.4}),
        point(20, {'semseg/mIoU': 50.0, 'depth/abs_err': 0.45},
              {'semseg/mIoU': 49.0, 'depth/abs_err': 0.44}),
        point(30, {'semseg/mIoU': 48.0, 'depth/abs_err': 0.40},
              {'semseg/mIoU': 49.0, 'depth/abs_err': 0.41}),
    ]
    got = study_mod.first_match(curve, ['semseg', 'depth'])
    assert got == dict(semseg=20, depth=30)
    assert study_mod.first_match(curve[:1], ['semseg', 'depth']) == dict(
        semseg=None, depth=None)


def test_learning_curves_test_split_and_diagnostics(study_mod, tmp_path):
    out = tmp_path / 'study'
    study_mod.main([
        '--out-dir', str(out), '--size', '32', '--num-train', '12',
        '--num-val', '4', '--num-test', '4', '--iters', '2', '--batch-size',
        '4', '--channels', '8', '--base-channels', '8', '--num-heads', '2',
        '--token-stride', '1', '--tasks', 'semseg', 'sal', 'depth',
        '--variants', 'mtl', 'dmtl_residual', '--seeds', '0', '--settings',
        'one_label', '--edge-thresholds', '3', '--eval-every', '1',
        '--train-eval-num', '6', '--diagnose', '--augment', '--quiet'
    ])
    runs = json.loads((out / 'runs.json').read_text())
    assert 'failures' not in runs['meta']
    assert runs['meta']['report_split'] == 'test (4 held-out images)'
    mtl, res = runs['runs']
    assert [p['iter'] for p in res['curve']] == [1, 2]
    for p in res['curve']:
        for where in ('val', 'train'):
            assert set(p[where]) == {'final', 'initial'}
            assert 0 <= p[where]['final']['semseg/mIoU'] <= 100
        # refined and initial losses on val and on the held-in slice
        assert {'semseg.final', 'semseg.initial', 'depth.final'} <= set(
            p['val_loss'])
        d = p['diagnostics']
        assert sum(d['grad_share_blocks'].values()) == pytest.approx(1.0)
        for t in d['rms']:
            assert d['rms'][t]['x0_hat'] > 0
            assert 0 <= d['dead_relu'][t]['channels'] <= 1
            assert d['grad_at_feature'][t]['initial'] > 0
    # the MTL baseline has a single output and no refinement diagnostics
    assert set(mtl['curve'][0]['val']) == {'final'}
    assert 'first_match' not in mtl
    assert res['first_match'] == study_mod.first_match(
        res['curve'], ['semseg', 'sal', 'depth'])
    # per-class IoU and the shuffled-condition evaluation at the end
    assert 'semseg/IoU.0' in res['metrics']
    assert 'semseg/IoU.8' in res['initial_metrics']
    assert 'semseg/mIoU' in res['shuffled_condition_metrics']
    curves = out / 'curves'
    assert (curves / 'one_label_seed0_dmtl_residual.png').stat().st_size > 1000
    saved = json.loads((curves / 'one_label_seed0_dmtl_residual.json').read_text())
    assert saved['curve'] == res['curve']
    # the test images are not the val images
    val = study_mod.load_split(str(out / 'data_32px_12_8_seed0'), 'val', 'full',
                               0, study_mod.parse_args(['--size', '32',
                                                        '--num-train', '12',
                                                        '--num-val', '4',
                                                        '--num-test', '4']),
                               ['semseg'])
    paths = [s['data_samples'].img_path for s in val]
    assert len(set(paths)) == 8
    md = (out / 'study.md').read_text()
    assert 'on test (4 held-out images)' in md
    # the ladder table: refined / initial / MTL of the folder, and the gains
    table = study_mod.compare_table([str(out)])
    row = next(line for line in table.splitlines() if 'dmtl_residual' in line)
    m, i, b = res['metrics'], res['initial_metrics'], mtl['metrics']
    assert (f'| {m["semseg/mIoU"]:.1f} / {i["semseg/mIoU"]:.1f} / '
            f'{b["semseg/mIoU"]:.1f} |') in row
    g = study_mod.gain(m, b, ['semseg', 'sal', 'depth'])
    assert g == pytest.approx(np.mean([
        (m['semseg/mIoU'] - b['semseg/mIoU']) / b['semseg/mIoU'],
        (m['sal/maxF'] - b['sal/maxF']) / b['sal/maxF'],
        -(m['depth/abs_err'] - b['depth/abs_err']) / b['depth/abs_err']]) * 100)
    assert f'{g:+.1f}%' in row
