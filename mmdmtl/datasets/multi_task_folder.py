"""``MultiTaskFolderDataset``: your own multi-task data in plain folders.

One folder of images and, per task, one folder of label files named like the
images (``images/0001.jpg`` <-> ``semseg/0001.png`` <-> ``depth/0001.png``)::

    data_root/
      images/0001.jpg ...          # any format OpenCV reads (jpg, png, bmp, tif, webp)
      semseg/0001.png ...          # class ids, 255 = ignore
      depth/0001.png ...           # 16-bit millimetres (scale 1e-3 -> metres)
      splits/train.txt             # optional: image ids, one a line

Config (every task any decoder; see docs/customize_datasets.md)::

    dict(type='MultiTaskFolderDataset',
         data_root='data/my_data', ann_file='splits/train.txt',
         img_dir='images', img_suffix='.jpg',
         tasks=dict(semseg=dict(dir='semseg', suffix='.png'),
                    depth=dict(dir='depth', suffix='.png', scale=1e-3)),
         metainfo=dict(classes=('road', 'car'), palette=[[128, 64, 128], [0, 0, 142]]),
         label_setting='one_label', split_seed=0)

Everything ``MultiTaskDataset`` offers applies: ``label_setting``/``split_file``/
``split_seed``, ``drop_unlabeled``, ``on_bad_sample``, the label checks of
``LoadMultiTaskAnnotations`` (class range, unit normals, finite depth, sizes).
"""
import logging
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

import numpy as np

from mmdmtl.registry import DATASETS
from mmdmtl.structures import TASK_NAMES, TASKS
from .file_io import drop_id_suffixes, read_id_list, read_label_png
from .multi_task_dataset import MultiTaskDataset
from .transforms.annotation_decoders import _to_uint8_labels, register_decoder

# Extensions of the image files found when ``img_suffix`` is None (all decoded by
# OpenCV's imdecode).
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp',
                    '.ppm', '.pgm', '.jp2')


@register_decoder('png_class_reduce_zero')
def decode_png_class_reduce_zero(path: str, **_) -> np.ndarray:
    """Class-id PNG whose 0 means "unlabelled" (mmseg's ``reduce_zero_label``):
    0 -> 255 (ignore), k -> k - 1, 255 stays 255."""
    lab = read_label_png(path).astype(np.int64)
    void = (lab == 0) | (lab == 255)
    lab = lab - 1
    lab[void] = 255
    return _to_uint8_labels(lab, path)


# User-facing decoder names -> registered decoder (one name each).
DECODER_ALIASES = {
    'class_png': 'png_class',
    'class_npy': 'npy_class',
    'depth_png16': 'png_depth',
    'depth_npy': 'npy_depth',
    'normals_png': 'png_normals',
    'normals_png16': 'png16_normals',
    'normals_npy': 'npy_normals',
    'binary_png': 'png_binary',
    'binary_npy': 'npy_binary',
}
# Default decoder by task kind and suffix.
_DEFAULT_DECODERS = {
    'class': {'.png': 'class_png', '.npy': 'class_npy'},
    'binary': {'.png': 'binary_png', '.npy': 'binary_npy'},
    'normals': {'.png': 'normals_png', '.npy': 'normals_npy'},
    'depth': {'.png': 'depth_png16', '.npy': 'depth_npy'},
}
# The decoders that fit each task kind (so semseg cannot be read as depth).
_KIND_DECODERS = {
    'class': ('png_class', 'npy_class', 'png_class_reduce_zero'),
    'binary': ('png_binary', 'npy_binary'),
    'normals': ('png_normals', 'png16_normals', 'npy_normals'),
    'depth': ('png_depth', 'npy_depth'),
}
# Options each decoder takes from the task spec (anything else is a typo).
_DECODER_OPTIONS = {
    'png_class': ('reduce_zero_label', ),
    'npy_class': (),
    'png_class_reduce_zero': (),
    'png_binary': ('threshold', ),
    'npy_binary': ('threshold', ),
    'png_normals': ('white_invalid', ),
    'png16_normals': (),
    'npy_normals': (),
    'png_depth': ('scale', ),
    'npy_depth': ('scale', ),
}
_SPEC_KEYS = ('dir', 'suffix', 'decoder')
_CLASS_META = {task: (spec.classes_key, spec.palette_key)
               for task, spec in TASKS.items() if spec.classes_key}


def _fitting(kind: str) -> list:
    return sorted(k for k, v in DECODER_ALIASES.items()
                  if v in _KIND_DECODERS[kind])


def _ann_record(task: str, spec: Union[str, dict], where: str) -> dict:
    """Validate one task spec; return dict(dir, suffix, fmt, options)."""
    if isinstance(spec, str):
        spec = dict(dir=spec)
    if not isinstance(spec, dict):
        raise TypeError(f'{where}: expected a folder name or dict(dir=..., '
                        f'suffix=..., decoder=...), got {type(spec).__name__}')
    spec = dict(spec)
    kind = TASKS[task].kind
    folder = spec.get('dir', task)
    suffix = spec.get('suffix', '.png')
    if not isinstance(suffix, str) or not suffix:
        raise ValueError(f"{where}: suffix {suffix!r} should look like '.png' "
                         "(or '_depth.npy')")
    # the extension ('.png' of '_depth.png'; splitext('.png') would give '')
    ext = '.' + suffix.rsplit('.', 1)[-1].lower() if '.' in suffix else ''
    decoder = spec.get('decoder')
    if decoder is None:
        decoder = _DEFAULT_DECODERS[kind].get(ext)
        if decoder is None:
            raise ValueError(
                f'{where}: no default decoder for {task} files ending in '
                f"{suffix!r}; set decoder= one of {_fitting(kind)}")
    fmt = DECODER_ALIASES.get(decoder)
    if fmt is None:
        raise ValueError(f'{where}: unknown decoder {decoder!r}; choose one of '
                         f'{sorted(DECODER_ALIASES)}')
    if fmt not in _KIND_DECODERS[kind]:
        raise ValueError(f'{where}: decoder {decoder!r} does not read {task} '
                         f'({kind}) labels; use one of {_fitting(kind)}')
    allowed = _DECODER_OPTIONS.get(fmt, ())
    options = {k: v for k, v in spec.items() if k not in _SPEC_KEYS}
    bad = [k for k in options if k not in allowed]
    if bad:
        raise ValueError(f'{where}: unknown option(s) {bad} for decoder '
                         f'{decoder!r} (it takes {list(allowed) or "none"})')
    if options.pop('reduce_zero_label', False):
        fmt = 'png_class_reduce_zero'
    if 'scale' in options:
        scale = options['scale']
        if not isinstance(scale, (int, float)) or not scale > 0:
            raise ValueError(f'{where}: scale must be a positive number, got '
                             f'{scale!r}')
    return dict(dir=folder, suffix=suffix, fmt=fmt, options=options)


def _list_files(folder: str, suffixes: Sequence[str]) -> Dict[str, str]:
    """{id: relative path} of the files under ``folder`` (recursively) whose
    name ends in one of ``suffixes``; the id is the relative path without it."""
    found: Dict[str, str] = {}
    lowered = tuple(s.lower() for s in suffixes)
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            low = name.lower()
            hit = next((s for s in lowered if low.endswith(s)), None)
            if hit is None:
                continue
            rel = osp.relpath(osp.join(dirpath, name), folder).replace(os.sep, '/')
            sid = rel[:len(rel) - len(hit)]
            if sid in found:
                raise ValueError(
                    f'{folder}: two files for image id {sid!r}: {found[sid]} and '
                    f'{rel}; set img_suffix to choose one')
            found[sid] = rel
    return found


@DATASETS.register_module()
class MultiTaskFolderDataset(MultiTaskDataset):
    """A multi-task dataset read from one folder per task.

    Args:
        tasks (dict): ``{task: spec}`` for any subset of semseg, human_parts, sal,
            normals, edge, depth. A spec is a folder name or a dict with
            ``dir`` (folder under ``data_root``; default: the task name),
            ``suffix`` (default '.png'), ``decoder`` (default: by task and
            suffix) and the decoder's options:

            ============== ============================== =====================
            decoder        reads                          options
            ============== ============================== =====================
            class_png      class-id PNG, 255 = ignore     reduce_zero_label
            class_npy      int/float ids, < 0 = ignore
            depth_png16    16-bit PNG, 0 = invalid        scale (default 1e-3)
            depth_npy      float [H, W], 0 = invalid      scale (default 1)
            normals_png    RGB PNG, n = 2 v / 255 - 1     white_invalid (True)
            normals_png16  16-bit RGB PNG
            normals_npy    float [H, W, 3] in [-1, 1]
            binary_png     0..255, label = v > threshold  threshold (127)
            binary_npy     0/1 or [0, 1]                  threshold (0.5)
            ============== ============================== =====================

            ``reduce_zero_label=True``: 0 is "unlabelled" (-> 255) and the
            classes start at 1 (as mmseg's ADE20K).
        img_dir (str): image folder under ``data_root``. Default 'images'.
        img_suffix (str, optional): e.g. '.jpg'; None takes every image file
            OpenCV reads (one per id).
        ann_file (str): a text file of image ids (file names without suffix,
            relative to ``img_dir``), one a line; '' takes every image of
            ``img_dir``.
        missing_labels (str): what a missing label file of a labelled (image,
            task) pair means: 'error' (default; the message names the files)
            or 'unlabelled' (that task is then not labelled for that image;
            for data that only has some tasks' files per image).
        split_columns (Sequence[str], optional): the task order of the columns
            of a ``.pth`` split file. Default: ``tasks`` in task-table order.
        metainfo (dict): ``classes`` (semseg, required), ``palette``,
            ``part_classes`` (human_parts, required), ``part_palette``.
        **kwargs: ``MultiTaskDataset`` arguments (label_setting, split_file,
            split_seed, split_strict, drop_unlabeled, on_bad_sample, pipeline,
            test_mode, indices, ...).
    """
    METAINFO: dict = dict()

    def __init__(self,
                 tasks: Dict[str, Union[str, dict]],
                 img_dir: str = 'images',
                 img_suffix: Optional[str] = None,
                 ann_file: str = '',
                 missing_labels: str = 'error',
                 split_columns: Optional[Sequence[str]] = None,
                 **kwargs):
        name = type(self).__name__
        if not isinstance(tasks, dict) or not tasks:
            raise TypeError(
                f'{name}: tasks must be a non-empty dict {{task: folder or '
                f"dict(dir=..., suffix=..., decoder=...)}}, e.g. tasks=dict("
                f"semseg='semseg'); got {tasks!r}")
        unknown = [t for t in tasks if t not in TASKS]
        if unknown:
            raise ValueError(f'{name}: unknown task name(s) {unknown} in tasks; '
                             f'valid task names are {list(TASK_NAMES)}')
        self.task_specs = {
            t: _ann_record(t, tasks[t], f'{name}(tasks.{t})')
            for t in TASK_NAMES if t in tasks
        }
        # Instance-level: the tasks this dataset offers are the configured ones.
        self.AVAILABLE_TASKS = tuple(self.task_specs)
        self.SPLIT_COLUMNS = (tuple(split_columns) if split_columns is not None
                              else self.AVAILABLE_TASKS)
        if missing_labels not in ('error', 'unlabelled'):
            raise ValueError(f"{name}: missing_labels must be 'error' or "
                             f"'unlabelled', got {missing_labels!r}")
        self.missing_labels = missing_labels
        self.img_dir = img_dir
        if img_suffix is not None and (not isinstance(img_suffix, str)
                                       or not img_suffix):
            raise ValueError(f"{name}: img_suffix {img_suffix!r} should look "
                             "like '.jpg'")
        self.img_suffix = img_suffix
        self._present: Dict[str, set] = {}
        super().__init__(tasks=tuple(self.task_specs), ann_file=ann_file,
                         **kwargs)
        self._check_class_metainfo()

    # ------------------------------------------------------------------ meta
    def _check_class_metainfo(self) -> None:
        name = type(self).__name__
        for task, (cls_key, pal_key) in _CLASS_META.items():
            if task not in self.tasks:
                continue
            classes = self._metainfo.get(cls_key)
            if not classes:
                raise ValueError(
                    f'{name}: task {task} needs the class names: metainfo=dict('
                    f"{cls_key}=('name0', 'name1', ...)) (id k is the k-th name)")
            palette = self._metainfo.get(pal_key)
            if palette is not None:
                pal = np.asarray(palette)
                if pal.ndim != 2 or pal.shape[1] != 3 or \
                        len(pal) != len(classes):
                    raise ValueError(
                        f'{name}: metainfo {pal_key} has shape {pal.shape}, '
                        f'expected [{len(classes)}, 3] (one RGB per entry of '
                        f'{cls_key})')

    def _task_metainfo(self) -> dict:
        meta = super()._task_metainfo()
        meta['task_files'] = {
            t: dict(dir=s['dir'], suffix=s['suffix'], decoder=s['fmt'])
            for t, s in self.task_specs.items()}
        return meta

    # ------------------------------------------------------------- loading
    def _image_ids(self, img_root: str) -> Dict[str, str]:
        name = type(self).__name__
        if not osp.isdir(img_root):
            raise FileNotFoundError(f'{name}: image folder not found: {img_root} '
                                    f'(data_root={self.data_root!r}, img_dir='
                                    f'{self.img_dir!r})')
        suffixes = ((self.img_suffix, ) if self.img_suffix else IMAGE_EXTENSIONS)
        listed = _list_files(img_root, suffixes)
        self._all_image_ids = set(listed)
        if not self.ann_file:
            if not listed:
                raise ValueError(f'{name}: no image files ending in '
                                 f'{list(suffixes)} under {img_root}')
            return listed
        ids = drop_id_suffixes(read_id_list(self.ann_file), listed, self.ann_file)
        missing = [i for i in ids if i not in listed]
        if missing:
            raise FileNotFoundError(
                f'{name}: {len(missing)} id(s) of {self.ann_file} have no image '
                f'in {img_root} (suffix {list(suffixes)}), e.g. {missing[:3]}')
        return {i: listed[i] for i in ids}

    def _load_samples(self) -> List[dict]:
        img_root = self._resolve(self.img_dir)
        images = self._image_ids(img_root)
        self._present = {}
        for task, spec in self.task_specs.items():
            folder = self._resolve(spec['dir'])
            if not osp.isdir(folder):
                raise FileNotFoundError(
                    f'{type(self).__name__}: {task} folder not found: {folder} '
                    f"(tasks.{task}.dir={spec['dir']!r})")
            self._present[task] = set(_list_files(folder, (spec['suffix'], )))
        self._report_orphan_labels(img_root)
        samples = []
        for sid, rel in images.items():
            ann = {}
            for task, spec in self.task_specs.items():
                ann[task] = dict(
                    path=osp.join(self._resolve(spec['dir']),
                                  sid + spec['suffix']),
                    fmt=spec['fmt'], **spec['options'])
            samples.append(
                dict(img_path=osp.join(img_root, rel), sample_id=sid,
                     ann_info=ann))
        return samples

    def _report_orphan_labels(self, img_root: str) -> None:
        """Label files whose image does not exist are never used: say so (a
        renamed or deleted image folder entry would otherwise go unnoticed)."""
        from mmengine.logging import print_log
        for task, present in self._present.items():
            orphans = sorted(present - self._all_image_ids)
            if orphans:
                spec = self.task_specs[task]
                print_log(
                    f'{type(self).__name__}: {len(orphans)} {task} label '
                    f"file(s) in {self._resolve(spec['dir'])} have no image in "
                    f'{img_root} and are not used (e.g. '
                    f"{orphans[0] + spec['suffix']})", logger='current',
                    level=logging.WARNING)

    def _labelling(self) -> str:
        if self.missing_labels != 'unlabelled':
            return super()._labelling()
        return (f"{super()._labelling()} minus the missing label files "
                "(missing_labels='unlabelled')")

    def _build_label_matrix(self, ids: List[str]) -> np.ndarray:
        matrix = super()._build_label_matrix(ids)
        exists = np.array([[sid in self._present[t] for t in self.tasks]
                           for sid in ids], dtype=bool).reshape(matrix.shape)
        if self.missing_labels == 'unlabelled':
            return matrix & exists
        lacking = matrix & ~exists
        if lacking.any():
            parts = []
            for j, task in enumerate(self.tasks):
                miss = [ids[i] for i in np.flatnonzero(lacking[:, j])]
                if miss:
                    spec = self.task_specs[task]
                    parts.append(
                        f"{task}: {len(miss)} image(s) without a file in "
                        f"{self._resolve(spec['dir'])} (e.g. "
                        f"{miss[0] + spec['suffix']})")
            raise FileNotFoundError(
                f'{type(self).__name__}: missing label files for labelled '
                f"images: {'; '.join(parts)}. Add them, or set missing_labels="
                "'unlabelled' to treat a missing file as 'not labelled'")
        return matrix
