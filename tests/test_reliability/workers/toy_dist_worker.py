"""One rank of a toy multi-task training/evaluation under gloo (or a single process).

Usage: toy_dist_worker.py MODE OUT_DIR BATCH_SIZE
  MODE train: 6 iterations (deterministic toy, no noise); writes per-iteration losses,
              final weights and the validation metric of a 5-image set (odd size).
  MODE nan:   the loss of task 'depth' is NaN on rank 1 only at iteration 2; each rank
              writes the error it stopped with.
Environment: RANK/WORLD_SIZE/MASTER_ADDR/MASTER_PORT as torchrun sets them.
"""
import json
import os
import sys
from datetime import timedelta

import numpy as np
import torch
import torch.distributed as torch_dist
import torch.nn as nn
from mmengine.evaluator import BaseMetric
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner

import mmdmtl.engine  # noqa: F401  (CPUDistributedDataParallel, the hooks)

torch.set_num_threads(1)
# MMEngine sleeps 2 s at every data-loader restart; not needed here.
import types  # noqa: E402

import mmengine.runner.loops as _loops  # noqa: E402

_loops.time = types.SimpleNamespace(sleep=lambda s: None)
MODE, OUT_DIR, BATCH = sys.argv[1], sys.argv[2], int(sys.argv[3])
RANK = int(os.environ.get('RANK', 0))
WORLD = int(os.environ.get('WORLD_SIZE', 1))


class Data(torch.utils.data.Dataset):

    def __init__(self, n):
        rng = np.random.RandomState(3)
        self.x = rng.randn(n, 4).astype(np.float32)
        self.y = rng.randn(n, 2).astype(np.float32)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return dict(x=torch.from_numpy(self.x[i]), y=torch.from_numpy(self.y[i]),
                    idx=i)


def collate(batch):
    return dict(inputs=torch.stack([b['x'] for b in batch]),
                data_samples=[dict(y=b['y'], idx=b['idx']) for b in batch])


class Toy(BaseModel):

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.semseg_head = nn.Linear(4, 1)
        self.depth_head = nn.Linear(4, 1)
        self.iter = 0

    def forward(self, inputs, data_samples=None, mode='tensor'):
        sem = self.semseg_head(inputs)[:, 0]
        dep = self.depth_head(inputs)[:, 0]
        if mode == 'loss':
            y = torch.stack([d['y'] for d in data_samples])
            depth = ((dep - y[:, 1])**2).mean()
            if MODE == 'nan' and RANK == 1 and self.iter == 1:
                depth = depth * float('nan')
            self.iter += 1
            return {'semseg.loss_final': ((sem - y[:, 0])**2).mean(),
                    'depth.loss_final': depth}
        return [dict(err=float((s - d['y'][0])**2), idx=d['idx'])
                for s, d in zip(sem, data_samples)]


class Metric(BaseMetric):

    def process(self, data_batch, data_samples):
        # one record per sample (the padding the sampler adds is cut by
        # collect_results)
        self.results.extend((s['idx'], s['err']) for s in data_samples)

    def compute_metrics(self, results):
        idx = [r[0] for r in results]
        return dict(mse=float(np.mean([r[1] for r in results])),
                    count=len(results), distinct=len(set(idx)))


class Record(Hook):

    def __init__(self):
        self.losses = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.losses.append(float(outputs['loss'].detach()))


def main():
    if WORLD > 1:
        torch_dist.init_process_group('gloo', timeout=timedelta(seconds=40))
    record = Record()
    runner = Runner(
        model=Toy(),
        work_dir=os.path.join(OUT_DIR, f'work_{WORLD}'),
        experiment_name=f'toy_{MODE}_{WORLD}',
        train_dataloader=dict(
            dataset=Data(12),
            sampler=dict(type='DefaultSampler', shuffle=True),
            batch_size=BATCH, num_workers=0, collate_fn=collate),
        train_cfg=dict(by_epoch=False, max_iters=6, val_interval=6),
        val_dataloader=dict(
            dataset=Data(5),
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=BATCH, num_workers=0, collate_fn=collate),
        val_cfg=dict(),
        val_evaluator=[Metric()],
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        default_hooks=dict(checkpoint=dict(type='AtomicCheckpointHook',
                                           interval=100, by_epoch=False)),
        custom_hooks=[dict(type='NonFiniteLossHook'), record],
        launcher='pytorch' if WORLD > 1 else 'none',
        cfg=dict(model_wrapper_cfg=dict(type='mmdmtl.CPUDistributedDataParallel',
                                        find_unused_parameters=False)),
        default_scope='mmdmtl',
        randomness=dict(seed=0),
        log_level='WARNING')
    out = dict(rank=RANK, world=WORLD)
    try:
        runner.train()
    except FloatingPointError as e:
        out['error'] = str(e)
    model = runner.model.module if hasattr(runner.model, 'module') else \
        runner.model
    out['losses'] = record.losses
    out['weights'] = {k: v.flatten().tolist() for k, v in
                      model.state_dict().items()}
    out['val'] = {k: float(runner.message_hub.get_scalar(k).current())
                  for k in runner.message_hub.log_scalars
                  if k.startswith('val/')}
    with open(os.path.join(OUT_DIR, f'{MODE}_{WORLD}_{RANK}.json'), 'w') as f:
        json.dump(out, f)
    if WORLD > 1:
        torch_dist.destroy_process_group()


if __name__ == '__main__':
    main()
