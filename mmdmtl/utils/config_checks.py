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
    """The data loader's batch size is a positive int."""
    loader = _get(cfg, loader_key)
    if loader is None:
        return
    bs = _get(loader, 'batch_size')
    if bs is not None and (isinstance(bs, bool) or not isinstance(bs, int)
                           or bs < 1):
        raise ConfigCheckError(f'{loader_key}.batch_size = {bs!r}: must be an '
                               'int >= 1')


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


def check_train_config(cfg: Any) -> None:
    """Every static check of a training config (raises ``ConfigCheckError``)."""
    model = _get(cfg, 'model')
    if model is not None:
        check_loss_weights(model)
        check_diffusion_steps(model)
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
