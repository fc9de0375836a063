"""Checks of the agreement between the training split and the model.

Run by ``TrainCheckHook`` at ``before_train``, on the built objects
(``tools/train.py`` checks ``train_cfg``'s length on the config, before building
the Runner). Values of one object (loss weights, diffusion steps, batch sizes) are
checked by the constructor that reads them. Every message names the config key at
fault and the fix.
"""
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

import numpy as np


class ConfigCheckError(ValueError):
    """A config value or a dataset/model combination cannot train correctly."""


def check_train_length(cfg: Any) -> None:
    """``train_cfg.max_iters`` / ``max_epochs`` is an int >= 1 (0 would exit
    successfully with nothing trained; MMEngine's loops do not check it)."""
    train_cfg = cfg.get('train_cfg', None) or {}
    for key in ('max_iters', 'max_epochs'):
        value = train_cfg.get(key, None)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigCheckError(
                f'train_cfg.{key} = {value!r}: must be an int >= 1 (with '
                f'{value!r} the run would end at once with nothing trained); '
                f'set e.g. --cfg-options train_cfg.{key}=100')


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
