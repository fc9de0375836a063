"""The data tools: split converter, synthetic generator CLI, browser,
and every dataset config under configs/_base_/datasets."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / 'configs' / '_base_' / 'datasets').glob('*.py'))


def _run(*args, cwd=ROOT):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, check=True).stdout


def test_make_partial_split_generate_convert_info(tmp_path):
    sys.path.insert(0, str(ROOT / 'tools' / 'dataset_converters'))
    import make_partial_split as mps
    ids = tmp_path / 'ids.txt'
    ids.write_text(''.join(f'im{i}\n' for i in range(30)))
    out = tmp_path / 'one.json'
    mps.main(['generate', '--ids', str(ids), '--tasks', 'semseg', 'normals',
              'depth', '--setting', 'one_label', '--seed', '1', '--out',
              str(out)])
    data = json.loads(out.read_text())
    assert len(data) == 30 and all(len(v) == 1 for v in data.values())
    counts = {t: sum(t in v for v in data.values())
              for t in ('semseg', 'normals', 'depth')}
    assert counts == dict(semseg=10, normals=10, depth=10)
    # JSON -> .npy -> JSON round trip
    npy = tmp_path / 'one.npy'
    mps.main(['convert', str(out), '--out', str(npy), '--ids', str(ids)])
    back = tmp_path / 'back.json'
    mps.main(['convert', str(npy), '--out', str(back), '--ids', str(ids)])
    assert json.loads(back.read_text()) == data


def test_make_partial_split_published_pth(tmp_path, shared_path, capsys):
    src = shared_path('partial_label_splits', 'nyuv2', 'onelabel.pth')
    sys.path.insert(0, str(ROOT / 'tools' / 'dataset_converters'))
    import make_partial_split as mps
    out = tmp_path / 'nyu.json'
    mps.main(['convert', src, '--out', str(out), '--num-images', '795',
              '--columns', 'semseg', 'depth', 'normals'])
    assert 'semseg: 265, depth: 265, normals: 265' in capsys.readouterr().out
    data = json.loads(out.read_text())
    assert list(data)[:3] == ['0', '1', '2'] and len(data) == 795
    pth = tmp_path / 'nyu.pth'
    mps.main(['convert', str(out), '--out', str(pth), '--num-images', '795',
              '--columns', 'semseg', 'depth', 'normals'])
    import torch
    a = torch.load(src, weights_only=True)['labels_weights']
    b = torch.load(pth, weights_only=True)['labels_weights']
    assert torch.equal(a, b)


def test_generate_cli_and_browse(tmp_path):
    root = tmp_path / 'syn'
    out = _run('tools/dataset_converters/generate_synthetic_scenes.py', root,
               '--num-train', 3, '--num-val', 1, '--size', 32, 40)
    assert 'wrote 4 scenes of 32x40' in out
    assert 'already holds' in _run(
        'tools/dataset_converters/generate_synthetic_scenes.py', root,
        '--num-train', 3, '--num-val', 1, '--size', 32, 40)
    browse = tmp_path / 'browse'
    out = _run('tools/misc/browse_dataset.py',
               'configs/_base_/datasets/synthetic_scenes_random_label.py',
               '--out-dir', browse, '--num', 2, '--no-aug', '--cfg-options',
               f'train_dataloader.dataset.data_root={root}',
               'train_dataloader.dataset.generate.num_train=3',
               'train_dataloader.dataset.generate.num_val=1',
               'train_dataloader.dataset.generate.size=[32,40]')
    pngs = sorted(browse.glob('*.png'))
    assert len(pngs) == 2
    import cv2
    panel = cv2.imread(str(pngs[0]))
    first = [ln for ln in out.splitlines() if ln.startswith(str(pngs[0]))][0]
    labelled = first.split('labelled ')[1].count("'") // 2
    assert panel.shape == (32, 40 * (1 + labelled), 3)


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: p.stem)
def test_dataset_config_parses_and_pipelines_build(path):
    from mmengine.config import Config

    from mmdmtl.registry import TRANSFORMS
    cfg = Config.fromfile(str(path))
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader',
                'val_evaluator', 'test_evaluator'):
        assert key in cfg, key
    from mmengine.runner import Runner
    for key in ('val_evaluator', 'test_evaluator'):
        # The path the Runner itself takes (a dict with a `metrics` key would be
        # built as an Evaluator, not as our metric).
        evaluator = Runner.build_evaluator(None, cfg[key])
        assert [type(m).__name__ for m in evaluator.metrics] == ['MultiTaskGain'], key
        assert len(evaluator.metrics[0].metrics) >= 2
    for split in ('train', 'val'):
        for step in cfg[f'{split}_dataloader'].dataset.pipeline:
            TRANSFORMS.build(step)
    ds = cfg.train_dataloader.dataset
    if ds.get('split_file'):
        assert ds.label_setting in ('one_label', 'random_label')


def test_synthetic_configs_build_datasets(tmp_path):
    from mmengine.config import Config

    from mmdmtl.registry import DATA_SAMPLERS, DATASETS
    for name, setting in (('synthetic_scenes_full', 'full'),
                          ('synthetic_scenes_one_label', 'one_label'),
                          ('synthetic_scenes_random_label', 'random_label')):
        cfg = Config.fromfile(
            str(ROOT / 'configs/_base_/datasets' / f'{name}.py'))
        ds_cfg = cfg.train_dataloader.dataset
        ds_cfg.data_root = str(tmp_path / 'syn')
        ds_cfg.generate = dict(num_train=8, num_val=2, size=(32, 32), seed=0)
        ds = DATASETS.build(ds_cfg)
        assert ds.label_setting == setting
        item = ds[0]
        assert item['inputs'].shape == (3, 128, 128)  # padded to the recipe
        sampler = DATA_SAMPLERS.build(cfg.train_dataloader.sampler,
                                      default_args=dict(dataset=ds, seed=0))
        assert len(sampler) >= len(ds)
