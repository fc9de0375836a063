"""``ExactResumeHook``: a resumed run continues exactly like the uninterrupted one.

MMEngine's resume restores the weights, the optimizer, the schedulers, the message hub
and the iteration counter, then replays the data loader up to that iteration (so the
sampler order, data-worker random streams and epoch boundaries are reproduced). It does
not restore the random number generators of the training process: the diffusion noise,
dropout and main-process augmentation then draw other numbers than in the uninterrupted
run. This hook

- stores, in every checkpoint (``checkpoint['rng_state']``), the states of Python's
  ``random``, NumPy's global generator, torch's CPU (and CUDA) generators and every
  ``torch.Generator`` held as an attribute of a model module (e.g. a private diffusion
  noise generator), for every rank (gathered just before the checkpoint hook saves);
- on resume, restores them after MMEngine's data-loader replay and before the first
  new batch is fetched, so the next batch and the next noise draw are the ones the
  uninterrupted run would have drawn;
- stores the sampler's ``state_dict()`` when it has one (``PartialLabelSampler``), and
  checks after the replay that the replayed sampler reached the same state (warns if
  not: the data order would then differ);
- makes validation during training leave the training random streams untouched (their
  states are saved before and restored after ``val``), so the training trajectory does
  not depend on ``val_interval`` and a checkpoint saved right before a validation
  resumes exactly.

Exactness assumes the same world size and data-loader settings as the saved run; the
hook warns otherwise.
"""
import random
from typing import Dict, List, Optional

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import CheckpointHook, Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import IterBasedTrainLoop

from mmdmtl.registry import HOOKS
from ..mmengine_compat import runner_is_resuming, wrap_train_data_iterator

RNG_KEY = 'rng_state'
SAMPLER_KEY = 'sampler_state'


def _unwrap(model):
    return model.module if is_model_wrapper(model) else model


def model_generators(model: Optional[torch.nn.Module]) -> Dict[str, torch.Generator]:
    """Every ``torch.Generator`` stored as an attribute of a module of ``model``."""
    found = {}
    if model is None:
        return found
    for mod_name, module in _unwrap(model).named_modules():
        for attr, value in vars(module).items():
            if isinstance(value, torch.Generator):
                found[f'{mod_name}.{attr}' if mod_name else attr] = value
    return found


def capture_rng_state(model: Optional[torch.nn.Module] = None) -> dict:
    """The states of all random streams a training step can draw from.

    Only tensors and plain Python values, so ``torch.load(weights_only=True)`` reads
    it back.
    """
    np_state = np.random.get_state()
    state = {
        'python': random.getstate(),
        'numpy': (np_state[0], torch.from_numpy(np_state[1].astype(np.int64)),
                  int(np_state[2]), int(np_state[3]), float(np_state[4])),
        'torch': torch.get_rng_state(),
        'generators': {
            name: gen.get_state()
            for name, gen in model_generators(model).items()
        },
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict,
                      model: Optional[torch.nn.Module] = None) -> List[str]:
    """Inverse of ``capture_rng_state``; returns the names of model generators that
    the state has but the model lacks (or vice versa)."""
    random.setstate(state['python'])
    name, keys, pos, has_gauss, gauss = state['numpy']
    np.random.set_state((name, keys.cpu().numpy().astype(np.uint32), int(pos),
                         int(has_gauss), float(gauss)))
    # map_location may have moved the tensors to a GPU; generator states are CPU
    # byte tensors.
    torch.set_rng_state(state['torch'].cpu())
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state['cuda']])
    gens = model_generators(model)
    saved = state.get('generators', {})
    for name, gen in gens.items():
        if name in saved:
            gen.set_state(saved[name].cpu())
    return sorted(set(gens) ^ set(saved))


def _train_sampler(runner):
    loader = getattr(runner.train_loop, 'dataloader', None)
    if loader is None:
        return None
    sampler = getattr(loader, 'sampler', None)
    if sampler is not None and hasattr(sampler, 'state_dict'):
        return sampler
    batch_sampler = getattr(loader, 'batch_sampler', None)
    inner = getattr(batch_sampler, 'sampler', None)
    return inner if inner is not None and hasattr(inner, 'state_dict') else None


class _RestoreAfterReplay:
    """Wraps the train loop's data iterator: after ``replay`` batches have been drawn
    (MMEngine's resume skip), call ``on_replayed`` before the next batch is fetched."""

    def __init__(self, inner, replay: int, on_replayed) -> None:
        self._inner = inner
        self._remaining = replay
        self._on_replayed = on_replayed

    def __iter__(self):
        return self

    def __next__(self):
        if self._remaining == 0 and self._on_replayed is not None:
            callback, self._on_replayed = self._on_replayed, None
            callback()
        data = next(self._inner)
        if self._remaining > 0:
            self._remaining -= 1
        return data

    def __getattr__(self, name):
        return getattr(self._inner, name)


@HOOKS.register_module()
class ExactResumeHook(Hook):
    """Save and restore the random streams and sampler state (see module doc).

    Args:
        isolate_val_rng (bool): validation during training does not advance the
            training random streams. Default True.
    """
    # after_train_iter must run before CheckpointHook (VERY_LOW) to gather the
    # per-rank states that the checkpoint will hold.
    priority = 'LOW'

    def __init__(self, isolate_val_rng: bool = True) -> None:
        self.isolate_val_rng = isolate_val_rng
        self._gathered = None  # (iteration, [state per rank])
        self._val_snapshot = None  # (local state, [state per rank])
        self._loaded = None  # the checkpoint's rng/sampler entries, on load
        self._in_train = False

    # -- saving --------------------------------------------------------------
    @staticmethod
    def _saves_now(runner) -> bool:
        """Whether a CheckpointHook will save at the end of this iteration."""
        for hook in runner.hooks:
            if not isinstance(hook, CheckpointHook) or hook.by_epoch:
                continue
            if hook.every_n_train_iters(runner, hook.interval, hook.save_begin) \
                    or (hook.save_last and hook.is_last_train_iter(runner)):
                return True
        return False

    def before_train(self, runner) -> None:
        self._in_train = True

    def after_train(self, runner) -> None:
        self._in_train = False

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        if get_world_size() > 1 and self._saves_now(runner):
            # Collective on every rank; the save itself runs on rank 0 only.
            self._gathered = (runner.iter,
                              all_gather_object(capture_rng_state(runner.model)))

    def after_train_epoch(self, runner) -> None:
        # Epoch-based checkpoints are saved in after_train_epoch; gather for them.
        if get_world_size() > 1 and any(
                isinstance(h, CheckpointHook) and h.by_epoch for h in runner.hooks):
            self._gathered = (runner.iter,
                              all_gather_object(capture_rng_state(runner.model)))

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if self._val_snapshot is not None:
            # Saved from inside validation (best checkpoint): store the streams as
            # they were before validation, i.e. as training will continue.
            states = self._val_snapshot[1]
        elif self._gathered is not None and self._gathered[0] == runner.iter:
            states = self._gathered[1]
        else:
            states = [capture_rng_state(runner.model)]
        checkpoint[RNG_KEY] = dict(world_size=get_world_size(), ranks=states)
        sampler = _train_sampler(runner)
        if sampler is not None:
            checkpoint[SAMPLER_KEY] = sampler.state_dict()

    # -- validation isolation ------------------------------------------------
    def before_val(self, runner) -> None:
        if not (self.isolate_val_rng and self._in_train):
            return
        local = capture_rng_state(runner.model)
        ranks = all_gather_object(local) if get_world_size() > 1 else [local]
        self._val_snapshot = (local, ranks)

    def after_val(self, runner) -> None:
        if self._val_snapshot is not None:
            restore_rng_state(self._val_snapshot[0], runner.model)
            self._val_snapshot = None

    # -- resuming ------------------------------------------------------------
    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not runner_is_resuming(runner):
            return  # load_from: weights only, fresh random streams
        if RNG_KEY not in checkpoint:
            runner.logger.warning(
                'the checkpoint has no random-generator states (saved without '
                'ExactResumeHook): the resumed run will not repeat the '
                'uninterrupted one exactly')
            return
        self._loaded = dict(rng=checkpoint[RNG_KEY],
                            sampler=checkpoint.get(SAMPLER_KEY))

    def before_train_epoch(self, runner) -> None:
        if self._loaded is None:
            return
        loop = runner.train_loop
        if isinstance(loop, IterBasedTrainLoop):
            # MMEngine replays ``loop.iter`` batches right after this hook; restore
            # the streams after the replay, before the first new batch.
            wrap_train_data_iterator(
                loop, lambda it: _RestoreAfterReplay(
                    it, loop.iter, lambda: self._restore(runner)))
        else:
            # Epoch-based: the checkpoint was saved at the end of an epoch and the
            # new epoch starts now.
            self._restore(runner)

    def _restore(self, runner) -> None:
        loaded, self._loaded = self._loaded, None
        rng = loaded['rng']
        ranks = rng.get('ranks', [])
        world_size, rank = get_world_size(), get_rank()
        if rng.get('world_size', 1) != world_size:
            runner.logger.warning(
                f'the checkpoint was saved with {rng.get("world_size")} process(es), '
                f'this run has {world_size}: random streams are restored from rank '
                f'{rank % max(len(ranks), 1)} and will not match exactly')
        if not ranks:
            return
        mismatch = restore_rng_state(ranks[rank % len(ranks)], runner.model)
        if mismatch:
            runner.logger.warning(
                'model random generators differ between the checkpoint and the '
                f'model (not restored): {mismatch}')
        sampler = _train_sampler(runner)
        saved = loaded.get('sampler')
        if sampler is not None and saved is not None:
            now = sampler.state_dict()
            if _normalise(now) != _normalise(saved):
                # The replay re-created the sampler's position deterministically;
                # a difference means the sampler is not a function of its seed
                # and epoch (or the data settings changed).
                runner.logger.warning(
                    'after replaying the data loader the sampler state is '
                    f'{now}, the checkpoint has {saved}: the data order will '
                    'differ from the uninterrupted run')
        runner.logger.info(
            f'restored random generator states for iteration {runner.iter}')


def _normalise(obj):
    """Comparable form of a state dict (tensors -> lists)."""
    if isinstance(obj, dict):
        return {k: _normalise(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_normalise(v) for v in obj]
    if isinstance(obj, torch.Tensor):
        return obj.tolist()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return obj
