import cv2
import numpy as np
import pytest

from mmdmtl.datasets.file_io import DataFileError
from mmdmtl.datasets.transforms.annotation_decoders import (
    ANN_DECODERS, decode)


def test_png_class_nyud_convention(tmp_path):
    lab = np.array([[0, 1, 40], [5, 0, 2]], np.uint8)
    p = str(tmp_path / 's.png')
    cv2.imwrite(p, lab)
    out = decode(dict(path=p, fmt='png_class', zero_is_void=True, offset=-1))
    np.testing.assert_array_equal(out, [[255, 0, 39], [4, 255, 1]])
    assert out.dtype == np.uint8
    out = decode(dict(path=p, fmt='png_class'))
    np.testing.assert_array_equal(out, lab)


def test_npy_class_negative_is_ignore(tmp_path):
    p = str(tmp_path / 'l.npy')
    np.save(p, np.array([[-1., 0.], [12., 3.]], np.float32))
    np.testing.assert_array_equal(
        decode(dict(path=p, fmt='npy_class')), [[255, 0], [12, 3]])
    np.save(p, np.array([[0.5, 1.]], np.float32))
    with pytest.raises(DataFileError, match='non-integer'):
        decode(dict(path=p, fmt='npy_class'))
    np.save(p, np.zeros((2, 2, 3), np.float32))
    with pytest.raises(DataFileError, match=r'\(2, 2, 3\)'):
        decode(dict(path=p, fmt='npy_class'))


def test_png_binary_threshold_127(tmp_path):
    p = str(tmp_path / 'sal.png')
    cv2.imwrite(p, np.array([[0, 127, 128, 255]], np.uint8))
    np.testing.assert_array_equal(
        decode(dict(path=p, fmt='png_binary', threshold=127)), [[0, 0, 1, 1]])


def test_png_normals_invalid_255(tmp_path):
    rgb = np.array([[[255, 255, 255], [128, 128, 255], [0, 128, 128]]],
                   np.uint8)
    p = str(tmp_path / 'n.png')
    cv2.imwrite(p, rgb[..., ::-1])
    n = decode(dict(path=p, fmt='png_normals'))
    np.testing.assert_array_equal(n[0, 0], 0)
    np.testing.assert_allclose(n[0, 1], [0.0039, 0.0039, 1], atol=1e-3)
    np.testing.assert_allclose(n[0, 2], [-1, 0.0039, 0.0039], atol=1e-3)


def test_png16_normals_round_trip(tmp_path):
    n = np.array([[[0.6, 0, -0.8], [0, -1, 0]]], np.float32)
    v = np.round((n + 1) / 2 * 65535).astype(np.uint16)
    p = str(tmp_path / 'n16.png')
    cv2.imwrite(p, v[..., ::-1])
    np.testing.assert_allclose(decode(dict(path=p, fmt='png16_normals')), n,
                               atol=2e-5)


def test_depth_decoders(tmp_path):
    p = str(tmp_path / 'd.npy')
    np.save(p, np.full((3, 4, 1), 2.0, np.float32))
    d = decode(dict(path=p, fmt='npy_depth', scale=0.5))
    assert d.shape == (3, 4) and (d == 1.0).all()
    p2 = str(tmp_path / 'd.png')
    cv2.imwrite(p2, np.full((3, 4), 1500, np.uint16))
    np.testing.assert_allclose(decode(dict(path=p2, fmt='png_depth')), 1.5,
                               rtol=1e-6)
    cv2.imwrite(p2, np.full((3, 4), 15, np.uint8))
    with pytest.raises(DataFileError, match='16-bit'):
        decode(dict(path=p2, fmt='png_depth'))


def test_unknown_format():
    with pytest.raises(ValueError, match="'tiff_magic'"):
        decode(dict(path='x', fmt='tiff_magic'))
    assert {'png_class', 'npy_class', 'pascal_parts_mat', 'png_binary',
            'npy_binary', 'pascal_context_edge_mat', 'png_normals',
            'png16_normals', 'npy_normals', 'npy_depth',
            'png_depth'} <= set(ANN_DECODERS)


def test_pascal_parts_real_sample(shared_path):
    path = shared_path('pascal_context_mt', 'PASCAL_MT', 'human_parts',
                  '2008_000008.mat')
    parts = decode(dict(path=path, fmt='pascal_parts_mat'))
    img = cv2.imread(path.replace('human_parts', 'JPEGImages').replace(
        '.mat', '.jpg'))
    assert parts.shape == img.shape[:2]
    vals = set(np.unique(parts).tolist())
    assert vals <= set(range(7)) and len(vals) >= 4 and 0 in vals
    # A cow image has no person: all background, sized like the image.
    cow = decode(dict(path=path.replace('000008', '000009'),
                      fmt='pascal_parts_mat'))
    assert cow.shape == (375, 500) and cow.max() == 0


def test_pascal_context_edges_from_labelmap(tmp_path):
    from scipy.io import savemat
    lm = np.ones((10, 12), np.uint16)
    lm[:, 6:] = 2
    p = str(tmp_path / 'e.mat')
    savemat(p, {'LabelMap': lm})
    e = decode(dict(path=p, fmt='pascal_context_edge_mat'))
    assert e.shape == (10, 12)
    cols = np.nonzero(e.any(0))[0]
    assert set(cols.tolist()) <= {5, 6} and e.sum() >= 7
    savemat(p, {'Other': lm})
    with pytest.raises(DataFileError, match='no LabelMap'):
        decode(dict(path=p, fmt='pascal_context_edge_mat'))
