"""AtomicCheckpointHook: a save killed mid-write never leaves a half file as latest."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

CONFTEST = Path(__file__).resolve().parent / 'conftest.py'


def _ckpts(work_dir):
    return sorted(n for n in os.listdir(work_dir) if n.endswith('.pth'))


def test_saves_keep_and_pointer(tmp_path, toy):
    runner = toy.build_runner(
        tmp_path, max_iters=6, val_interval=0,
        checkpoint_hook=dict(type='AtomicCheckpointHook', interval=2,
                             by_epoch=False, max_keep_ckpts=2))
    runner.train()
    assert _ckpts(tmp_path) == ['iter_4.pth', 'iter_6.pth']
    assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path /
                                                              'iter_6.pth')
    assert not [n for n in os.listdir(tmp_path) if n.endswith('.tmp')]
    ckpt = torch.load(tmp_path / 'iter_6.pth', map_location='cpu')
    assert ckpt['meta']['iter'] == 6


def test_stale_tmp_files_removed_before_training(tmp_path, toy):
    stale = tmp_path / '.iter_4.pth.mmdmtl-abc123.tmp'
    stale.write_bytes(b'half')
    users = [tmp_path / '.notes.tmp', tmp_path / '.iter_4.pth.abc123.tmp']
    for path in users:
        path.write_bytes(b'the user owns this')
    runner = toy.build_runner(tmp_path, max_iters=2, val_interval=0,
                              ckpt_interval=2)
    runner.train()
    assert not stale.exists()
    # only mmdmtl's own temp files go: same suffix, other names are kept
    assert all(p.read_bytes() == b'the user owns this' for p in users)
    assert _ckpts(tmp_path) == ['iter_2.pth']


_KILL_SCRIPT = textwrap.dedent('''
    import importlib.util, resource, sys
    from mmengine.hooks import Hook
    spec = importlib.util.spec_from_file_location('toy_conftest', sys.argv[1])
    toy = importlib.util.module_from_spec(spec); spec.loader.exec_module(toy)
    toy.no_epoch_sleep()
    work_dir, hook_type = sys.argv[2], sys.argv[3]

    class LimitFileSize(Hook):
        # After the first checkpoint, cap the file size at half a checkpoint: the
        # kernel kills the process (SIGXFSZ) in the middle of the next write.
        priority = 'LOWEST'
        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            if runner.iter + 1 == 2:
                import os
                size = os.path.getsize(os.path.join(work_dir, 'iter_2.pth'))
                resource.setrlimit(resource.RLIMIT_FSIZE, (size // 2, size // 2))

    runner = toy.build_runner(
        work_dir, max_iters=6, val_interval=0,
        checkpoint_hook=dict(type=hook_type, interval=2, by_epoch=False,
                             max_keep_ckpts=1),
        custom_hooks=[LimitFileSize()])
    runner.train()
''')


def _train_and_kill(tmp_path, hook_type):
    proc = subprocess.run(
        [sys.executable, '-c', _KILL_SCRIPT,
         str(CONFTEST), str(tmp_path), hook_type],
        timeout=180, capture_output=True, text=True)
    assert proc.returncode != 0, proc.stdout + proc.stderr
    return proc


def test_killed_save_leaves_previous_checkpoint(tmp_path, toy):
    _train_and_kill(tmp_path, 'AtomicCheckpointHook')
    # the interrupted iter_4 never appears under its name; iter_2 survives even
    # with max_keep_ckpts=1 and is what last_checkpoint names
    assert _ckpts(tmp_path) == ['iter_2.pth']
    assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path /
                                                              'iter_2.pth')
    assert torch.load(tmp_path / 'iter_2.pth', map_location='cpu')['meta'][
        'iter'] == 2
    # and the run resumes from it to the end
    runner = toy.build_runner(
        tmp_path, max_iters=6, val_interval=0, resume=True,
        checkpoint_hook=dict(type='AtomicCheckpointHook', interval=2,
                             by_epoch=False, max_keep_ckpts=1))
    runner.train()
    assert runner.iter == 6
    assert _ckpts(tmp_path) == ['iter_6.pth']
    assert not [n for n in os.listdir(tmp_path) if n.endswith('.tmp')]


def test_stock_hook_loses_the_checkpoint(tmp_path):
    """What the atomic hook prevents: MMEngine's hook deletes iter_2 first and leaves
    a truncated iter_4 that cannot be loaded."""
    _train_and_kill(tmp_path, 'CheckpointHook')
    assert _ckpts(tmp_path) == ['iter_4.pth']
    with pytest.raises(Exception):
        torch.load(tmp_path / 'iter_4.pth', map_location='cpu')


def test_best_checkpoint_by_save_best(tmp_path, toy):
    """MMEngine's save_best/rule keep the best checkpoint (the configs' way)."""
    runner = toy.build_runner(
        tmp_path / 'a', max_iters=4, val_interval=2,
        checkpoint_hook=dict(type='AtomicCheckpointHook', interval=100,
                             by_epoch=False, save_best='toy/mse', rule='less'))
    runner.train()
    best = [n for n in _ckpts(tmp_path / 'a') if n.startswith('best_toy_mse')]
    assert len(best) == 1
    assert runner.message_hub.get_info('best_score') == min(
        runner.message_hub.get_scalar('val/toy/mse')._log_history)


def test_best_checkpoint_of_a_missing_metric_names_the_keys(tmp_path, toy):
    runner = toy.build_runner(
        tmp_path / 'b', max_iters=2, val_interval=2,
        checkpoint_hook=dict(type='AtomicCheckpointHook', interval=100,
                             by_epoch=False, save_best='multi_task/delta_m',
                             rule='greater'))
    with pytest.raises(KeyError, match=r"save_best \['multi_task/delta_m'\] is not "
                       r"among the validation metrics \['toy/count', 'toy/mse'\] "
                       r'\(MultiTaskGain adds'):
        runner.train()
