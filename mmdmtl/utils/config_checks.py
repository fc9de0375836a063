"""Checks of a training config and of the agreement between dataset and model.

Run before the first iteration (``tools/train.py`` calls ``check_train_config`` on the
config; ``TrainCheckHook`` runs ``check_tasks_agree`` and the batch-size check on the
built objects at ``before_train`` and guards batch-norm layers during the first
iteration). Every message names the config key at fault and the fix.
"""
import math
from numbers import Number
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

import numpy as np


class ConfigCheckError(ValueError):
    """A config value or a dataset/model combination cannot train correctly."""


def _get(cfg: Any, key: str, default: Any = None) -> Any:
    """``cfg.a.b.c`` for key 'a.b.c' over dicts/ConfigDicts (default if absent)."""
    node = cfg
    for part in key.split('.'):
        if node is None:
            return default
        try:
            node = node.get(part, None) if hasattr(node, 'get') else getattr(
                node, part, None)
        except (AttributeError, TypeError, KeyError):
            return default
    return default if node is None else node


def check_loss_weights(model_cfg: Any, where: str = 'model') -> None:
    """``loss_weights`` values and ``init_loss_weight`` are finite numbers >= 0."""
    weights = _get(model_cfg, 'loss_weights') or {}
    if not isinstance(weights, Mapping):
        raise ConfigCheckError(
            f'{where}.loss_weights must be a dict task -> weight, got '
            f'{type(weights).__name__}')
    items = [(f'{where}.loss_weights.{k}', v) for k, v in weights.items()]
    init_w = _get(model_cfg, 'init_loss_weight')
    if init_w is not None:
        items.append((f'{where}.init_loss_weight', init_w))
    for key, value in items:
        if isinstance(value, bool) or not isinstance(value, Number):
            raise ConfigCheckError(f'{key} = {value!r}: a loss weight must be a '
                                   'number >= 0')
        if not math.isfinite(float(value)) or float(value) < 0:
            raise ConfigCheckError(
                f'{key} = {value}: loss weights must be finite and >= 0 (a '
                'negative weight maximises that loss); use 0 to switch a task '
                'off')


def check_batch_sizes(cfg: Any, loader_key: str = 'train_dataloader') -> None:
    """The data loader's batch size is a positive int and equals the sampler's
    ``batch_size`` when the sampler takes one (``PartialLabelSampler`` composes
    batches of that size)."""
    loader = _get(cfg, loader_key)
    if loader is None:
        return
    bs = _get(loader, 'batch_size')
    if bs is not None and (isinstance(bs, bool) or not isinstance(bs, int)
                           or bs < 1):
        raise ConfigCheckError(f'{loader_key}.batch_size = {bs!r}: must be an '
                               'int >= 1')
    sampler_bs = _get(loader, 'sampler.batch_size')
    if sampler_bs is not None and bs is not None and sampler_bs != bs:
        raise ConfigCheckError(
            f'{loader_key}.batch_size = {bs} but {loader_key}.sampler.batch_size '
            f'= {sampler_bs}: the sampler composes batches of its size while the '
            'loader cuts batches of its own, so batches would not be the ones the '
            f'sampler made; set both to the same value (or drop '
            f'{loader_key}.sampler.batch_size)')


def check_diffusion_steps(model_cfg: Any, where: str = 'model') -> None:
    """``refine_head.scheduler.num_train_timesteps`` / ``num_inference_steps`` are ints
    >= 1 with inference steps <= training timesteps."""
    head = _get(model_cfg, 'refine_head')
    if not head:
        return
    values = {}
    # T lives in the scheduler sub-config, S on the head
    for name, owner, key in (
            ('num_train_timesteps', _get(head, 'scheduler'), 'scheduler.'),
            ('num_inference_steps', head, '')):
        v = _get(owner, name) if owner else None
        if v is None:
            continue
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ConfigCheckError(f'{where}.refine_head.{key}{name} = {v!r}: must '
                                   'be an int >= 1')
        values[name] = v
    if len(values) == 2 and values['num_inference_steps'] > values[
            'num_train_timesteps']:
        raise ConfigCheckError(
            f'{where}.refine_head.num_inference_steps = '
            f'{values["num_inference_steps"]} exceeds '
            f'refine_head.scheduler.num_train_timesteps = '
            f'{values["num_train_timesteps"]}: the sampler can take at most one '
            'step per training timestep')


def check_train_length(cfg: Any) -> None:
    """``train_cfg.max_iters`` / ``max_epochs`` is an int >= 1 (0 would exit
    successfully with nothing trained)."""
    for key in ('max_iters', 'max_epochs'):
        value = _get(cfg, f'train_cfg.{key}')
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigCheckError(
                f'train_cfg.{key} = {value!r}: must be an int >= 1 (with '
                f'{value!r} the run would end at once with nothing trained); '
                f'set e.g. --cfg-options train_cfg.{key}=100')


def check_train_config(cfg: Any) -> None:
    """Every static check of a training config (raises ``ConfigCheckError``)."""
    model = _get(cfg, 'model')
    if model is not None:
        check_loss_weights(model)
        check_diffusion_steps(model)
    check_train_length(cfg)
    check_batch_sizes(cfg)
    zero_shot = _get(cfg, 'zero_shot_tasks')
    if zero_shot is not None:
        from mmdmtl.structures import check_task_names
        check_task_names(tuple(zero_shot), where='zero_shot_tasks')


# ------------------------------------------------------- dataset vs model
def unwrap_dataset(dataset: Any) -> List[Any]:
    """The leaf datasets of mmengine's wrappers (Concat/Repeat/ClassBalanced)."""
    if hasattr(dataset, 'datasets'):
        out = []
        for d in dataset.datasets:
            out.extend(unwrap_dataset(d))
        return out
    if hasattr(dataset, 'dataset') and not hasattr(dataset, 'label_matrix'):
        return unwrap_dataset(dataset.dataset)
    return [dataset]


def labelled_counts(dataset: Any) -> Optional[Dict[str, int]]:
    """task -> number of images of the split that carry its label (None when the
    dataset does not say, e.g. a stock mmseg dataset)."""
    counts: Dict[str, int] = {}
    known = False
    for d in unwrap_dataset(dataset):
        tasks = getattr(d, 'tasks', None)
        matrix = getattr(d, 'label_matrix', None)
        if tasks is None or matrix is None:
            continue
        known = True
        m = np.asarray(matrix, dtype=bool).reshape(-1, len(tasks))
        for t, c in zip(tasks, m.sum(0)):
            counts[t] = counts.get(t, 0) + int(c)
    return counts if known else None


def _describe(dataset: Any) -> str:
    leaves = unwrap_dataset(dataset)
    parts = []
    for d in leaves:
        bits = [f'data_root={getattr(d, "data_root", None)!r}']
        for attr in ('split', 'label_setting', 'split_file'):
            v = getattr(d, attr, None)
            if v is not None:
                bits.append(f'{attr}={v!r}')
        parts.append(f'{type(d).__name__}({", ".join(bits)})')
    return ' + '.join(parts)


def check_tasks_agree(model_tasks: Sequence[str],
                      dataset: Any,
                      zero_shot_tasks: Iterable[str] = (),
                      loader_key: str = 'train_dataloader') -> None:
    """Every task the model predicts is labelled somewhere in the training split
    (unless listed in ``zero_shot_tasks``), and every task the split labels has a
    head in the model."""
    counts = labelled_counts(dataset)
    if counts is None:
        return
    zero_shot = set(zero_shot_tasks or ())
    n = len(dataset)
    desc = _describe(dataset)
    unlabelled = [t for t in model_tasks
                  if counts.get(t, 0) == 0 and t not in zero_shot]
    if unlabelled:
        raise ConfigCheckError(
            f'model.tasks has {unlabelled} but the training split {desc} labels '
            f'{"it" if len(unlabelled) == 1 else "them"} on 0 of {n} images: '
            'such a head trains on zero loss and is saved untrained. Label it '
            f'({loader_key}.dataset.tasks / the split file), remove it from '
            f'model.tasks, or, for a deliberate zero-shot task, set '
            f'zero_shot_tasks = {unlabelled!r} in the config')
    headless = [t for t, c in counts.items() if c > 0 and t not in model_tasks]
    if headless:
        raise ConfigCheckError(
            f'the training split {desc} labels {headless} '
            f'({", ".join(f"{t}: {counts[t]} images" for t in headless)}) but '
            f'model.tasks {list(model_tasks)} has no head for '
            f'{"it" if len(headless) == 1 else "them"}: add '
            f'{"it" if len(headless) == 1 else "them"} to model.tasks or drop '
            f'{"it" if len(headless) == 1 else "them"} from '
            f'{loader_key}.dataset.tasks')


def check_loader_batch_size(loader: Any, loader_key: str = 'train_dataloader'
                            ) -> None:
    """A built data loader's batch size agrees with its sampler's."""
    sampler = getattr(loader, 'sampler', None)
    sampler_bs = getattr(sampler, 'batch_size', None)
    bs = getattr(loader, 'batch_size', None)
    if sampler_bs and bs and sampler_bs != bs:
        raise ConfigCheckError(
            f'{loader_key}.batch_size = {bs} but its sampler '
            f'{type(sampler).__name__} composes batches of {sampler_bs} '
            f'({loader_key}.sampler.batch_size); set both to the same value')


def batch_exceeds_dataset(loader: Any, world_size: int = 1,
                          loader_key: str = 'train_dataloader'
                          ) -> Optional[str]:
    """A warning text when one step's batch (over all processes) is larger than
    the training split, so every batch repeats images; None otherwise."""
    bs = getattr(loader, 'batch_size', None) or getattr(
        getattr(loader, 'batch_sampler', None), 'batch_size', None)
    try:
        n = len(loader.dataset)
    except (AttributeError, TypeError):
        return None
    if not bs or n == 0 or bs * world_size <= n:
        return None
    total = (f'{bs} x {world_size} processes = {bs * world_size}'
             if world_size > 1 else str(bs))
    return (f'{loader_key}.batch_size gives {total} images per step but the '
            f'training split has only {n}: every batch repeats images (an '
            f'epoch is shorter than one batch); lower {loader_key}.batch_size '
            'or use a larger split')


def check_classes_agree(model_tasks: Mapping[str, int], dataset: Any,
                        where: str = 'train_dataloader') -> None:
    """Each class task's output channels (``model.tasks``) equal the number of
    classes the dataset names (``metainfo[TaskSpec.classes_key]``)."""
    from mmdmtl.structures import TASKS
    meta = getattr(dataset, 'metainfo', None) or {}
    for task, channels in model_tasks.items():
        spec = TASKS.get(task)
        key = getattr(spec, 'classes_key', None)
        names = meta.get(key) if key else None
        if spec is None or spec.kind != 'class' or not names:
            continue
        if int(channels) != len(names):
            raise ConfigCheckError(
                f'model.tasks.{task} = {channels} output channels but the '
                f'{where} dataset names {len(names)} {task} classes '
                f'(metainfo {key!r}); labels of class >= {channels} would be out '
                f'of range: set model.tasks.{task}={len(names)} or fix the '
                f'dataset\'s metainfo {key!r}')
