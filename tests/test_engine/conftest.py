"""A toy model/dataset/metric to exercise the engine hooks through MMEngine's Runner.

The toy draws from every random stream a real run draws from: NumPy's global generator
in the dataset (augmentation), torch's global generator in the model (dropout-like
noise) and a private ``torch.Generator`` held by the model (like the diffusion noise).
Its loss keys follow the mmdmtl convention ``'<task>.loss_<name>'``.
"""
import copy
import math

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from torch.utils.data import Dataset


class ToyDataset(Dataset):
    """``n`` samples of 4 features; sample ``nan_index`` gets a NaN depth target."""

    metainfo = dict(name='toy')

    def __init__(self, n=6, nan_index=None, augment=True):
        rng = np.random.RandomState(7)
        self.x = rng.randn(n, 4).astype(np.float32)
        self.y = rng.randn(n, 2).astype(np.float32)
        self.nan_index = nan_index
        self.augment = augment

    def __len__(self):
        return len(self.x)

    def __getitem__(self, idx):
        x = self.x[idx].copy()
        if self.augment:  # main-process augmentation with NumPy's global RNG
            x = x + 0.1 * np.random.randn(4).astype(np.float32)
        y = self.y[idx].copy()
        if self.nan_index is not None and idx == self.nan_index:
            y[1] = float('nan')
        return dict(inputs=torch.from_numpy(x), target=torch.from_numpy(y),
                    img_path=f'toy_{idx}.png')


def toy_collate(batch):
    return dict(
        inputs=torch.stack([b['inputs'] for b in batch]),
        data_samples=[_Sample(b) for b in batch])


class _Sample:
    """Minimal object with ``metainfo`` (what the NaN hook reads)."""

    def __init__(self, d):
        self.metainfo = dict(img_path=d['img_path'])
        self.target = d['target']


class ToyModel(BaseModel):

    def __init__(self, noise=True, extra=None):
        super().__init__()
        self.semseg_head = nn.Linear(4, 1)
        self.depth_head = nn.Linear(4, 1)
        if extra is not None:
            self.extra = nn.Linear(extra[0], extra[1])
        self.noise = noise
        # private generator, like the model's diffusion noise generator
        self.noise_gen = torch.Generator().manual_seed(1234)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        x = inputs
        if self.noise:
            x = x + 0.05 * torch.randn(x.shape)  # global torch RNG
            x = x + 0.05 * torch.randn(x.shape, generator=self.noise_gen)
        sem = self.semseg_head(x)[:, 0]
        dep = self.depth_head(x)[:, 0]
        if mode == 'loss':
            tgt = torch.stack([d.target for d in data_samples])
            return {
                'semseg.loss_final': ((sem - tgt[:, 0])**2).mean(),
                'depth.loss_final': ((dep - tgt[:, 1])**2).mean(),
            }
        if mode == 'predict':
            return [dict(sem=s, dep=d, target=t.target)
                    for s, d, t in zip(sem, dep, data_samples)]
        return sem, dep


class ToyMetric(BaseMetric):
    default_prefix = 'toy'

    def process(self, data_batch, data_samples):
        for s in data_samples:
            self.results.append(float((s['sem'] - s['target'][0])**2))

    def compute_metrics(self, results):
        return dict(mse=float(np.mean(results)), count=len(results))


def build_runner(work_dir, max_iters=8, ckpt_interval=4, val_interval=4,
                 custom_hooks=None, checkpoint_hook=None, model=None,
                 dataset=None, resume=False, load_from=None, seed=0,
                 experiment_name=None, shuffle=True, sampler=None,
                 batch_sampler=None):
    from mmengine.runner import Runner
    if model is None:
        torch.manual_seed(seed)  # the toy's initial weights do not depend on order
        model = ToyModel()
    if experiment_name is None:
        # Runners of the same second would share MessageHub/logger instances.
        import uuid
        experiment_name = f'toy_{uuid.uuid4().hex}'
    checkpoint_hook = checkpoint_hook or dict(
        type='AtomicCheckpointHook', interval=ckpt_interval, by_epoch=False)
    kwargs = {}
    if val_interval:
        kwargs = dict(
            val_dataloader=dict(
                dataset=ToyDataset(n=5, augment=False),
                sampler=dict(type='DefaultSampler', shuffle=False),
                batch_size=2, num_workers=0, collate_fn=toy_collate),
            val_cfg=dict(),
            val_evaluator=[ToyMetric()])
    return Runner(
        model=model,
        work_dir=str(work_dir),
        experiment_name=experiment_name,
        train_dataloader=dict(
            dataset=dataset if dataset is not None else ToyDataset(),
            sampler=sampler or dict(type='DefaultSampler', shuffle=shuffle),
            batch_sampler=batch_sampler,
            batch_size=2, num_workers=0, collate_fn=toy_collate),
        train_cfg=dict(by_epoch=False, max_iters=max_iters,
                       val_interval=val_interval or max_iters + 1),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9)),
        param_scheduler=[dict(type='LinearLR', start_factor=0.5, by_epoch=False,
                              begin=0, end=max_iters)],
        default_hooks=dict(
            checkpoint=checkpoint_hook,
            logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=copy.deepcopy(custom_hooks or []),
        default_scope='mmdmtl',
        randomness=dict(seed=seed),
        resume=resume,
        load_from=load_from,
        log_level='WARNING',
        **kwargs)


def no_epoch_sleep():
    """MMEngine sleeps 2 s at every data-loader restart of an iteration-based loop
    (mmengine/runner/loops.py); tests cross epochs on purpose, so skip the nap."""
    import types

    import mmengine.runner.loops as loops
    loops.time = types.SimpleNamespace(sleep=lambda s: None)


@pytest.fixture(autouse=True)
def _no_epoch_sleep(monkeypatch):
    import types

    import mmengine.runner.loops as loops
    monkeypatch.setattr(loops, 'time', types.SimpleNamespace(sleep=lambda s: None))


@pytest.fixture
def toy():
    """The toy pieces, as a namespace (test modules never import each other)."""
    import types
    return types.SimpleNamespace(
        ToyDataset=ToyDataset, ToyModel=ToyModel, ToyMetric=ToyMetric,
        build_runner=build_runner, collate=toy_collate, math=math)
