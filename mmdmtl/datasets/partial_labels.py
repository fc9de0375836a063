"""Partial-label settings: which tasks are labelled for which image.

Three settings (method.md): ``'full'`` (every task of every image), ``'one_label'``
(exactly one task per image) and ``'random_label'`` (a random non-empty, non-full
subset per image). A partial setting comes either from a split file or is generated
from a seed.

Split file formats read as published (see shared/data/partial_label_splits):

* ``.pth`` (MTPSL/DiffusionMTL NYUv2 and Cityscapes): ``{'labels_weights':
  Tensor[N, T]}``; row i is the i-th image of the dataset (in dataset order), a
  non-zero weight marks a labelled task. The column order is the dataset's
  ``SPLIT_COLUMNS`` (NYUv2: semseg, depth, normals; Cityscapes: semseg, depth).
* ``.npy`` (PASCAL-Context): a pickled dict ``{task: [image_id, ...]}``.

Both are read by ``mmdmtl.utils.safe_load`` (weights-only / an allow-list
unpickler): a split file that holds anything else is refused, never executed.
* ``.json`` (ours): ``{image_id: [task, ...]}``, written and converted by
  ``tools/dataset_converters/make_partial_split.py``.

Everything here works on a boolean matrix ``[num_images, num_tasks]`` in dataset
order; the helpers convert between it and the file formats.
"""
import json
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from mmdmtl.structures import check_task_names
from mmdmtl.utils.safe_load import load_pickled_npy, load_torch_file
from .file_io import DataFileError, drop_id_suffixes

LABEL_SETTINGS = ('full', 'one_label', 'random_label')
SPLIT_FORMATS = ('.pth', '.npy', '.json')


def check_label_setting(setting: str) -> str:
    if setting not in LABEL_SETTINGS:
        raise ValueError(f'unknown label_setting {setting!r}; choose one of '
                         f'{list(LABEL_SETTINGS)}')
    return setting


def generate_label_matrix(num_images: int, num_tasks: int, setting: str,
                          seed: int = 0) -> np.ndarray:
    """Draw a label matrix for ``setting`` from ``seed``.

    one_label: tasks are dealt round-robin over a random permutation, so the
    per-task counts differ by at most one (as in the published files).
    random_label: each image gets ``k ~ U{1..T-1}`` distinct random tasks
    (with one task there is no partial subset: every image is labelled).
    """
    check_label_setting(setting)
    if setting == 'full' or num_tasks == 1:
        return np.ones((num_images, num_tasks), dtype=bool)
    rng = np.random.default_rng(seed)
    if setting == 'one_label':
        order = rng.permutation(num_images)
        matrix = np.zeros((num_images, num_tasks), dtype=bool)
        matrix[order, np.arange(num_images) % num_tasks] = True
        return matrix
    k = rng.integers(1, num_tasks, size=num_images)  # 1..T-1
    # A random permutation of the tasks per image; keep its first k entries.
    ranks = np.argsort(rng.random((num_images, num_tasks)), axis=1).argsort(1)
    return ranks < k[:, None]


def _mismatch_message(path: str, missing: Sequence[str],
                      extra: Sequence[str]) -> str:
    parts = []
    if missing:
        parts.append(f'{len(missing)} dataset image(s) are not in the split '
                     f'file (e.g. {list(missing[:5])})')
    if extra:
        parts.append(f'{len(extra)} image id(s) of the split file are not in '
                     f'the dataset (e.g. {list(extra[:5])})')
    return f'split file {path} does not match the dataset: ' + '; '.join(parts)


def read_split_file(path: str,
                    image_ids: Sequence[str],
                    split_columns: Optional[Sequence[str]] = None,
                    strict: bool = True) -> Tuple[np.ndarray, Tuple[str, ...]]:
    """Read a split file into a label matrix over ``image_ids``.

    Args:
        path: a ``.pth``, ``.npy`` or ``.json`` split file.
        image_ids: the dataset's image ids in dataset order.
        split_columns: task names of the columns of a ``.pth`` file.
        strict: if False, ids of the split file that the dataset lacks are
            ignored (e.g. a dataset restricted to a subset of the images);
            dataset images missing from the split always raise.

    Returns:
        (matrix bool [len(image_ids), T], task names of the columns).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'split file not found: {path}')
    ext = osp.splitext(path)[1].lower()
    ids = [str(i) for i in image_ids]
    if ext == '.pth':
        # The published files are a dict of tensors (legacy torch format):
        # weights-only reads them; anything else is refused, never unpickled.
        data = load_torch_file(path, 'split file')
        if not isinstance(data, dict) or 'labels_weights' not in data:
            raise DataFileError(f'{path}: expected a dict with key '
                                "'labels_weights'")
        weights = np.asarray(data['labels_weights'])
        if split_columns is None:
            raise ValueError(f'{path}: a .pth split file has no task names; '
                             'the dataset must give split_columns')
        columns = check_task_names(split_columns, where=f'columns of {path}')
        if weights.ndim != 2 or weights.shape[1] != len(columns):
            raise DataFileError(
                f'{path}: labels_weights has shape {tuple(weights.shape)}, '
                f'expected [N, {len(columns)}] (columns {list(columns)})')
        if weights.shape[0] != len(ids):
            raise DataFileError(
                f'split file {path} has {weights.shape[0]} rows but the dataset '
                f'has {len(ids)} images (rows are matched by position)')
        return weights != 0, columns
    if ext == '.npy':
        data = load_pickled_npy(path, 'split file')
        if not isinstance(data, dict):
            raise DataFileError(f'{path}: expected a pickled dict '
                                '{task: [image ids]}')
        columns = check_task_names(list(data), where=f'keys of {path}')
        per_task = {t: {str(i) for i in data[t]} for t in columns}
        by_image: Dict[str, List[str]] = {}
        for t in columns:
            for i in per_task[t]:
                by_image.setdefault(i, []).append(t)
    elif ext == '.json':
        with open(path) as f:
            try:
                by_image = json.load(f)
            except json.JSONDecodeError as e:
                raise DataFileError(f'cannot parse JSON split file {path}: {e}')
        if not isinstance(by_image, dict):
            raise DataFileError(f'{path}: expected a JSON object '
                                '{image_id: [tasks]}')
        names = sorted({t for ts in by_image.values() for t in ts})
        check_task_names(names, where=f'task lists of {path}')
        from mmdmtl.structures import TASK_NAMES
        columns = tuple(t for t in TASK_NAMES if t in names)
    else:
        raise ValueError(f'split file {path}: unknown format {ext!r}, expected '
                         f'one of {list(SPLIT_FORMATS)}')
    id_set = set(ids)
    if ext == '.json':  # '0000.jpg': {...} reads as image 0000
        by_image = dict(zip(drop_id_suffixes(list(by_image), id_set, path),
                            by_image.values()))
    missing = [i for i in ids if i not in by_image]
    extra = sorted(i for i in by_image if i not in id_set)
    if missing or (extra and strict):
        raise DataFileError(_mismatch_message(path, missing,
                                              extra if strict else []))
    col = {t: j for j, t in enumerate(columns)}
    matrix = np.zeros((len(ids), len(columns)), dtype=bool)
    for row, i in enumerate(ids):
        for t in by_image[i]:
            matrix[row, col[t]] = True
    return matrix, columns


def matrix_to_mapping(matrix: np.ndarray, image_ids: Sequence[str],
                      tasks: Sequence[str]) -> Dict[str, List[str]]:
    return {
        str(i): [t for t, on in zip(tasks, row) if on]
        for i, row in zip(image_ids, matrix)
    }


def write_split_file(path: str, matrix: np.ndarray, image_ids: Sequence[str],
                     tasks: Sequence[str], overwrite: bool = False) -> None:
    """Write a label matrix in the format given by ``path``'s extension.

    An existing ``path`` is refused (``OutputExistsError``) unless
    ``overwrite=True``: a split file is data that mmdmtl cannot tell apart
    from a published one.
    """
    from mmdmtl.utils.safe_output import check_output_file
    check_output_file(path, 'split file', overwrite)
    tasks = check_task_names(tasks)
    matrix = np.asarray(matrix, dtype=bool)
    if matrix.shape != (len(image_ids), len(tasks)):
        raise ValueError(f'matrix shape {matrix.shape} does not match '
                         f'{len(image_ids)} ids x {len(tasks)} tasks')
    ext = osp.splitext(path)[1].lower()
    if ext == '.json':
        with open(path, 'w') as f:
            json.dump(matrix_to_mapping(matrix, image_ids, tasks), f, indent=0)
    elif ext == '.npy':
        ids = np.asarray([str(i) for i in image_ids])
        data = {t: [str(i) for i in ids[matrix[:, j]]]
                for j, t in enumerate(tasks)}
        # The published layout: a pickled dict in an object array (np.save
        # pickles object arrays; load_pickled_npy reads them back safely).
        np.save(path, np.array(data, dtype=object))
    elif ext == '.pth':
        import torch
        torch.save({'labels_weights': torch.from_numpy(matrix.astype(np.float32))},
                   path)
    else:
        raise ValueError(f'{path}: unknown split format {ext!r}, expected one '
                         f'of {list(SPLIT_FORMATS)}')


def split_summary(matrix: np.ndarray, tasks: Sequence[str]) -> str:
    counts = matrix.sum(0)
    per_image = np.bincount(matrix.sum(1), minlength=len(tasks) + 1)
    return (', '.join(f'{t}: {int(c)}' for t, c in zip(tasks, counts)) +
            f' | images with k labelled tasks: {per_image.tolist()}')
