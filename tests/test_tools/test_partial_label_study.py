"""tools/benchmarks/partial_label_study.py: Delta_m/summary arithmetic and a tiny
end-to-end study (2 iterations, 32x32, three tasks)."""
import json
import math

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
