"""Worker of the 2-process gloo sampler test (a module of its own so that
torch.multiprocessing.spawn can import it in the child processes)."""
import os

import numpy as np
import torch
import torch.distributed as dist


class FakeDataset:
    """Just what the sampler reads: a length and a label matrix."""

    def __init__(self, matrix):
        self.label_matrix = np.asarray(matrix, bool)

    def __len__(self):
        return len(self.label_matrix)


def one_label_dataset(n=103, t=5, seed=0):
    from mmdmtl.datasets.partial_labels import generate_label_matrix
    return FakeDataset(generate_label_matrix(n, t, 'one_label', seed))


def build_sampler(dataset, mode, batch_size, **kwargs):
    """A PartialLabelSampler; mode 'cover_tasks': the one a
    TaskCoveringBatchSampler of ``batch_size`` drives (it composes the batches)."""
    from mmdmtl.datasets.samplers import (PartialLabelSampler,
                                          TaskCoveringBatchSampler)
    sampler = PartialLabelSampler(dataset, **kwargs)
    if mode == 'cover_tasks':
        TaskCoveringBatchSampler(sampler, batch_size)
    return sampler


def worker(rank, world, port, out_dir, modes):
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=world)
    try:
        ds = one_label_dataset(101, 5, seed=4)
        for mode in modes:
            # seed=None: drawn on rank 0 and broadcast.
            s = build_sampler(ds, mode, 5, seed=None)
            res = {'len': len(s), 'seed': s.seed}
            for epoch in (0, 1):
                s.set_epoch(epoch)
                res[epoch] = list(s)
            torch.save(res, os.path.join(out_dir, f'{mode}_{rank}.pt'))
    finally:
        dist.destroy_process_group()
