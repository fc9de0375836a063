"""tools/train.py -> tools/test.py round trip, resume, and the CPU launcher set-up."""
import json

import cv2
import numpy as np
import pytest


def test_train_resume_then_test_round_trip(tmp_path, tiny_data, tools):
    cfg2 = tools.write_tiny_config(tmp_path / 'two.py', tiny_data, iters=2)
    cfg4 = tools.write_tiny_config(tmp_path / 'four.py', tiny_data, iters=4)
    work = tmp_path / 'work'
    tools.run([tools.python, 'tools/train.py', str(cfg2), '--work-dir', str(work)])
    assert (work / 'iter_2.pth').is_file() and not (work / 'iter_4.pth').exists()
    # --resume continues at iteration 3 from the latest checkpoint of the work dir
    proc = tools.run([tools.python, 'tools/train.py', str(cfg4), '--work-dir',
                      str(work), '--resume'])
    assert 'resumed' in (proc.stdout + proc.stderr).lower()
    assert (work / 'iter_4.pth').is_file()
    logs = sorted(work.rglob('vis_data/scalars.json'), key=lambda p: p.stat().st_mtime)
    train_lines = [json.loads(x) for x in logs[-1].read_text().splitlines()
                   if 'loss' in json.loads(x)]
    assert [x['step'] for x in train_lines] == [3, 4]
    assert all(np.isfinite(x['loss']) for x in train_lines)

    out, vis = tmp_path / 'preds', tmp_path / 'panels'
    tools.run([tools.python, 'tools/test.py', str(cfg4),
               str(work / 'iter_4.pth'), '--work-dir', str(tmp_path / 'test'),
               '--out', str(out), '--show-dir', str(vis)])
    metrics = json.loads((out / 'metrics.json').read_text())
    for task in ('semseg', 'human_parts', 'sal', 'normals', 'edge', 'depth'):
        assert any(k.startswith(task + '/') for k in metrics), (task, metrics)
    # every task's prediction of the 4 val images, as PNG and npy
    for task in ('semseg', 'human_parts', 'sal', 'normals', 'edge', 'depth'):
        pngs = sorted((out / task).glob('*.png'))
        assert len(pngs) == 4, task
        img = cv2.imread(str(pngs[0]), cv2.IMREAD_UNCHANGED)
        assert img.shape[:2] == (32, 32)
    sem = np.load(sorted((out / 'semseg').glob('*.npy'))[0])
    assert sem.shape == (32, 32) and sem.min() >= 0 and sem.max() < 9
    normals = np.load(sorted((out / 'normals').glob('*.npy'))[0])
    np.testing.assert_allclose(np.linalg.norm(normals, axis=-1), 1.0, atol=1e-4)
    panels = sorted(vis.glob('*.png'))
    assert len(panels) == 4
    panel = cv2.imread(str(panels[0]))
    # 2 rows x 7 columns of 32x32 tiles, small tiles enlarged by a whole factor
    # (with legends / colour bars below each column): at least the raw layout
    assert panel.shape[2] == 3
    assert panel.shape[1] >= 7 * 32 + 6 * 2 and panel.shape[0] >= 2 * (14 + 32) + 2


def test_cfg_options_max_iters_unknown_keys_and_the_dataset_record(
        tmp_path, tiny_data, tools):
    """--cfg-options train_cfg.max_iters=2 on a config whose poly schedule ends at
    its max_iters (4) moves the schedule's end to 2; a misspelt top-level key is
    named with the closest known one; the checkpoint records the training set and
    the demo warns (once) that it is the synthetic one."""
    import torch
    cfg = tools.write_tiny_config(tmp_path / 'four.py', tiny_data, iters=4)
    work = tmp_path / 'work'
    proc = tools.run([tools.python, 'tools/train.py', str(cfg), '--work-dir',
                      str(work), '--cfg-options', 'train_cfg.max_iters=2',
                      'default_hook.checkpoint.interval=1'])
    text = proc.stdout + proc.stderr
    assert ("unknown top-level config key 'default_hook', merged but unused; did "
            "you mean 'default_hooks'?") in text
    assert 'train_cfg.max_iters 4 -> 2' in text and 'end 4 -> 2' in text
    log = sorted(work.rglob('vis_data/scalars.json'))[-1]
    lrs = [json.loads(x)['lr'] for x in log.read_text().splitlines()
           if 'lr' in json.loads(x)]
    # the lr logged after iteration s is lr0 (1 - s / end)^0.9: the schedule ends
    # (lr 0) at iteration 2; ending at the config's 4 it would still be 0.54 lr0
    assert lrs[0] > 0 and lrs[-1] == 0.0 and len(lrs) == 2

    ckpt = torch.load(work / 'iter_2.pth', map_location='cpu')
    record = ckpt['meta']['dataset']
    assert record['name'] == 'SyntheticScenesDataset' and record['synthetic']
    assert len(record['classes']) == 9 and record['classes'][0] == 'floor'
    assert record['data_root'] == str(tiny_data)
    demo = tools.run([tools.python, 'demo/image_demo.py', str(tiny_data / 'images'),
                      str(cfg), str(work / 'iter_2.pth'), '--out-dir',
                      str(tmp_path / 'demo')])
    assert (demo.stdout + demo.stderr).count('was trained on SyntheticScenes') == 1


def test_cli_errors_name_the_file(tmp_path, tools):
    import importlib.util
    mods = {}
    for name in ('train', 'test'):
        spec = importlib.util.spec_from_file_location(
            f'mmdmtl_tools_{name}', tools.repo / 'tools' / f'{name}.py')
        mods[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mods[name])
    with pytest.raises(FileNotFoundError, match='nope.py'):
        mods['train'].main([str(tmp_path / 'nope.py')])
    cfg = tools.write_tiny_config(tmp_path / 'c.py', tmp_path)
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        mods['test'].main([str(cfg), str(tmp_path / 'missing.pth')])
    with pytest.raises(FileNotFoundError, match='checkpoint not found.*gone.pth'):
        mods['train'].main([str(cfg), '--resume', str(tmp_path / 'gone.pth')])


def test_setup_distributed_cpu_path(monkeypatch):
    """Without CUDA: gloo, a process group from torchrun's variables, the CPU
    wrapper; find_unused_parameters stays False."""
    import torch
    import torch.distributed as dist
    from mmengine.config import Config

    from mmdmtl.engine import setup_distributed
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    cfg = Config(dict(env_cfg=dict(dist_cfg=dict(backend='nccl'))))
    assert setup_distributed(cfg, 'none') is False
    assert cfg.env_cfg.dist_cfg.backend == 'nccl'
    with pytest.raises(ValueError, match='launcher'):
        setup_distributed(cfg, 'torchrun')
    for k, v in dict(RANK='0', WORLD_SIZE='1', LOCAL_RANK='0',
                     MASTER_ADDR='127.0.0.1', MASTER_PORT='29533').items():
        monkeypatch.setenv(k, v)
    try:
        assert setup_distributed(cfg, 'pytorch') is True
        assert dist.is_initialized() and dist.get_backend() == 'gloo'
        assert cfg.env_cfg.dist_cfg.backend == 'gloo'
        assert cfg.model_wrapper_cfg.type == 'mmdmtl.CPUDistributedDataParallel'
        assert cfg.model_wrapper_cfg.find_unused_parameters is False
        # the wrapper reverts SyncBN and ignores device_ids on CPU
        from mmengine.registry import MODEL_WRAPPERS
        wrapper_cls = MODEL_WRAPPERS.get(cfg.model_wrapper_cfg.type)
        model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1),
                                    torch.nn.SyncBatchNorm(4))
        wrapped = wrapper_cls(module=model, device_ids=[0],
                              broadcast_buffers=False)
        assert not any(isinstance(m, torch.nn.SyncBatchNorm)
                       for m in wrapped.module.modules())
        assert wrapped.device_ids is None
        out = wrapped(torch.randn(2, 3, 5, 5))
        assert out.shape == (2, 4, 5, 5)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def test_slurm_environment_is_translated(monkeypatch):
    import os

    from mmdmtl.engine.distributed import _fill_env_from_launcher
    for k in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT'):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv('SLURM_PROCID', '3')
    monkeypatch.setenv('SLURM_NTASKS', '4')
    monkeypatch.setenv('SLURM_LOCALID', '1')
    monkeypatch.setenv('SLURM_NODELIST', 'node7')
    monkeypatch.setenv('PATH', '/nonexistent')  # no scontrol here
    _fill_env_from_launcher('slurm')
    assert (os.environ['RANK'], os.environ['WORLD_SIZE'],
            os.environ['LOCAL_RANK']) == ('3', '4', '1')
    assert os.environ['MASTER_ADDR'] == 'node7'
    assert os.environ['MASTER_PORT'] == '29500'
    monkeypatch.delenv('SLURM_PROCID')
    with pytest.raises(RuntimeError, match='SLURM_PROCID'):
        _fill_env_from_launcher('slurm')
