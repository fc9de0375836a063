import cv2
import numpy as np
import pytest

from mmdmtl.datasets.file_io import (DataFileError, check_same_size,
                                     read_id_list, read_image, read_npy)


def _img(tmp_path, ext):
    img = np.random.default_rng(0).integers(0, 255, (32, 40, 3), np.uint8)
    path = str(tmp_path / f'a{ext}')
    cv2.imwrite(path, img)
    return path, img


@pytest.mark.parametrize('ext', ['.jpg', '.png'])
def test_read_image_ok(tmp_path, ext):
    path, img = _img(tmp_path, ext)
    out = read_image(path)
    assert out.shape == (32, 40, 3)
    if ext == '.png':
        np.testing.assert_array_equal(out, img)


@pytest.mark.parametrize('ext', ['.jpg', '.png'])
def test_truncated_image_is_an_error(tmp_path, ext):
    path, _ = _img(tmp_path, ext)
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])
    # OpenCV alone would decode this silently.
    with pytest.raises(DataFileError, match=r'truncated.*a' + ext):
        read_image(path)


def test_garbage_and_missing_image(tmp_path):
    p = tmp_path / 'g.png'
    p.write_bytes(b'not an image at all')
    with pytest.raises(DataFileError, match='g.png'):
        read_image(str(p))
    with pytest.raises(FileNotFoundError, match='missing.jpg'):
        read_image(str(tmp_path / 'missing.jpg'))


def test_read_npy_checks(tmp_path):
    p = str(tmp_path / 'x.npy')
    np.save(p, np.zeros((4, 5, 2), np.float32))
    with pytest.raises(DataFileError, match=r'x.npy.*3 channels'):
        read_npy(p, ndim=(3, ), channels=3)
    with pytest.raises(DataFileError, match=r'x.npy.*2 dimensions'):
        read_npy(p, ndim=(2, ))
    with pytest.raises(DataFileError, match='dtype float32'):
        read_npy(p, kinds='iu')
    bad = tmp_path / 'bad.npy'
    bad.write_bytes(b'\x93NUMPY garbage')
    with pytest.raises(DataFileError, match='bad.npy'):
        read_npy(str(bad))


def test_id_list_and_size_check(tmp_path):
    p = tmp_path / 'ids.txt'
    p.write_text('a\n\nb\n')
    assert read_id_list(str(p)) == ['a', 'b']
    p.write_text('a\nb\na\n')
    with pytest.raises(DataFileError, match='1 repeated'):
        read_id_list(str(p))
    with pytest.raises(DataFileError, match=r'lab.png has size \(2, 3\).*'
                       r'\(4, 5\)'):
        check_same_size(np.zeros((2, 3)), (4, 5), 'lab.png', 'semseg label')
