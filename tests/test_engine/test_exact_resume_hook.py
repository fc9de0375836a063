"""ExactResumeHook: a resumed run ends with the same weights, losses and metrics."""
import random

import numpy as np
import torch

from mmdmtl.engine.hooks.exact_resume_hook import (capture_rng_state,
                                                   model_generators,
                                                   restore_rng_state)

HOOK = [dict(type='ExactResumeHook')]


def _draws(gen):
    return (random.random(), float(np.random.rand()), float(torch.rand(1)),
            float(torch.rand(1, generator=gen)))


def test_capture_restore_roundtrip():
    model = torch.nn.Module()
    model.child = torch.nn.Module()
    model.child.gen = torch.Generator().manual_seed(3)
    assert list(model_generators(model)) == ['child.gen']
    state = capture_rng_state(model)
    first = _draws(model.child.gen)
    _draws(model.child.gen)
    assert restore_rng_state(state, model) == []
    assert _draws(model.child.gen) == first
    # a model without that generator is reported
    assert restore_rng_state(state, torch.nn.Linear(1, 1)) == ['child.gen']


def _run(work_dir, toy, hooks, resume_from=None, val_interval=4):
    runner = toy.build_runner(
        work_dir, max_iters=8, ckpt_interval=4, val_interval=val_interval,
        custom_hooks=hooks, resume=resume_from is not None,
        load_from=resume_from)
    runner.train()
    model = runner.model
    losses = runner.message_hub.get_scalar('train/loss')._log_history
    val_mse = runner.message_hub.get_scalar('val/toy/mse').current() \
        if val_interval else None
    return ({k: v.clone() for k, v in model.state_dict().items()},
            np.asarray(losses), val_mse, runner)


def _same(a, b):
    return all(torch.equal(a[k], b[k]) for k in a)


def test_resume_is_exact(tmp_path, toy):
    # 8 iterations, 3 per epoch (so the replay crosses an epoch boundary), val and a
    # checkpoint at 4 and 8; resume the second run from iteration 4.
    full_w, full_losses, full_val, _ = _run(tmp_path / 'full', toy, HOOK)
    ckpt = str(tmp_path / 'full' / 'iter_4.pth')
    res_w, res_losses, res_val, _ = _run(tmp_path / 'resumed', toy, HOOK,
                                         resume_from=ckpt)
    assert _same(full_w, res_w)
    np.testing.assert_array_equal(full_losses, res_losses)
    assert len(res_losses) == 8
    assert full_val == res_val
    # the checkpoint is readable with torch's safe (weights-only) loader
    ckpt_data = torch.load(ckpt, map_location='cpu', weights_only=True)
    assert ckpt_data['rng_state']['world_size'] == 1
    assert 'noise_gen' in ckpt_data['rng_state']['ranks'][0]['generators']


def test_without_hook_resume_differs(tmp_path, toy):
    """Proves the premise: MMEngine alone does not restore the random streams."""
    full_w, full_losses, _, _ = _run(tmp_path / 'full', toy, [])
    res_w, res_losses, _, _ = _run(
        tmp_path / 'resumed', toy, [],
        resume_from=str(tmp_path / 'full' / 'iter_4.pth'))
    np.testing.assert_array_equal(full_losses[:4], res_losses[:4])
    assert not np.array_equal(full_losses[4:], res_losses[4:])
    assert not _same(full_w, res_w)


def test_validation_does_not_change_training(tmp_path, toy):
    # the toy's predict() draws noise; with the hook, training with and without
    # validation follows the same trajectory
    with_val, losses_a, _, _ = _run(tmp_path / 'a', toy, HOOK, val_interval=2)
    no_val, losses_b, _, _ = _run(tmp_path / 'b', toy, HOOK, val_interval=0)
    assert _same(with_val, no_val)
    np.testing.assert_array_equal(losses_a, losses_b)
    # without the hook, validation at iteration 2 changes iterations 3..8
    _, losses_c, _, _ = _run(tmp_path / 'c', toy, [], val_interval=2)
    np.testing.assert_array_equal(losses_c[:2], losses_b[:2])
    assert not np.array_equal(losses_c[2:], losses_b[2:])


def test_load_from_does_not_restore_streams(tmp_path, toy):
    """load_from (not resume) starts fresh random streams: the same weights then
    give the same run whatever checkpoint they came from."""
    _run(tmp_path / 'full', toy, HOOK)
    runner = toy.build_runner(tmp_path / 'ft', max_iters=2, ckpt_interval=2,
                              val_interval=0, custom_hooks=HOOK,
                              load_from=str(tmp_path / 'full' / 'iter_4.pth'))
    runner.train()
    assert runner.iter == 2
    hook = [h for h in runner.hooks if type(h).__name__ == 'ExactResumeHook'][0]
    assert hook._loaded is None


class _LabelledToy:
    """The toy dataset with a label matrix (two tasks, one label per sample)."""

    def __new__(cls, toy, n=5):
        ds = toy.ToyDataset(n=n)
        ds.label_matrix = np.eye(2, dtype=bool)[np.arange(n) % 2]
        ds.tasks = ('semseg', 'depth')
        return ds


def test_infinite_partial_label_sampler_resumes_exactly(tmp_path, toy):
    """Infinite PartialLabelSampler with TaskCoveringBatchSampler: the loader never
    restarts over 8 iterations of 2 on 5 samples (6 per pass: >2 passes), and a resume from iteration 4
    repeats the uninterrupted run exactly."""
    sampler = dict(type='PartialLabelSampler', infinite=True, seed=5)

    def run(work_dir, resume_from=None):
        runner = toy.build_runner(
            work_dir, max_iters=8, ckpt_interval=4, val_interval=0,
            custom_hooks=HOOK, resume=resume_from is not None,
            load_from=resume_from, sampler=sampler,
            batch_sampler=dict(type='TaskCoveringBatchSampler'),
            dataset=_LabelledToy(toy))
        runner.train()
        s = runner.train_dataloader.batch_sampler.sampler
        losses = runner.message_hub.get_scalar('train/loss')._log_history
        return ({k: v.clone() for k, v in runner.model.state_dict().items()},
                np.asarray(losses), s, runner)

    full_w, full_losses, s, runner = run(tmp_path / 'full')
    assert s.infinite and s.epoch >= 2  # passes advanced inside one iterator
    # MMEngine never restarted the loader (its restart count stays 0)
    assert runner.train_loop.dataloader_iterator._epoch == 0
    ckpt = torch.load(str(tmp_path / 'full' / 'iter_4.pth'), map_location='cpu',
                      weights_only=True)
    assert ckpt['sampler_state']['infinite'] is True
    res_w, res_losses, _, _ = run(tmp_path / 'resumed',
                                  str(tmp_path / 'full' / 'iter_4.pth'))
    assert _same(full_w, res_w)
    np.testing.assert_array_equal(full_losses, res_losses)
