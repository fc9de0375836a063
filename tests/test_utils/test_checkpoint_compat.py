"""A checkpoint written by MMEngine's Runner resumes on torch >= 2.6 (weights_only
default) thanks to mmdmtl's allow-list, without turning the safety check off."""
import pickle

import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.runner import Runner

import mmdmtl  # noqa: F401  (registers the allow-list)
from mmdmtl.utils import checkpoint_safe_globals


class _ToyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.lin(torch.stack(inputs))
        if mode == 'loss':
            return dict(loss=((out - torch.stack(data_samples))**2).mean())
        return out


def _runner(work_dir, max_iters, resume=False):
    data = [(torch.randn(2), torch.randn(1)) for _ in range(8)]
    return Runner(
        model=_ToyModel(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=data,
            sampler=dict(type='DefaultSampler', shuffle=True),
            collate_fn=dict(type='pseudo_collate'),
            batch_size=2),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=2,
                                           by_epoch=False),
                           logger=dict(type='LoggerHook', interval=1)),
        resume=resume,
        default_scope='mmengine',
        experiment_name=f'toy_{max_iters}_{resume}')


def test_history_buffer_is_allow_listed():
    from mmengine.logging import HistoryBuffer
    assert HistoryBuffer in checkpoint_safe_globals()


def test_runner_checkpoint_resumes_with_weights_only(tmp_path):
    runner = _runner(tmp_path, max_iters=2)
    runner.train()
    ckpt = tmp_path / 'iter_2.pth'
    assert ckpt.is_file()
    # The weights-only unpickler (torch's default since 2.6) accepts it.
    loaded = torch.load(ckpt, map_location='cpu', weights_only=True)
    assert 'message_hub' in loaded and loaded['meta']['iter'] == 2

    resumed = _runner(tmp_path, max_iters=4, resume=True)
    resumed.train()
    assert resumed.iter == 4
    w2 = torch.load(ckpt, weights_only=True)['state_dict']['lin.weight']
    w4 = torch.load(tmp_path / 'iter_4.pth', weights_only=True)['state_dict']['lin.weight']
    assert not torch.equal(w2, w4)


def test_foreign_objects_are_still_refused(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save({'x': pickle.PickleError('not allowed')}, path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)
