"""NonFiniteLossHook: a NaN loss stops training naming the iteration and the task."""
import os

import pytest
import torch

from mmdmtl.engine.hooks.nonfinite_loss_hook import find_nonfinite

HOOK = [dict(type='NonFiniteLossHook')]


def test_find_nonfinite():
    t = torch.tensor
    assert find_nonfinite({'loss': t(1.), 'semseg.loss_final': t(1.)}) == []
    assert find_nonfinite({
        'loss': t(float('nan')),
        'semseg.loss_final': t(1.),
        'depth.loss_init': t(float('inf')),
        'semseg.acc': t(float('nan')),  # not a loss: ignored
    }) == ['depth.loss_init=inf']
    # only the total is available
    assert find_nonfinite({'loss': t(float('-inf'))}) == ['loss=-inf']
    # python floats work too
    assert find_nonfinite({'edge.loss': float('nan')}) == ['edge.loss=nan']


def test_nan_loss_stops_before_the_step(tmp_path, toy):
    # sample 5 has a NaN depth target; without shuffling it is in batch [4, 5],
    # the third iteration
    model = toy.ToyModel()
    runner = toy.build_runner(tmp_path, max_iters=6, val_interval=0,
                              ckpt_interval=1, custom_hooks=HOOK, model=model,
                              dataset=toy.ToyDataset(nan_index=5),
                              shuffle=False)
    with pytest.raises(FloatingPointError) as err:
        runner.train()
    msg = str(err.value)
    assert 'iteration 3 ' in msg
    assert "task(s) ['depth']" in msg and 'depth.loss_final=nan' in msg
    assert 'semseg' not in msg.split('depth.loss_final')[1]
    assert 'toy_5.png' in msg and 'weights are unchanged' in msg
    # the step was not taken: weights are finite; no checkpoint of iteration 3
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert sorted(n for n in os.listdir(tmp_path)
                  if n.endswith('.pth')) == ['iter_1.pth', 'iter_2.pth']


def test_without_hook_training_goes_on_with_nan_weights(tmp_path, toy):
    """The failure mode the hook exists for."""
    model = toy.ToyModel()
    runner = toy.build_runner(tmp_path, max_iters=4, val_interval=0,
                              ckpt_interval=4, model=model,
                              dataset=toy.ToyDataset(nan_index=5),
                              shuffle=False)
    runner.train()
    assert not torch.isfinite(model.depth_head.weight).all()


def test_fallback_after_iter_for_custom_train_step(tmp_path, toy):
    """A model that does not call parse_losses is still stopped (after its step)."""

    class NoParse(toy.ToyModel):

        def train_step(self, data, optim_wrapper):
            data = self.data_preprocessor(data, True)
            losses = self._run_forward(data, mode='loss')
            total = sum(losses.values())
            optim_wrapper.update_params(total)
            return dict(loss=total, **losses)

    runner = toy.build_runner(tmp_path, max_iters=6, val_interval=0,
                              ckpt_interval=1, custom_hooks=HOOK,
                              model=NoParse(),
                              dataset=toy.ToyDataset(nan_index=1),
                              shuffle=False)
    with pytest.raises(FloatingPointError,
                       match=r'iteration 1 .*after the optimizer step.*depth'):
        runner.train()
    assert not any(n.endswith('.pth') for n in os.listdir(tmp_path))
