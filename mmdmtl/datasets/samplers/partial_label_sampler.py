"""``PartialLabelSampler``: DDP-correct, resumable sampler for partially labelled
data; with ``TaskCoveringBatchSampler`` every batch holds a label of every task."""
import math
from typing import Iterator, List, Optional, Sized, Tuple

import numpy as np
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import BatchSampler, Sampler

from mmdmtl.registry import DATA_SAMPLERS


def dataset_label_matrix(dataset) -> Tuple[np.ndarray, Tuple[str, ...]]:
    """The bool label matrix [len(dataset), T] of ``dataset`` and its task names.

    Passes through the dataset wrappers: MMEngine's ``RepeatDataset`` (rows
    tiled), ``ConcatDataset`` (rows stacked; datasets with different tasks get
    the union of the tasks, in task-table order, False where a dataset lacks a
    task), ``ClassBalancedDataset`` (its repeat indices) and torch's
    ``Subset``/``ConcatDataset``.
    """
    full_init = getattr(dataset, 'full_init', None)
    if callable(full_init):
        full_init()  # lazy wrappers build their index tables here
    matrix = getattr(dataset, 'label_matrix', None)
    if matrix is not None:
        tasks = tuple(getattr(dataset, 'tasks', None) or
                      range(np.asarray(matrix).shape[1]))
        return np.asarray(matrix, dtype=bool), tasks
    if hasattr(dataset, 'times') and hasattr(dataset, 'dataset'):
        # RepeatDataset: index i -> inner index i % len(inner).
        inner, tasks = dataset_label_matrix(dataset.dataset)
        return np.tile(inner, (int(dataset.times), 1)), tasks
    if hasattr(dataset, 'repeat_indices') and hasattr(dataset, 'dataset'):
        inner, tasks = dataset_label_matrix(dataset.dataset)
        return inner[np.asarray(dataset.repeat_indices, dtype=np.int64)], tasks
    if hasattr(dataset, 'datasets'):
        parts = [dataset_label_matrix(d) for d in dataset.datasets]
        names = {t for _, ts in parts for t in ts}
        from mmdmtl.structures import TASK_NAMES
        tasks = tuple(t for t in TASK_NAMES if t in names) + tuple(
            sorted((t for t in names if t not in TASK_NAMES), key=str))
        rows = []
        for m, ts in parts:
            full = np.zeros((len(m), len(tasks)), dtype=bool)
            for j, t in enumerate(ts):
                full[:, tasks.index(t)] = m[:, j]
            rows.append(full)
        return np.concatenate(rows, axis=0), tasks
    if hasattr(dataset, 'indices') and hasattr(dataset, 'dataset'):
        # torch.utils.data.Subset
        inner, tasks = dataset_label_matrix(dataset.dataset)
        return inner[np.asarray(dataset.indices, dtype=np.int64)], tasks
    raise TypeError(
        'TaskCoveringBatchSampler needs a dataset with a label_matrix (a '
        'MultiTaskDataset, or a RepeatDataset/ConcatDataset/ClassBalancedDataset/'
        f'Subset of them), got {type(dataset).__name__}')


def _label_matrix(dataset) -> np.ndarray:
    return dataset_label_matrix(dataset)[0]


def compose_task_covering_batches(matrix: np.ndarray, batch_size: int,
                                  rng: np.random.Generator) -> List[np.ndarray]:
    """Split a shuffled dataset into full batches so that, whenever the split
    allows it, every batch holds at least one label of every task.

    Greedy over batches: each batch first takes, for every task it still
    lacks (scarcest task first), an unused image labelled for it; the free
    slots then go to images of the tasks with the largest surplus (labels left
    minus batches left that still need that task), so no task runs out before
    the last batch. Every image is used once; a short last batch is topped up
    with repeats, first of images labelled for the tasks it lacks.

    Args:
        matrix: bool [N, T] label matrix.
        batch_size: images per batch.
        rng: the generator that shuffles.

    Returns:
        list of int arrays, each of length ``batch_size``.
    """
    n, num_tasks = matrix.shape
    order = rng.permutation(n)
    m = matrix[order]
    unused = np.ones(n, dtype=bool)
    num_batches = max(1, math.ceil(n / batch_size))
    remaining = m.sum(0).astype(np.int64)  # unused labels per task
    batches = []
    left, ptr = n, 0  # unused count; first possibly-unused position
    for b in range(num_batches):
        batches_left = num_batches - b
        chosen: List[int] = []
        have = np.zeros(num_tasks, dtype=bool)
        # 1) cover the tasks, scarcest first.
        for t in np.argsort(remaining / batches_left, kind='stable'):
            if have[t] or remaining[t] == 0 or len(chosen) >= batch_size:
                continue
            cand = np.flatnonzero(unused & m[:, t])
            if not len(cand):
                continue
            # Prefer an image that covers the most still-missing tasks.
            gain = (m[cand] & ~have).sum(1)
            i = int(cand[np.argmax(gain)])
            chosen.append(i)
            unused[i] = False
            left -= 1
            have |= m[i]
            remaining -= m[i]
        # 2) fill by surplus, among the next unused images of the shuffled
        # order (a window keeps this O(N) per epoch and the order random).
        while len(chosen) < batch_size and left:
            while not unused[ptr]:
                ptr += 1
            surplus = remaining - (batches_left - 1)
            cand = ptr + np.flatnonzero(unused[ptr:ptr + 256])
            score = (m[cand] * surplus[None]).sum(1) - 1e3 * (
                m[cand] & (surplus[None] <= 0)).sum(1)
            i = int(cand[np.argmax(score)])
            chosen.append(i)
            unused[i] = False
            left -= 1
            remaining -= m[i]
        batches.append(order[np.asarray(chosen, dtype=np.int64)])
    # Any image left (cannot happen unless n > num_batches * batch_size).
    assert not unused.any()
    last = list(batches[-1])
    if len(last) < batch_size:
        # Top up with repeats: first images of the tasks the batch lacks.
        have = matrix[last].any(0) if last else np.zeros(num_tasks, bool)
        for t in range(num_tasks):
            if len(last) >= batch_size or have[t] or not matrix[:, t].any():
                continue
            i = int(rng.choice(np.flatnonzero(matrix[:, t])))
            last.append(i)
            have |= matrix[i]
        while len(last) < batch_size:
            last.append(int(rng.integers(n)))
        batches[-1] = np.asarray(last, dtype=np.int64)
    return batches


@DATA_SAMPLERS.register_module()
class PartialLabelSampler(Sampler):
    """Sampler for partially labelled multi-task data, correct under DDP.

    * Every rank gets the same number of indices (the epoch is padded by
      repeating images), and the ranks together cover the whole dataset every
      epoch.
    * The seed is synchronised across ranks (``seed=None`` draws one on rank 0
      and broadcasts it); the order comes from a private generator seeded with
      ``seed + epoch`` (``set_epoch`` changes it; the global RNG is untouched).
    * Alone it is a plain shuffle (``shuffle=False``: dataset order). Under
      ``batch_sampler=dict(type='TaskCoveringBatchSampler')`` it composes batches
      of the loader's batch size so that every batch holds a label of every
      task whenever the split allows it (see ``compose_task_covering_batches``).
    * Resumable: ``state_dict()``/``load_state_dict()`` carry seed, epoch and
      the number of indices already consumed this epoch; the next ``__iter__``
      continues exactly where the saved one stopped.
    * ``infinite=True`` (for ``IterBasedTrainLoop``): ``__iter__`` never ends;
      after each pass over the data it moves on to the next epoch's order by
      itself (``epoch`` counts the passes), so the DataLoader is never
      restarted (MMEngine restarts it, and sleeps 2 s, at every end of an
      epoch). The order is the one of the finite sampler's epochs 0, 1, 2...
      concatenated; state and resume work the same way. Never use it with an
      epoch-based loop (the epoch would never end).
    * Works on dataset wrappers (``RepeatDataset``, ``ConcatDataset``,
      ``ClassBalancedDataset``): the label matrix is read through them
      (``dataset_label_matrix``).

    Args:
        dataset: the dataset (with a ``label_matrix`` for task-covering
            batches).
        shuffle (bool): shuffle (task-covering batches always shuffle).
        seed (int, optional): base seed.
        round_up (bool): pad so that every rank has the same length (True) or
            drop the tail (False).
        infinite (bool): never stop (iteration-based training). Default False.
    """

    def __init__(self,
                 dataset: Sized,
                 shuffle: bool = True,
                 seed: Optional[int] = None,
                 round_up: bool = True,
                 infinite: bool = False) -> None:
        rank, world_size = get_dist_info()
        self.rank, self.world_size = rank, world_size
        self.dataset = dataset
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else int(seed)
        self.round_up = round_up
        self.infinite = bool(infinite)
        self.epoch = 0
        self._consumed = 0  # indices handed out in the current epoch
        self._set_mode('random', None)

    def _set_mode(self, mode: str, batch_size: Optional[int]) -> None:
        """Mode, batch size and the per-rank length they imply."""
        n = len(self.dataset)
        self.mode, self.batch_size = mode, batch_size
        if mode == 'cover_tasks':
            self._matrix = _label_matrix(self.dataset)
            if len(self._matrix) != n:
                raise ValueError(f'label_matrix has {len(self._matrix)} rows '
                                 f'for a dataset of {n} images')
            batches = max(1, math.ceil(n / batch_size))
            self.num_samples = math.ceil(batches / self.world_size) * batch_size
        elif self.round_up:
            self.num_samples = math.ceil(n / self.world_size)
        else:
            self.num_samples = math.ceil((n - self.rank) / self.world_size)
        self.total_size = self.num_samples * self.world_size

    def use_task_covering_batches(self, batch_size: int) -> None:
        """Compose task-covering batches of ``batch_size`` (called by
        ``TaskCoveringBatchSampler`` with the data loader's batch size)."""
        if self._consumed:
            raise RuntimeError('the sampler has started its epoch; set its batch '
                               'size before iterating')
        self._set_mode('cover_tasks', int(batch_size))

    def _epoch_indices(self) -> List[int]:
        """This rank's indices of the current epoch (identical on re-call)."""
        n = len(self.dataset)
        rng = np.random.default_rng(self.seed + self.epoch)
        if self.mode == 'cover_tasks':
            batches = compose_task_covering_batches(self._matrix,
                                                    self.batch_size, rng)
            per_rank = self.num_samples // self.batch_size
            # Pad with whole extra batches so every rank gets as many.
            k = 0
            while len(batches) < per_rank * self.world_size:
                batches.append(batches[k])
                k += 1
            # Batch j goes to rank j % world_size: ranks get interleaved,
            # complete batches.
            mine = batches[self.rank::self.world_size]
            return np.concatenate(mine).tolist()
        if self.shuffle:
            indices = rng.permutation(n).tolist()
        else:
            indices = list(range(n))
        if self.round_up:
            reps = math.ceil(self.total_size / max(n, 1))
            indices = (indices * reps)[:self.total_size]
        return indices[self.rank:self.total_size:self.world_size]

    def __iter__(self) -> Iterator[int]:
        while True:
            indices = self._epoch_indices()
            start = self._consumed
            for i in indices[start:]:
                self._consumed += 1
                yield i
            # A finished epoch starts the next one from its beginning.
            self._consumed = 0
            if not self.infinite:
                return
            self.epoch += 1

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch (changes the order); restarts the epoch's count."""
        if epoch != self.epoch:
            self._consumed = 0
        self.epoch = epoch

    def state_dict(self, num_consumed: Optional[int] = None) -> dict:
        """State for an exact resume. ``num_consumed`` overrides the count of
        indices this rank has consumed in the epoch (a DataLoader prefetches,
        so the sampler's own count may be ahead: pass iter * batch_size)."""
        return dict(
            seed=self.seed,
            epoch=self.epoch,
            num_consumed=self._consumed if num_consumed is None else
            int(num_consumed),
            mode=self.mode,
            infinite=self.infinite,
            world_size=self.world_size)

    def load_state_dict(self, state: dict) -> None:
        if state.get('world_size', self.world_size) != self.world_size:
            raise ValueError(
                f'sampler state saved with world_size {state["world_size"]} '
                f'cannot resume with world_size {self.world_size}')
        if state.get('mode', self.mode) != self.mode:
            raise ValueError(f'sampler state of mode {state["mode"]!r} given '
                             f'to a sampler of mode {self.mode!r}')
        self.seed = int(state['seed'])
        self.epoch = int(state['epoch'])
        consumed = int(state.get('num_consumed', 0))
        if not 0 <= consumed <= self.num_samples:
            raise ValueError(f'num_consumed={consumed} outside 0..'
                             f'{self.num_samples}')
        self._consumed = consumed


@DATA_SAMPLERS.register_module()
class TaskCoveringBatchSampler(BatchSampler):
    """Batches of the data loader's ``batch_size`` that hold a label of every task
    whenever the split allows it: the batch size is given once.

    ``train_dataloader = dict(batch_size=8, sampler=dict(type='PartialLabelSampler',
    infinite=True), batch_sampler=dict(type='TaskCoveringBatchSampler'))``; MMEngine
    builds it with the loader's sampler and batch size. It has the sampler
    compose batches of that size (the sampler composes the batches,
    see ``compose_task_covering_batches``; shuffling, DDP split, infinite mode and
    exact resume stay the sampler's); torch's ``BatchSampler`` cuts its index
    stream into them.

    Args:
        sampler (PartialLabelSampler): the loader's sampler.
        batch_size (int): the loader's batch size (per rank).
        drop_last (bool): must be False: every composed batch is complete.
    """

    def __init__(self, sampler: PartialLabelSampler, batch_size: int,
                 drop_last: bool = False) -> None:
        if not isinstance(sampler, PartialLabelSampler):
            raise TypeError('TaskCoveringBatchSampler needs '
                            "train_dataloader.sampler=dict(type='PartialLabelSampler'"
                            f', ...), got {type(sampler).__name__}')
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f'TaskCoveringBatchSampler: batch_size must be a '
                             f'positive int, got {batch_size!r}')
        if drop_last:
            raise ValueError('TaskCoveringBatchSampler: drop_last=True is not '
                             'supported (the composed batches are all complete)')
        sampler.use_task_covering_batches(batch_size)
        # torch's BatchSampler cuts the stream: the sampler's per-rank length is
        # a whole number of composed batches, so every batch is complete.
        super().__init__(sampler, batch_size, drop_last=False)
