import cv2
import numpy as np
import pytest

from mmdmtl.datasets.file_io import DataFileError
from mmdmtl.datasets.transforms import (LoadMultiTaskAnnotations,
                                        LoadMultiTaskImage)


def _sample(tmp_path, h=6, w=8):
    img = np.full((h, w, 3), 100, np.uint8)
    cv2.imwrite(str(tmp_path / 'img.png'), img)
    cv2.imwrite(str(tmp_path / 'sem.png'), np.full((h, w), 3, np.uint8))
    n = np.zeros((h, w, 3), np.float32)
    n[..., 2] = -1
    np.save(tmp_path / 'n.npy', n)
    np.save(tmp_path / 'd.npy', np.full((h, w), 2.0, np.float32))
    return dict(
        img_path=str(tmp_path / 'img.png'),
        labeled_tasks=('semseg', 'normals', 'depth'),
        task_classes={'semseg': 5},
        ann_info=dict(
            semseg=dict(path=str(tmp_path / 'sem.png'), fmt='png_class'),
            normals=dict(path=str(tmp_path / 'n.npy'), fmt='npy_normals'),
            depth=dict(path=str(tmp_path / 'd.npy'), fmt='npy_depth')))


def _load(info):
    return LoadMultiTaskAnnotations()(LoadMultiTaskImage()(dict(info)))


def test_load_labelled_tasks(tmp_path):
    out = _load(_sample(tmp_path))
    assert out['img'].shape == (6, 8, 3) and out['img_shape'] == (6, 8)
    assert out['gt_seg_map'].dtype == np.uint8
    assert (out['gt_seg_map'] == 3).all()
    assert (out['gt_normal_map'][..., 2] == -1).all()
    assert (out['gt_depth_map'] == 2).all()
    assert out['seg_fields'] == ['gt_seg_map', 'gt_normal_map',
                                 'gt_depth_map']


def test_unlabelled_task_file_is_never_opened(tmp_path):
    info = _sample(tmp_path)
    info['labeled_tasks'] = ('semseg', )
    info['ann_info']['depth']['path'] = str(tmp_path / 'does_not_exist.npy')
    out = _load(info)
    assert 'gt_depth_map' not in out and 'gt_normal_map' not in out
    info['labeled_tasks'] = ('semseg', 'depth')
    with pytest.raises(FileNotFoundError, match='does_not_exist.npy'):
        _load(info)


def test_tasks_argument_narrows(tmp_path):
    out = LoadMultiTaskAnnotations(tasks=('depth', ))(
        LoadMultiTaskImage()(_sample(tmp_path)))
    assert out['labeled_tasks'] == ('depth', )
    assert 'gt_seg_map' not in out


def test_size_mismatch(tmp_path):
    info = _sample(tmp_path)
    np.save(tmp_path / 'd.npy', np.ones((5, 8), np.float32))
    with pytest.raises(DataFileError, match=r'd.npy has size \(5, 8\).*'
                       r'\(6, 8\)'):
        _load(info)


def test_class_out_of_range(tmp_path):
    info = _sample(tmp_path)
    cv2.imwrite(str(tmp_path / 'sem.png'), np.full((6, 8), 7, np.uint8))
    with pytest.raises(DataFileError, match=r'sem.png.*\[7\].*num_classes=5'):
        _load(info)


def test_depth_nan_and_negative(tmp_path):
    info = _sample(tmp_path)
    d = np.full((6, 8), 2.0, np.float32)
    d[1, 1] = np.nan
    d[2, 2] = np.inf
    np.save(tmp_path / 'd.npy', d)
    with pytest.raises(DataFileError, match=r'd.npy: depth holds 2 NaN/inf'):
        _load(info)
    d[1, 1] = d[2, 2] = -1
    np.save(tmp_path / 'd.npy', d)
    with pytest.raises(DataFileError, match='negative depth'):
        _load(info)


def test_normals_not_unit(tmp_path):
    info = _sample(tmp_path)
    n = np.zeros((6, 8, 3), np.float32)
    n[..., 2] = -0.5
    np.save(tmp_path / 'n.npy', n)
    with pytest.raises(DataFileError, match='n.npy: normals are not unit'):
        _load(info)


def test_normals_renormalised_and_small_ones_invalid(tmp_path):
    info = _sample(tmp_path)
    n = np.zeros((6, 8, 3), np.float32)
    n[..., 2] = -1.05
    n[0, 0] = (0.004, -0.004, 0.004)  # the (127,127,127) PNG "invalid"
    np.save(tmp_path / 'n.npy', n)
    out = _load(info)
    np.testing.assert_array_equal(out['gt_normal_map'][0, 0], 0)
    np.testing.assert_allclose(out['gt_normal_map'][1:, :, 2], -1)


def test_npy_image_rgb01_becomes_bgr255(tmp_path):
    img = np.zeros((4, 5, 3), np.float32)
    img[..., 0] = 1.0  # red
    p = str(tmp_path / 'i.npy')
    np.save(p, img)
    out = LoadMultiTaskImage()(dict(img_path=p, img_fmt='npy'))
    assert out['img'].dtype == np.float32
    np.testing.assert_array_equal(out['img'][0, 0], [0, 0, 255])
    np.save(p, img * 3)
    with pytest.raises(DataFileError, match=r'i.npy.*expected \[0, 1\]'):
        LoadMultiTaskImage()(dict(img_path=p, img_fmt='npy'))
    np.save(p, np.zeros((4, 5), np.float32))
    with pytest.raises(DataFileError, match='i.npy'):
        LoadMultiTaskImage()(dict(img_path=p, img_fmt='npy'))


def test_truncated_jpeg_names_file(tmp_path):
    p = tmp_path / 'cut.jpg'
    cv2.imwrite(str(p), np.random.default_rng(0).integers(
        0, 255, (32, 32, 3), np.uint8))
    p.write_bytes(p.read_bytes()[:300])
    with pytest.raises(DataFileError, match='cut.jpg'):
        LoadMultiTaskImage()(dict(img_path=str(p)))
