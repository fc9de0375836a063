"""``MultiTaskDataset``: the base of every mmdmtl dataset.

A subclass lists its images with per-task annotation records (``_load_samples``);
this base class validates the requested tasks, decides which tasks each image is
labelled for (``label_setting`` + split file or seed) and drops the annotation
records of unlabelled tasks, so ``LoadMultiTaskAnnotations`` never even opens them.

data_info of one image::

    dict(img_path=..., sample_id='2008_000008', sample_idx=0,
         ann_info={task: dict(path=..., fmt=..., **decoder options)},  # labelled only
         labeled_tasks=('semseg', 'normals'),   # ordered as dataset.tasks
         task_classes={'semseg': 21, ...},      # for the class-range check
         img_fmt='image' | 'npy')
"""
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmengine.dataset import BaseDataset
from mmengine.logging import MMLogger, print_log

from mmdmtl.registry import DATASETS
from mmdmtl.structures import TASKS, check_task_names
from .partial_labels import (check_label_setting, generate_label_matrix,
                             read_split_file, split_summary)

# Exceptions a broken sample raises while loading (skipped when asked to).
BAD_SAMPLE_ERRORS = (FileNotFoundError, ValueError, OSError)


@DATASETS.register_module()
class MultiTaskDataset(BaseDataset):
    """Dense multi-task dataset with partial labels.

    Subclasses set ``AVAILABLE_TASKS`` (published names, in the dataset's order),
    ``METAINFO`` (``classes``/``palette`` for semseg, ``part_classes`` for
    human_parts), optionally ``SPLIT_COLUMNS`` (task order of ``.pth`` split
    files) and implement ``_load_samples()``.

    Args:
        tasks (Sequence[str], optional): the tasks to use, a subset of
            ``AVAILABLE_TASKS`` (default: all of them).
        label_setting (str): 'full', 'one_label' or 'random_label'.
        split_file (str, optional): a published/JSON split file defining the
            partial setting (a relative path is looked up under ``data_root``
            first, then relative to the working directory).
            None with a partial setting: generate it from ``split_seed``.
        split_seed (int): seed of a generated split.
        split_strict (bool): with False, ids of the split file that this dataset
            lacks are ignored (e.g. when ``indices`` took a subset).
        drop_unlabeled (bool): drop images left with no labelled task (e.g. a
            single-task baseline on a one-label split). Default False.
        on_bad_sample (str): 'raise' (default) or 'skip': in training, a sample
            whose files are missing/corrupt/invalid is replaced by another one
            and counted in the log; at test time errors always raise.
        **kwargs: ``mmengine.dataset.BaseDataset`` arguments (data_root,
            ann_file, pipeline, test_mode, indices, ...).
    """
    AVAILABLE_TASKS: Tuple[str, ...] = ()
    SPLIT_COLUMNS: Optional[Tuple[str, ...]] = None
    METAINFO: dict = dict()

    def __init__(self,
                 tasks: Optional[Sequence[str]] = None,
                 label_setting: str = 'full',
                 split_file: Optional[str] = None,
                 split_seed: int = 0,
                 split_strict: bool = True,
                 drop_unlabeled: bool = False,
                 on_bad_sample: str = 'raise',
                 **kwargs):
        name = type(self).__name__
        if tasks is None:
            tasks = self.AVAILABLE_TASKS
        tasks = check_task_names(tasks, where=f'{name}(tasks=...)')
        not_here = [t for t in tasks if t not in self.AVAILABLE_TASKS]
        if not_here:
            raise ValueError(f'{name} has no task(s) {not_here}; its tasks are '
                             f'{list(self.AVAILABLE_TASKS)}')
        if not tasks:
            raise ValueError(f'{name}: tasks must not be empty')
        # Keep the dataset's order whatever order the config used.
        self.tasks = tuple(t for t in self.AVAILABLE_TASKS if t in tasks)
        self.label_setting = check_label_setting(label_setting)
        self.split_file = split_file
        self.split_seed = split_seed
        self.split_strict = split_strict
        self.drop_unlabeled = drop_unlabeled
        if on_bad_sample not in ('raise', 'skip'):
            raise ValueError(f"on_bad_sample must be 'raise' or 'skip', got "
                             f'{on_bad_sample!r}')
        self.on_bad_sample = on_bad_sample
        self.num_bad_samples = 0
        self._label_matrix: Optional[np.ndarray] = None
        super().__init__(**kwargs)
        self._metainfo.update(self._task_metainfo())

    # ------------------------------------------------------------------ meta
    @classmethod
    def _task_classes_of(cls, metainfo: dict) -> Dict[str, int]:
        return {task: len(metainfo[spec.classes_key])
                for task, spec in TASKS.items()
                if spec.classes_key and spec.classes_key in metainfo}

    def _task_metainfo(self) -> dict:
        classes = self._task_classes_of(self._metainfo)
        return dict(
            tasks=self.tasks,
            label_setting=self.label_setting,
            task_classes={t: n for t, n in classes.items() if t in self.tasks})

    # ------------------------------------------------------------- loading
    def _load_samples(self) -> List[dict]:
        """Return one dict per image with keys ``img_path``, ``sample_id``,
        ``ann_info`` ({task: record} for every task in ``self.tasks``) and any
        extra keys the pipeline needs."""
        raise NotImplementedError

    def _resolve(self, path: Optional[str]) -> Optional[str]:
        if path is None or osp.isabs(path) or not self.data_root:
            return path
        return osp.join(self.data_root, path)

    def load_data_list(self) -> List[dict]:
        samples = self._load_samples()
        name = type(self).__name__
        if not samples:
            raise ValueError(f'{name}: no images found (data_root='
                             f'{self.data_root!r}, ann_file={self.ann_file!r})')
        ids = [str(s['sample_id']) for s in samples]
        matrix = self._build_label_matrix(ids)
        classes = self._task_classes_of(self._metainfo)
        task_classes = {t: n for t, n in classes.items() if t in self.tasks}
        data_list = []
        for row, sample in zip(matrix, samples):
            labeled = tuple(t for t, on in zip(self.tasks, row) if on)
            if not labeled and self.drop_unlabeled:
                continue
            info = dict(sample)
            ann = sample.get('ann_info', {})
            missing = [t for t in labeled if t not in ann]
            if missing:
                raise ValueError(f'{name}: image {sample["sample_id"]} is '
                                 f'labelled for {missing} but has no annotation '
                                 'record for it')
            # Unlabelled tasks lose their record: their files are never read.
            info['ann_info'] = {t: ann[t] for t in labeled}
            info['labeled_tasks'] = labeled
            info['task_classes'] = task_classes
            info.setdefault('img_fmt', 'image')
            data_list.append(info)
        kept = np.array([bool(r.any()) or not self.drop_unlabeled for r in matrix])
        self._label_matrix = matrix[kept]
        print_log(f'{name} ({"test" if self.test_mode else "train"}): '
                  f'{len(data_list)} images, tasks {list(self.tasks)}, '
                  f'{self._labelling()}: '
                  f'{split_summary(self._label_matrix, self.tasks)}',
                  logger='current')
        return data_list

    def _labelling(self) -> str:
        """How the label matrix was made, for the log line."""
        return f'label_setting={self.label_setting!r}'

    def _build_label_matrix(self, ids: List[str]) -> np.ndarray:
        n, tasks = len(ids), self.tasks
        if self.label_setting == 'full':
            if self.split_file is not None:
                raise ValueError(f"split_file={self.split_file!r} given with "
                                 "label_setting='full'")
            return np.ones((n, len(tasks)), dtype=bool)
        if self.split_file is None:
            return generate_label_matrix(n, len(tasks), self.label_setting,
                                         self.split_seed)
        path = self.split_file
        if not osp.isabs(path) and self.data_root and osp.isfile(
                osp.join(self.data_root, path)):
            path = osp.join(self.data_root, path)
        matrix, columns = read_split_file(path, ids, self.SPLIT_COLUMNS,
                                          strict=self.split_strict)
        unknown = [t for t in tasks if t not in columns]
        if unknown:
            raise ValueError(f'split file {path} covers tasks {list(columns)}, '
                             f'not the dataset task(s) {unknown}')
        cols = [columns.index(t) for t in tasks]
        return matrix[:, cols]

    # ---------------------------------------------------------------- access
    @property
    def label_matrix(self) -> np.ndarray:
        """Bool [len(self), len(self.tasks)]: (i, t) says image i is labelled
        for ``self.tasks[t]``. Used by ``PartialLabelSampler``."""
        if self._label_matrix is None:
            self.full_init()
        if self._indices is not None or len(self._label_matrix) != len(self):
            # ``indices`` subsetting happens after load_data_list.
            rows = [[t in self.get_data_info(i)['labeled_tasks']
                     for t in self.tasks] for i in range(len(self))]
            self._label_matrix = np.asarray(rows, dtype=bool).reshape(
                len(self), len(self.tasks))
        return self._label_matrix

    def prepare_data(self, idx: int) -> Any:
        if self.on_bad_sample == 'raise' or self.test_mode:
            return super().prepare_data(idx)
        try:
            return super().prepare_data(idx)
        except BAD_SAMPLE_ERRORS as e:
            # BaseDataset.__getitem__ replaces a None by another random sample.
            self.num_bad_samples += 1
            MMLogger.get_current_instance().warning(
                f'{type(self).__name__}: skipped bad sample {idx} '
                f'({self.num_bad_samples} so far): {e}')
            return None
