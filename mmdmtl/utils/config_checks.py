"""Checks of the agreement between the training split and the model.

Run by ``TrainCheckHook`` at ``before_train``, on the built objects. Values of one
object (loss weights, diffusion steps, batch sizes) are checked by the constructor
that reads them. Every message names the config key at fault and the fix.
"""
from typing import Any, Dict, Iterable, List, Optional, Sequence

import numpy as np


class ConfigCheckError(ValueError):
    """A config value or a dataset/model combination cannot train correctly."""


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
