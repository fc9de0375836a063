"""Fixtures of the data-layer tests: tiny datasets written in each layout."""
import os.path as osp
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

torch.set_num_threads(1)

SHARED_DATA = (Path(__file__).resolve().parents[2] / '..' / 'shared' /
               'data').resolve()


def shared(*parts) -> str:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f'shared sample data not found: {path}')
    return str(path)


def _unit_normals(rng, h, w):
    n = rng.normal(size=(h, w, 3)).astype(np.float32)
    n[..., 2] = -np.abs(n[..., 2]) - 0.5
    return n / np.linalg.norm(n, axis=-1, keepdims=True)


def write_mtan_npy(root, split, n, hw=(24, 32), label_dir='label',
                   normals=True, seed=0, num_classes=13):
    """The MTAN/MTPSL npy layout with ``n`` tiny images."""
    rng = np.random.default_rng(seed)
    h, w = hw
    base = osp.join(root, split)
    dirs = ['image', label_dir, 'depth'] + (['normal'] if normals else [])
    for d in dirs:
        Path(base, d).mkdir(parents=True, exist_ok=True)
    for i in range(n):
        np.save(osp.join(base, 'image', f'{i}.npy'),
                rng.random((h, w, 3)).astype(np.float32))
        lab = rng.integers(-1, num_classes, (h, w)).astype(np.float32)
        np.save(osp.join(base, label_dir, f'{i}.npy'), lab)
        depth = rng.uniform(0.5, 5, (h, w, 1)).astype(np.float32)
        depth[0, 0] = 0
        np.save(osp.join(base, 'depth', f'{i}.npy'), depth)
        if normals:
            nm = _unit_normals(rng, h, w)
            nm[0, 0] = 0
            np.save(osp.join(base, 'normal', f'{i}.npy'), nm)
    return root


def write_pascal_mt(root, ids, hw=(20, 30), seed=0):
    """A PASCAL_MT layout with every task (human parts .mat built with
    scipy in the PASCAL-Part Annotations_Part structure)."""
    from scipy.io import savemat
    rng = np.random.default_rng(seed)
    h, w = hw
    for d in ('JPEGImages', 'semseg/pascal-context', 'human_parts',
              'sal_distill', 'normals_distill', 'pascal-context/trainval',
              'ImageSets/Context'):
        Path(root, d).mkdir(parents=True, exist_ok=True)
    for k, sid in enumerate(ids):
        img = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
        cv2.imwrite(osp.join(root, 'JPEGImages', sid + '.jpg'), img)
        sem = np.zeros((h, w), np.uint8)
        sem[:, w // 2:] = 15
        sem[0, 0] = 255
        cv2.imwrite(osp.join(root, 'semseg/pascal-context', sid + '.png'), sem)
        person = np.zeros((h, w), np.uint8)
        person[2:h - 2, w // 2:] = 1
        head = np.zeros((h, w), np.uint8)
        head[2:6, w // 2:] = 1
        ruarm = np.zeros((h, w), np.uint8)
        ruarm[6:10, w // 2:] = 1
        parts = np.zeros((1, 2), dtype=[('part_name', 'O'), ('mask', 'O')])
        parts[0, 0] = ('head', head)
        parts[0, 1] = ('ruarm', ruarm)
        objs = np.zeros((1, 2), dtype=[('class', 'O'), ('class_ind', 'O'),
                                       ('mask', 'O'), ('parts', 'O')])
        objs[0, 0] = ('cow', np.array([[10]]), np.zeros((h, w), np.uint8),
                      np.zeros((0, 0)))
        objs[0, 1] = ('person', np.array([[15]]), person, parts)
        savemat(osp.join(root, 'human_parts', sid + '.mat'),
                {'anno': {'imname': sid, 'objects': objs}})
        sal = np.zeros((h, w), np.uint8)
        sal[:, w // 2:] = 200
        sal[:, :3] = 100
        cv2.imwrite(osp.join(root, 'sal_distill', sid + '.png'), sal)
        nrm = np.zeros((h, w, 3), np.uint8)
        nrm[...] = (128, 128, 255)  # RGB: facing +z
        nrm[0, 0] = (255, 255, 255)  # invalid
        cv2.imwrite(osp.join(root, 'normals_distill', sid + '.png'),
                    nrm[..., ::-1])
        # PASCAL-Context ids: wall (440) left, person (284) right; both keep
        # their normals under the published valid-class rule.
        lm = np.full((h, w), 440, np.uint16)
        lm[:, w // 2:] = 284
        savemat(osp.join(root, 'pascal-context/trainval', sid + '.mat'),
                {'LabelMap': lm})
    Path(root, 'ImageSets/Context/train.txt').write_text(
        ''.join(i + '\n' for i in ids))
    return root


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory):
    from mmdmtl.datasets import generate_synthetic_scenes
    root = str(tmp_path_factory.mktemp('synthetic'))
    generate_synthetic_scenes(root, num_train=12, num_val=4, size=(48, 64),
                              seed=3)
    return root


@pytest.fixture(scope='session')
def nyud_partial_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('nyuv2'))
    write_mtan_npy(root, 'train', 10)
    write_mtan_npy(root, 'val', 3, seed=1)
    return root


@pytest.fixture(scope='session')
def default_scope():
    from mmdmtl.utils import register_all_modules
    register_all_modules(init_default_scope=True)


@pytest.fixture(scope='session')
def shared_path():
    """``shared_path('nyud_v2', 'NYUD_MT')``: a path in shared/data (skips the
    test when the sample data is absent)."""
    return shared


@pytest.fixture(scope='session')
def layouts():
    """Writers of tiny datasets in the published layouts."""
    import types
    return types.SimpleNamespace(mtan_npy=write_mtan_npy,
                                 pascal_mt=write_pascal_mt)
