"""Writing SyntheticScenes to disk: the files, the manifest, the folder rules.

Files are written in a NYUD_MT-like layout that ``SyntheticScenesDataset`` reads
through the ordinary loading path::

    data_root/images/{id}.png              RGB image
             segmentation/{id}.png         class ids (uint8)
             depth/{id}.npy                float32 [H, W] metres
             normals/{id}.png              16-bit RGB, n = v / 65535 * 2 - 1
             edge/{id}.png                 0 / 255
             sal/{id}.png                  0 / 255
             human_parts/{id}.png          part ids (uint8)
             gt_sets/{train,val}.txt       image ids
             manifest.json                 generation parameters
"""
import json
import os
import os.path as osp
import re
from typing import Dict, Sequence

import cv2
import numpy as np
from filelock import FileLock

from mmdmtl.utils.atomic_write import atomic_write_text
from .renderer import generate_sample

GENERATOR_VERSION = 1

SUBDIRS = ('images', 'segmentation', 'depth', 'normals', 'edge', 'sal',
           'human_parts', 'gt_sets')


def sample_id(split: str, index: int) -> str:
    return f'{split}_{index:06d}'


def _write_sample(root: str, sid: str, s: Dict[str, np.ndarray]) -> None:
    png = [cv2.IMWRITE_PNG_COMPRESSION, 1]
    cv2.imwrite(osp.join(root, 'images', sid + '.png'), s['image'][..., ::-1],
                png)
    cv2.imwrite(osp.join(root, 'segmentation', sid + '.png'), s['semseg'], png)
    np.save(osp.join(root, 'depth', sid + '.npy'), s['depth'])
    n16 = np.round((s['normals'] + 1) * 0.5 * 65535).astype(np.uint16)
    cv2.imwrite(osp.join(root, 'normals', sid + '.png'), n16[..., ::-1], png)
    cv2.imwrite(osp.join(root, 'edge', sid + '.png'), s['edge'] * 255, png)
    cv2.imwrite(osp.join(root, 'sal', sid + '.png'), s['sal'] * 255, png)
    cv2.imwrite(osp.join(root, 'human_parts', sid + '.png'), s['human_parts'],
                png)


def _generate_range(args) -> None:
    root, seed, split, start, stop, size = args
    for i in range(start, stop):
        _write_sample(root, sample_id(split, i),
                      generate_sample(seed, split, i, size))


def synthetic_manifest(num_train: int, num_val: int, size: Sequence[int],
                       seed: int) -> dict:
    return dict(
        generator='mmdmtl.SyntheticScenes',
        version=GENERATOR_VERSION,
        num_train=int(num_train),
        num_val=int(num_val),
        size=[int(size[0]), int(size[1])],
        seed=int(seed))


def is_synthetic_root(path: str) -> bool:
    """Whether ``path`` holds a (complete or started) SyntheticScenes copy that
    mmdmtl wrote: its manifest.json names this generator."""
    try:
        with open(osp.join(path, 'manifest.json')) as f:
            return json.load(f).get('generator') == 'mmdmtl.SyntheticScenes'
    except (OSError, ValueError, AttributeError):
        return False


_OWN_FILE = re.compile(r'^(train|val)_\d{6}\.(png|npy)$')


def _remove_own_files(data_root: str) -> None:
    """Delete only the files this generator writes (``{split}_{index}.png/npy``
    in its sub-folders and ``gt_sets/{train,val}.txt``); anything else a user
    put there stays."""
    for sub in SUBDIRS:
        d = osp.join(data_root, sub)
        if not osp.isdir(d):
            continue
        for name in os.listdir(d):
            own = (name in ('train.txt', 'val.txt') if sub == 'gt_sets' else
                   bool(_OWN_FILE.match(name)))
            if own:
                os.remove(osp.join(d, name))


def generate_synthetic_scenes(data_root: str,
                              num_train: int = 200,
                              num_val: int = 50,
                              size: Sequence[int] = (128, 128),
                              seed: int = 0,
                              num_workers: int = 0,
                              force: bool = False) -> bool:
    """Write the dataset to ``data_root`` unless the manifest there already
    matches these parameters. Returns True when it generated.

    ``data_root`` must be absent, empty, or a folder mmdmtl wrote (its
    ``manifest.json`` or the ``.mmdmtl_output.json`` marker): any other folder
    (e.g. a real dataset in the same layout) raises ``OutputExistsError``
    before anything is written. Regenerating replaces only the files the
    generator writes.

    Safe to call from several processes at once (a file lock serialises them;
    the later ones find the manifest and return).
    """
    from mmdmtl.utils.safe_output import claim_output_dir, check_output_dir
    if len(size) != 2 or min(size) < 8:
        raise ValueError(f'size must be (h, w) >= 8, got {size}')
    if num_train < 0 or num_val < 0:
        raise ValueError('num_train/num_val must be >= 0')
    what = 'SyntheticScenes data_root'
    # Checked before anything (even the lock file) is written into it.
    check_output_dir(data_root, what, owned=is_synthetic_root)
    os.makedirs(data_root, exist_ok=True)
    wanted = synthetic_manifest(num_train, num_val, size, seed)
    manifest_path = osp.join(data_root, 'manifest.json')
    # Another process generating the same folder waits here, then finds the
    # manifest and returns.
    with FileLock(osp.join(data_root, '.generate.lock')):
        if not force and osp.isfile(manifest_path):
            with open(manifest_path) as f:
                try:
                    if json.load(f) == wanted:
                        return False
                except json.JSONDecodeError:
                    pass
        # Again under the lock (another process may have written since);
        # then mark the folder as ours before the first data file.
        claim_output_dir(data_root, 'mmdmtl.SyntheticScenes', what,
                         owned=is_synthetic_root)
        if osp.isfile(manifest_path):
            os.remove(manifest_path)
        _remove_own_files(data_root)
        for sub in SUBDIRS:
            os.makedirs(osp.join(data_root, sub), exist_ok=True)
        jobs = []
        chunk = 32
        for split, n in (('train', num_train), ('val', num_val)):
            for start in range(0, n, chunk):
                jobs.append((data_root, seed, split, start,
                             min(start + chunk, n), tuple(size)))
        if num_workers and num_workers > 1 and len(jobs) > 1:
            import multiprocessing as mp

            # fork where the OS has it (fast start); spawn elsewhere (Windows):
            # _generate_range is a module-level function, so it pickles.
            method = 'fork' if 'fork' in mp.get_all_start_methods() else 'spawn'
            with mp.get_context(method).Pool(num_workers) as pool:
                pool.map(_generate_range, jobs)
        else:
            for job in jobs:
                _generate_range(job)
        for split, n in (('train', num_train), ('val', num_val)):
            atomic_write_text(
                ''.join(sample_id(split, i) + '\n' for i in range(n)),
                osp.join(data_root, 'gt_sets', f'{split}.txt'))
        # The manifest goes last: its presence means "complete".
        atomic_write_text(json.dumps(wanted, indent=1), manifest_path)
        return True
