"""The bad-input corpus: every broken input gives a clear error naming the file/key/value
at fault (or, where the config asks for it, is skipped and counted).

Each case corrupts one file of a tiny generated SyntheticScenes copy (32x32, 3 train
images) and loads it through the real dataset and loading transforms."""
import json
import os
import shutil

import cv2
import numpy as np
import pytest

PIPELINE = [dict(type='LoadMultiTaskImage'), dict(type='LoadMultiTaskAnnotations')]


@pytest.fixture(scope='module')
def pristine(tmp_path_factory):
    from mmdmtl.datasets.synthetic_scenes import generate_synthetic_scenes
    root = tmp_path_factory.mktemp('synthetic') / 'scenes'
    generate_synthetic_scenes(str(root), num_train=3, num_val=1, size=(32, 32),
                              seed=0)
    return root


@pytest.fixture
def root(pristine, tmp_path):
    dst = tmp_path / 'scenes'
    shutil.copytree(pristine, dst)
    return dst


def _ids(root):
    with open(root / 'gt_sets' / 'train.txt') as f:
        return [line.strip() for line in f if line.strip()]


def _dataset(root, **kwargs):
    from mmdmtl.datasets import SyntheticScenesDataset
    kwargs.setdefault('pipeline', PIPELINE)
    return SyntheticScenesDataset(data_root=str(root), split='train', **kwargs)


def _first_error(root, **kwargs):
    ds = _dataset(root, **kwargs)
    with pytest.raises(Exception) as err:
        for i in range(len(ds)):
            ds.prepare_data(i)
    return err


def test_pristine_copy_loads(root):
    ds = _dataset(root)
    out = ds.prepare_data(0)
    assert out['img'].shape == (32, 32, 3)
    assert out['gt_depth_map'].shape == (32, 32)


def test_missing_image(root):
    sid = _ids(root)[1]
    os.remove(root / 'images' / f'{sid}.png')
    err = _first_error(root)
    assert err.type is FileNotFoundError
    assert f'images/{sid}.png' in str(err.value)


def test_missing_label_of_labelled_task(root):
    sid = _ids(root)[0]
    os.remove(root / 'segmentation' / f'{sid}.png')
    err = _first_error(root)
    assert err.type is FileNotFoundError
    assert f'segmentation/{sid}.png' in str(err.value)


def test_truncated_png(root):
    sid = _ids(root)[0]
    path = root / 'images' / f'{sid}.png'
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    err = _first_error(root)
    assert str(path) in str(err.value)
    assert isinstance(err.value, (ValueError, OSError))


def test_truncated_and_corrupt_jpeg(tmp_path):
    from mmdmtl.datasets.file_io import read_image
    img = (np.random.RandomState(0).rand(32, 32, 3) * 255).astype(np.uint8)
    path = tmp_path / 'a.jpg'
    cv2.imwrite(str(path), img)
    assert read_image(str(path)).shape == (32, 32, 3)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])  # truncated: no end-of-image marker
    with pytest.raises(Exception) as err:
        read_image(str(path))
    assert str(path) in str(err.value)
    junk = tmp_path / 'b.jpg'
    junk.write_bytes(b'\xff\xd8\xff' + b'not a jpeg' * 10)
    with pytest.raises(Exception) as err:
        read_image(str(junk))
    assert str(junk) in str(err.value)


@pytest.mark.parametrize('bad', ['shape', 'dtype'])
def test_npy_wrong_shape_or_dtype(root, bad):
    sid = _ids(root)[0]
    path = root / 'depth' / f'{sid}.npy'
    if bad == 'shape':
        np.save(path, np.ones((32, 32, 2), np.float32))
    else:
        np.save(path, np.array([['a'] * 32] * 32))
    err = _first_error(root)
    assert str(path) in str(err.value)
    assert ('shape' if bad == 'shape' else 'dtype') in str(err.value)


def test_label_of_other_size(root):
    sid = _ids(root)[0]
    path = root / 'segmentation' / f'{sid}.png'
    cv2.imwrite(str(path), np.zeros((16, 24), np.uint8))
    err = _first_error(root)
    msg = str(err.value)
    assert str(path) in msg and '16' in msg and '24' in msg


def test_normals_not_unit(root):
    sid = _ids(root)[0]
    path = root / 'normals' / f'{sid}.png'
    cv2.imwrite(str(path), np.full((32, 32, 3), 65535, np.uint16))  # (1, 1, 1)
    err = _first_error(root)
    assert str(path) in str(err.value) and 'unit' in str(err.value)


@pytest.mark.parametrize('value', [np.nan, np.inf])
def test_depth_nan_inf(root, value):
    sid = _ids(root)[0]
    path = root / 'depth' / f'{sid}.npy'
    d = np.load(path)
    d[3, 4] = value
    np.save(path, d)
    err = _first_error(root)
    assert str(path) in str(err.value) and 'NaN/inf' in str(err.value)


def test_class_id_out_of_range(root):
    sid = _ids(root)[0]
    path = root / 'segmentation' / f'{sid}.png'
    seg = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    seg[0, 0] = 40  # 9 classes
    cv2.imwrite(str(path), seg)
    err = _first_error(root)
    msg = str(err.value)
    assert str(path) in msg and '[40]' in msg and 'num_classes=9' in msg


def _split(root, mapping):
    path = root / 'split.json'
    path.write_text(json.dumps(mapping))
    return str(path)


def test_split_file_wrong_length(root):
    ids = _ids(root)
    path = _split(root, {i: ['semseg'] for i in ids[:-1]})
    with pytest.raises(Exception) as err:
        _dataset(root, label_setting='one_label', split_file=path)
    assert path in str(err.value) and ids[-1] in str(err.value)


def test_split_file_unknown_ids(root):
    ids = _ids(root)
    mapping = {i: ['semseg'] for i in ids}
    mapping['nyud_0001'] = ['depth']
    path = _split(root, mapping)
    with pytest.raises(Exception) as err:
        _dataset(root, label_setting='one_label', split_file=path)
    assert path in str(err.value) and 'nyud_0001' in str(err.value)


def test_split_file_unknown_task(root):
    ids = _ids(root)
    path = _split(root, {i: ['segmentation'] for i in ids})
    with pytest.raises(ValueError) as err:
        _dataset(root, label_setting='one_label', split_file=path)
    assert path in str(err.value) and "'segmentation'" in str(err.value)


def test_empty_split(root):
    (root / 'gt_sets' / 'train.txt').write_text('')
    with pytest.raises(ValueError) as err:
        _dataset(root)
    assert 'no images' in str(err.value) and 'train.txt' in str(err.value)


def test_config_unknown_task(root):
    with pytest.raises(ValueError) as err:
        _dataset(root, tasks=('semseg', 'surface_normals'))
    assert "'surface_normals'" in str(err.value)
    assert 'normals' in str(err.value)  # lists the valid names


def test_skip_mode_counts_bad_samples(root):
    sid = _ids(root)[1]
    os.remove(root / 'images' / f'{sid}.png')
    ds = _dataset(root, on_bad_sample='skip')
    out = ds[1]  # replaced by another (random) sample
    assert out is not None and out['img'].shape == (32, 32, 3)
    assert out['img_path'] != str(root / 'images' / f'{sid}.png')
    # the random replacement may hit the bad image again: each try is counted
    assert ds.num_bad_samples >= 1
    before = ds.num_bad_samples
    ds[0]
    assert ds.num_bad_samples == before  # good samples are not counted
    # at test time errors always raise
    ds_test = _dataset(root, on_bad_sample='skip', test_mode=True)
    with pytest.raises(FileNotFoundError):
        ds_test.prepare_data(1)
