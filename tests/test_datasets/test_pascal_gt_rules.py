"""The published PASCAL_MT ground-truth rules, each on a hand-made fixture."""
import json
import os.path as osp
from pathlib import Path

import cv2
import numpy as np
import pytest
from scipy.io import savemat

from mmdmtl.datasets import PascalContextMTDataset
from mmdmtl.datasets.pascal_context import NORMALS_VALID_CONTEXT_CLASSES
from mmdmtl.datasets.transforms import (IgnoreEmptyHumanParts,
                                        LoadMultiTaskAnnotations,
                                        MultiTaskRandomCrop)
from mmdmtl.datasets.transforms.annotation_decoders import label_map_edges

WALL, FLOOR, SKY, TREE = 440, 158, 360, 420  # PASCAL-Context LabelMap ids

PIPE = [
    dict(type='LoadMultiTaskImage'),
    dict(type='LoadMultiTaskAnnotations', normal_mode='raw'),
    dict(type='IgnoreEmptyHumanParts'),
    dict(type='PackMultiTaskInputs'),
]


def test_valid_class_list_is_the_published_one(shared_path):
    path = shared_path('pascal_context_mt', 'protocol',
                       'normals_valid_context_classes.json')
    with open(path) as f:
        ref = json.load(f)
    assert len(NORMALS_VALID_CONTEXT_CLASSES) == ref['count'] == 170
    assert list(NORMALS_VALID_CONTEXT_CLASSES) == ref['ids']
    names = ref['names']
    assert names[str(WALL)] == 'wall' and names[str(FLOOR)] == 'floor'
    assert names[str(427)] == 'tvmonitor'
    for cls in (SKY, TREE):  # sky, tree: no NYU counterpart
        assert cls not in NORMALS_VALID_CONTEXT_CLASSES


def _write_sky_scene(root: str, sid: str = '2008_000001'):
    """6x8 image: sky on the top 2 rows, a wall below it and a floor on
    the bottom row; normals RGB: (128, 128, 255) everywhere, one white
    pixel (255, 255, 255) on the wall and one (127, 128, 128) (near zero)."""
    h, w = 6, 8
    for d in ('JPEGImages', 'semseg/pascal-context', 'normals_distill',
              'pascal-context/trainval', 'ImageSets/Context'):
        Path(root, d).mkdir(parents=True, exist_ok=True)
    cv2.imwrite(osp.join(root, 'JPEGImages', sid + '.jpg'),
                np.full((h, w, 3), 100, np.uint8))
    cv2.imwrite(osp.join(root, 'semseg/pascal-context', sid + '.png'),
                np.zeros((h, w), np.uint8))
    lm = np.full((h, w), WALL, np.uint16)
    lm[:2] = SKY
    lm[5] = FLOOR
    savemat(osp.join(root, 'pascal-context/trainval', sid + '.mat'),
            {'LabelMap': lm})
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[...] = (128, 128, 255)
    rgb[3, 3] = (255, 255, 255)
    rgb[3, 5] = (127, 128, 128)
    cv2.imwrite(osp.join(root, 'normals_distill', sid + '.png'),
                rgb[..., ::-1])
    Path(root, 'ImageSets/Context/train.txt').write_text(sid + '\n')
    return root


def test_normals_invalid_outside_the_valid_classes(tmp_path):
    root = _write_sky_scene(str(tmp_path))
    ds = PascalContextMTDataset(data_root=root, tasks=('normals', ),
                                pipeline=PIPE)
    n = ds[0]['data_samples'].gt_normal_map.data.numpy().transpose(1, 2, 0)

    def dec(*v):  # the published float32 operations: 2.0 * v / 255.0 - 1.0
        return 2.0 * np.array(v, np.float32) / 255.0 - 1.0

    up = dec(128, 128, 255)
    expected = np.zeros((6, 8, 3), np.float32)  # sky rows 0-1: invalid
    expected[2:] = up  # wall and floor keep the stored value (not renormalised)
    expected[3, 3] = (1, 1, 1)  # white is an ordinary value here
    expected[3, 5] = dec(127, 128, 128)  # near zero, still valid
    np.testing.assert_array_equal(n, expected)
    valid = np.abs(n).sum(-1) > 0
    assert valid.sum() == 4 * 8


def test_normals_opt_in_every_class(tmp_path):
    """normals_valid_classes=None keeps the normals of every pixel (the sky's
    too); only the zero vector would be invalid."""
    root = _write_sky_scene(str(tmp_path))
    ds = PascalContextMTDataset(data_root=root, tasks=('normals', ),
                                normals_valid_classes=None,
                                pipeline=PIPE[:1] + [
                                    dict(type='LoadMultiTaskAnnotations',
                                         normal_mode='raw'),
                                    dict(type='PackMultiTaskInputs')])
    n = ds[0]['data_samples'].gt_normal_map.data.numpy().transpose(1, 2, 0)
    assert (np.abs(n).sum(-1) > 0).all()
    np.testing.assert_array_equal(n[3, 3], (1, 1, 1))  # white: an ordinary value


def test_raw_normal_mode_rejects_out_of_range_values():
    from mmdmtl.datasets.file_io import DataFileError
    load = LoadMultiTaskAnnotations(normal_mode='raw')
    ok = np.zeros((2, 2, 3), np.float32)
    ok[0, 0] = (1, 1, 1)
    np.testing.assert_array_equal(load._check_normals(ok, 'x'), ok)
    with pytest.raises(DataFileError, match='expected values in'):
        load._check_normals(ok * 128, 'x.png')
    with pytest.raises(ValueError, match='normal_mode'):
        LoadMultiTaskAnnotations(normal_mode='unit_norm')


# ------------------------------------------------------------------ edges
# A staircase boundary: class 1 above/left, class 2 below/right, each step
# 2 px wide and 1 px high.
STAIRS = np.array([
    [1, 1, 1, 1, 1, 1, 1, 1],
    [2, 2, 1, 1, 1, 1, 1, 1],
    [2, 2, 2, 2, 1, 1, 1, 1],
    [2, 2, 2, 2, 2, 2, 1, 1],
    [2, 2, 2, 2, 2, 2, 2, 2],
    [2, 2, 2, 2, 2, 2, 2, 2],
], np.uint16)
# |Laplacian| > 0 (3x3 cross kernel, reflect-101 border): the pixels with a
# 4-neighbour of the other class, on both sides of the boundary.
STAIRS_MASK = np.array([
    [1, 1, 0, 0, 0, 0, 0, 0],
    [1, 1, 1, 1, 0, 0, 0, 0],
    [0, 0, 1, 1, 1, 1, 0, 0],
    [0, 0, 0, 0, 1, 1, 1, 1],
    [0, 0, 0, 0, 0, 0, 1, 1],
    [0, 0, 0, 0, 0, 0, 0, 0],
], bool)
# skimage.morphology.thin: a one-pixel, 8-connected staircase of 7 pixels.
STAIRS_THIN_SKIMAGE = np.array([
    [0, 0, 0, 0, 0, 0, 0, 0],
    [1, 1, 0, 0, 0, 0, 0, 0],
    [0, 0, 1, 1, 0, 0, 0, 0],
    [0, 0, 0, 0, 1, 1, 0, 0],
    [0, 0, 0, 0, 0, 0, 1, 0],
    [0, 0, 0, 0, 0, 0, 0, 0],
], bool)

def test_staircase_edge_mask():
    np.testing.assert_array_equal(label_map_edges(STAIRS), STAIRS_MASK)
    assert STAIRS_MASK.sum() == 16


def test_staircase_edge_through_the_dataset(tmp_path):
    from mmdmtl.datasets.transforms.annotation_decoders import decode
    path = str(tmp_path / 'stairs.mat')
    savemat(path, {'LabelMap': STAIRS})
    rec = dict(path=path, fmt='pascal_context_edge_mat')
    edge = decode(rec)
    assert edge.dtype == np.uint8
    np.testing.assert_array_equal(edge, STAIRS_THIN_SKIMAGE)


# ------------------------------------------------------------ human parts
def test_no_person_parts_become_all_ignore():
    t = IgnoreEmptyHumanParts()
    empty = dict(gt_part_seg=np.zeros((4, 5), np.uint8))
    empty['gt_part_seg'][0, :2] = 255  # padding
    out = t(empty)
    np.testing.assert_array_equal(out['gt_part_seg'],
                                  np.full((4, 5), 255, np.uint8))
    assert out['human_parts_ignored']
    person = np.zeros((4, 5), np.uint8)
    person[1, 1] = 2  # one torso pixel
    out = t(dict(gt_part_seg=person.copy()))
    np.testing.assert_array_equal(out['gt_part_seg'], person)
    assert not out['human_parts_ignored']
    assert 'human_parts_ignored' not in t(dict(img=np.zeros((2, 2))))


def test_training_crop_without_the_person_is_ignored():
    parts = np.zeros((4, 8), np.uint8)
    parts[:, 6:] = 1  # the person's head is on the right
    res = dict(img=np.zeros((4, 8, 3), np.uint8), gt_part_seg=parts,
               seg_fields=['gt_part_seg'])
    crop = MultiTaskRandomCrop(crop_size=(4, 4))
    crop.crop_bbox = lambda results: (0, 4, 0, 4)  # the left half
    out = IgnoreEmptyHumanParts()(crop(res))
    np.testing.assert_array_equal(out['gt_part_seg'],
                                  np.full((4, 4), 255, np.uint8))


def test_real_no_person_image_is_ignored_in_test(tmp_path, shared_path):
    root = shared_path('pascal_context_mt', 'PASCAL_MT')
    ann = tmp_path / 'val.txt'
    ann.write_text('2008_000009\n2008_000026\n')  # cows; person + dog
    ds = PascalContextMTDataset(data_root=root, ann_file=str(ann),
                                tasks=('human_parts', ), test_mode=True,
                                pipeline=PIPE)
    cows = ds[0]['data_samples'].gt_part_seg.data
    person = ds[1]['data_samples'].gt_part_seg.data
    assert cows.shape == (1, 375, 500) and bool((cows == 255).all())
    assert 0 in person.unique().tolist() and int(person.max()) > 0


# ------------------------------------------------ crop check on semseg
def _write_one_label(root: str):
    """Two images 8x16 whose semseg is class 15 on the left 10 columns and 0
    on the right 6; a one-label split: image a = semseg, b = normals."""
    from mmdmtl.datasets import write_split_file
    ids = ['a', 'b']
    for d in ('JPEGImages', 'semseg/pascal-context', 'normals_distill',
              'pascal-context/trainval', 'ImageSets/Context'):
        Path(root, d).mkdir(parents=True, exist_ok=True)
    for sid in ids:
        cv2.imwrite(osp.join(root, 'JPEGImages', sid + '.jpg'),
                    np.zeros((8, 16, 3), np.uint8))
        sem = np.full((8, 16), 15, np.uint8)
        sem[:, 10:] = 0
        cv2.imwrite(osp.join(root, 'semseg/pascal-context', sid + '.png'), sem)
        cv2.imwrite(osp.join(root, 'normals_distill', sid + '.png'),
                    np.full((8, 16, 3), 200, np.uint8))
        savemat(osp.join(root, 'pascal-context/trainval', sid + '.mat'),
                {'LabelMap': np.full((8, 16), WALL, np.uint16)})
    Path(root, 'ImageSets/Context/train.txt').write_text('a\nb\n')
    split = osp.join(root, 'split.json')
    write_split_file(split, np.array([[1, 0], [0, 1]], bool), ids,
                     ('semseg', 'normals'))
    return root, split


def test_cat_max_ratio_reads_semseg_of_unlabelled_images(tmp_path):
    root, split = _write_one_label(str(tmp_path))
    pipe = [
        dict(type='LoadMultiTaskImage'),
        dict(type='LoadMultiTaskAnnotations', normal_mode='raw'),
        dict(type='MultiTaskRandomCrop', crop_size=(8, 8), cat_max_ratio=0.75),
        dict(type='PackMultiTaskInputs', meta_keys=('crop_bbox', )),
    ]
    ds = PascalContextMTDataset(data_root=root, tasks=('semseg', 'normals'),
                                label_setting='one_label', split_file=split,
                                pipeline=pipe)
    assert ds.get_data_info(1)['labeled_tasks'] == ('normals', )
    np.random.seed(0)
    for _ in range(5):
        s = ds[1]['data_samples']
        assert 'gt_sem_seg' not in s  # read for the crop, never packed
        assert s.gt_normal_map.shape == (8, 8)
        # 8-column crops at x1 = 0..8 hold max(0, x1 - 2) columns of
        # class 0: only x1 >= 5 keep class 15 under 75% (x1 = 4: 6 of 8).
        assert s.metainfo['crop_bbox'][2] >= 5
    assert 'aux_ann_info' in ds.get_data_info(1)


def test_label_map_is_read_once_for_normals_and_edges(tmp_path, monkeypatch):
    """One image's normals mask and edges share one read of its LabelMap; a
    rewritten file is read again."""
    import os

    from mmdmtl.datasets.transforms import annotation_decoders as dec
    reads = []
    real = dec.read_mat
    monkeypatch.setattr(dec, 'read_mat', lambda p: reads.append(p) or real(p))
    mat = str(tmp_path / 'a.mat')
    savemat(mat, {'LabelMap': STAIRS})
    png = str(tmp_path / 'n.png')
    cv2.imwrite(png, np.full(STAIRS.shape + (3, ), 128, np.uint8))
    edge = dec.decode_pascal_context_edge(mat)
    normals = dec.decode_png_normals(png, white_invalid=False, label_map=mat,
                                     valid_classes=(1, ))
    assert reads == [mat]
    np.testing.assert_array_equal(edge, STAIRS_THIN_SKIMAGE.astype(np.uint8))
    assert (normals[STAIRS == 2] == 0).all() and (normals[STAIRS == 1] != 0).all()
    savemat(mat, {'LabelMap': np.where(STAIRS == 1, 2, 1).astype(np.uint16)})
    os.utime(mat, ns=(1, 1))  # a new mtime even within the clock's resolution
    normals = dec.decode_png_normals(png, white_invalid=False, label_map=mat,
                                     valid_classes=(1, ))
    assert reads == [mat, mat]
    assert (normals[STAIRS == 1] == 0).all() and (normals[STAIRS == 2] != 0).all()
