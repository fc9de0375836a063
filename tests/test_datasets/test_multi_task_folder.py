"""MultiTaskFolderDataset: one folder per task, decoders by name."""
import json
import os.path as osp
from pathlib import Path

import cv2
import numpy as np
import pytest

from mmdmtl.datasets import DataFileError, MultiTaskFolderDataset
from mmdmtl.registry import DATASETS

H, W = 12, 16


def _write_folders(root, ids=('a', 'b', 'c', 'd'), img_ext='.jpg', seed=0,
                   zero_is_void=False):
    rng = np.random.default_rng(seed)
    root = Path(root)
    for d in ('images', 'seg', 'parts', 'depth', 'depth_npy', 'normals',
              'normals_npy', 'sal', 'edge', 'edge_npy'):
        (root / d).mkdir(parents=True, exist_ok=True)
    for i in ids:
        img = rng.integers(0, 255, (H, W, 3), dtype=np.uint8)
        cv2.imwrite(str(root / 'images' / f'{i}{img_ext}'), img)
        seg = rng.integers(0, 3, (H, W)).astype(np.uint8)
        if zero_is_void:
            seg = seg + 1
            seg[0, 0] = 0
        seg[0, 1] = 255
        cv2.imwrite(str(root / 'seg' / f'{i}.png'), seg)
        cv2.imwrite(str(root / 'parts' / f'{i}.png'),
                    rng.integers(0, 2, (H, W)).astype(np.uint8))
        depth_mm = rng.integers(500, 5000, (H, W)).astype(np.uint16)
        depth_mm[0, 0] = 0
        cv2.imwrite(str(root / 'depth' / f'{i}.png'), depth_mm)
        np.save(root / 'depth_npy' / f'{i}.npy',
                depth_mm.astype(np.float32) / 1000)
        n = rng.normal(size=(H, W, 3)).astype(np.float32)
        n /= np.linalg.norm(n, axis=-1, keepdims=True)
        rgb = np.clip(np.rint((n + 1) * 127.5), 0, 254).astype(np.uint8)
        cv2.imwrite(str(root / 'normals' / f'{i}.png'), rgb[..., ::-1])
        np.save(root / 'normals_npy' / f'{i}.npy', n)
        cv2.imwrite(str(root / 'sal' / f'{i}.png'),
                    (rng.random((H, W)) > 0.5).astype(np.uint8) * 255)
        e = (rng.random((H, W)) > 0.8).astype(np.uint8)
        cv2.imwrite(str(root / 'edge' / f'{i}.png'), e * 255)
        np.save(root / 'edge_npy' / f'{i}.npy', e.astype(np.float32))
    return str(root)


ALL_TASKS = dict(
    semseg=dict(dir='seg', suffix='.png'),
    human_parts=dict(dir='parts'),
    sal='sal',
    normals=dict(dir='normals', suffix='.png', decoder='normals_png'),
    edge=dict(dir='edge_npy', suffix='.npy'),
    depth=dict(dir='depth', suffix='.png', decoder='depth_png16', scale=1e-3))
META = dict(classes=('x', 'y', 'z'), palette=[[0, 0, 0], [255, 0, 0], [0, 255, 0]],
            part_classes=('bg', 'person'))
PIPELINE = [dict(type='LoadMultiTaskImage'), dict(type='LoadMultiTaskAnnotations'),
            dict(type='PackMultiTaskInputs')]


def _build(root, **kw):
    args = dict(type='MultiTaskFolderDataset', data_root=root, tasks=ALL_TASKS,
                metainfo=META, pipeline=PIPELINE)
    args.update(kw)
    return DATASETS.build(args)


def test_all_six_tasks_load_and_decode(tmp_path):
    root = _write_folders(tmp_path)
    ds = _build(root)
    assert len(ds) == 4
    assert ds.tasks == ('semseg', 'human_parts', 'sal', 'normals', 'edge',
                        'depth')
    assert ds.metainfo['classes'] == ('x', 'y', 'z')
    assert ds.metainfo['task_classes'] == {'semseg': 3, 'human_parts': 2}
    s = ds[0]['data_samples']
    seg = s.gt_sem_seg.data.numpy()[0]
    ref = cv2.imread(osp.join(root, 'seg', 'a.png'), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(seg, ref)
    d = s.gt_depth_map.data.numpy()[0]
    ref_d = cv2.imread(osp.join(root, 'depth', 'a.png'), cv2.IMREAD_UNCHANGED)
    np.testing.assert_allclose(d, ref_d * 1e-3, rtol=1e-6)
    assert d[0, 0] == 0
    n = s.gt_normal_map.data.numpy()
    np.testing.assert_allclose(np.linalg.norm(n, axis=0), 1, atol=1e-5)
    assert set(np.unique(s.gt_edge_map.data.numpy())) <= {0, 1}
    assert set(np.unique(s.gt_sal_map.data.numpy())) <= {0, 1}


def test_subset_npy_decoders_and_depth_scale(tmp_path):
    root = _write_folders(tmp_path)
    ds = _build(root, tasks=dict(
        normals=dict(dir='normals_npy', suffix='.npy'),
        depth=dict(dir='depth_npy', suffix='.npy', scale=2.0)))
    assert ds.tasks == ('normals', 'depth')
    s = ds[1]['data_samples']
    assert not hasattr(s, 'gt_sem_seg')
    ref = np.load(osp.join(root, 'depth_npy', 'b.npy'))
    np.testing.assert_allclose(s.gt_depth_map.data.numpy()[0], ref * 2.0,
                               rtol=1e-6)


def test_reduce_zero_label(tmp_path):
    root = _write_folders(tmp_path, zero_is_void=True)
    ds = _build(root, tasks=dict(
        semseg=dict(dir='seg', reduce_zero_label=True)))
    seg = ds[0]['data_samples'].gt_sem_seg.data.numpy()[0]
    raw = cv2.imread(osp.join(root, 'seg', 'a.png'), cv2.IMREAD_UNCHANGED)
    assert seg[0, 0] == 255 and seg[0, 1] == 255  # 0 and 255 -> ignore
    ok = (raw != 0) & (raw != 255)
    np.testing.assert_array_equal(seg[ok], raw[ok] - 1)


@pytest.mark.parametrize('ext', ['.png', '.bmp', '.tif'])
def test_any_opencv_image_format_and_auto_suffix(tmp_path, ext):
    root = _write_folders(tmp_path, img_ext=ext)
    ds = _build(root, tasks=dict(semseg='seg'))
    assert ds[0]['inputs'].shape == (3, H, W)
    assert ds.get_data_info(0)['img_path'].endswith('a' + ext)


def test_ann_file_partial_settings_and_split_file(tmp_path):
    ids = [f'{i:03d}' for i in range(12)]
    root = _write_folders(tmp_path, ids=ids)
    Path(root, 'train.txt').write_text('\n'.join(ids[:9]) + '\n')
    ds = _build(root, ann_file='train.txt', label_setting='one_label',
                split_seed=1)
    assert len(ds) == 9
    m = ds.label_matrix
    assert m.shape == (9, 6) and (m.sum(1) == 1).all()
    # A JSON split file
    split = {i: ['semseg', 'depth'] if k % 2 == 0 else ['human_parts']
             for k, i in enumerate(ids[:9])}
    Path(root, 'split.json').write_text(json.dumps(split))
    ds = _build(root, ann_file='train.txt', label_setting='random_label',
                split_file='split.json',
                tasks={t: ALL_TASKS[t] for t in ('depth', 'semseg', 'human_parts')})
    assert ds.tasks == ('semseg', 'human_parts', 'depth')
    assert ds.label_matrix[::2].tolist() == [[True, False, True]] * 5
    assert ds.label_matrix[1::2].tolist() == [[False, True, False]] * 4
    assert set(ds.get_data_info(0)['ann_info']) == {'semseg', 'depth'}
    assert 'gt_sem_seg' not in ds[1]['data_samples']


def test_missing_label_files(tmp_path):
    root = _write_folders(tmp_path)
    Path(root, 'seg', 'b.png').unlink()
    with pytest.raises(FileNotFoundError, match=r'semseg: 1 image\(s\) without '
                       r'a file .*seg \(e\.g\. b\.png\)'):
        _build(root, tasks=dict(semseg='seg', depth='depth'))
    ds = _build(root, tasks=dict(semseg='seg', depth='depth'),
                missing_labels='unlabelled')
    assert ds.label_matrix.tolist() == [[True, True], [False, True],
                                        [True, True], [True, True]]
    assert 'semseg' not in ds.get_data_info(1)['ann_info']


def test_missing_labels_unlabelled_on_full_is_logged_as_partial(tmp_path,
                                                                monkeypatch):
    """label_setting='full' + missing_labels='unlabelled': the log line says the
    missing files were taken out (it used to say just 'full')."""
    from mmdmtl.datasets import multi_task_dataset
    said = []
    monkeypatch.setattr(multi_task_dataset, 'print_log',
                        lambda msg, **kw: said.append(msg))
    root = _write_folders(tmp_path)
    Path(root, 'seg', 'b.png').unlink()
    _build(root, tasks=dict(semseg='seg', depth='depth'),
           missing_labels='unlabelled')
    line = [m for m in said if 'images, tasks' in m][-1]
    assert ("label_setting='full' minus the missing label files "
            "(missing_labels='unlabelled')") in line


def test_split_ids_with_their_suffix(tmp_path):
    """ids.txt and JSON split files may name images with their suffix."""
    root = _write_folders(tmp_path)
    Path(root, 'ids.txt').write_text('a.jpg\nb\nc.jpg\n')
    Path(root, 'split.json').write_text(json.dumps(
        {'a.jpg': ['semseg'], 'b': ['depth'], 'c.jpg': ['depth']}))
    ds = _build(root, ann_file='ids.txt', tasks=dict(semseg='seg', depth='depth'),
                label_setting='one_label', split_file='split.json')
    assert [ds.get_data_info(i)['sample_id'] for i in range(3)] == ['a', 'b', 'c']
    assert ds.label_matrix.tolist() == [[True, False], [False, True],
                                        [False, True]]
    Path(root, 'twice.txt').write_text('a.jpg\na\n')
    with pytest.raises(DataFileError, match=r"twice.txt: image id\(s\) listed "
                       r"twice .*\['a'\]"):
        _build(root, ann_file='twice.txt')


@pytest.mark.parametrize('kw, match', [
    (dict(tasks=dict(segm='seg')), r"unknown task name\(s\) \['segm'\]"),
    (dict(tasks=['semseg']), 'tasks must be a non-empty dict'),
    (dict(tasks=dict(semseg=dict(dir='seg', decoder='depth_png16'))),
     r"decoder 'depth_png16' does not read semseg"),
    (dict(tasks=dict(semseg=dict(dir='seg', decoder='foo'))),
     r"unknown decoder 'foo'"),
    (dict(tasks=dict(depth=dict(dir='depth', scle=1e-3))),
     r"tasks\.depth\): unknown option\(s\) \['scle'\]"),
    (dict(tasks=dict(depth=dict(dir='depth', suffix='.exr'))),
     r"no default decoder for depth files ending in '\.exr'"),
    (dict(tasks=dict(semseg='seg'), metainfo=dict()),
     r"task semseg needs the class names: metainfo=dict\(classes="),
    (dict(tasks=dict(semseg='seg'), metainfo=dict(classes=('a', 'b', 'c'),
                                                 palette=[[0, 0, 0]])),
     r'metainfo palette has shape \(1, 3\), expected \[3, 3\]'),
    (dict(tasks=dict(semseg='nope')), r'semseg folder not found: .*nope'),
    (dict(img_dir='imgs'), r'image folder not found: .*imgs'),
    (dict(img_suffix='.gif'), r"no image files ending in \['\.gif'\]"),
])
def test_clear_errors(tmp_path, kw, match):
    root = _write_folders(tmp_path)
    with pytest.raises((ValueError, TypeError, FileNotFoundError), match=match):
        _build(root, **kw)


def test_ann_file_id_without_image(tmp_path):
    root = _write_folders(tmp_path)
    Path(root, 'ids.txt').write_text('a\nzz\n')
    with pytest.raises(FileNotFoundError, match=r"1 id\(s\) of .*ids\.txt have no "
                       r"image in .*images .*\['zz'\]"):
        _build(root, ann_file='ids.txt')


def test_two_images_with_one_id(tmp_path):
    root = _write_folders(tmp_path)
    cv2.imwrite(osp.join(root, 'images', 'a.png'), np.zeros((H, W, 3), np.uint8))
    with pytest.raises(ValueError, match=r"two files for image id 'a': a\.jpg and "
                       r'a\.png; set img_suffix'):
        _build(root)
    assert len(_build(root, img_suffix='.jpg')) == 4


def test_bad_label_values_name_the_file(tmp_path):
    root = _write_folders(tmp_path)
    cv2.imwrite(osp.join(root, 'seg', 'c.png'), np.full((H, W), 7, np.uint8))
    ds = _build(root, tasks=dict(semseg='seg'))
    with pytest.raises(DataFileError, match=r'c\.png: semseg class id\(s\) \[7\] '
                       r'out of range \(num_classes=3'):
        ds[2]
    cv2.imwrite(osp.join(root, 'seg', 'c.png'), np.zeros((H + 1, W), np.uint8))
    with pytest.raises(DataFileError, match=r'semseg label .*c\.png has size'):
        ds[2]


def test_in_subdirectories(tmp_path):
    root = _write_folders(tmp_path / 'flat')
    base = tmp_path / 'nested'
    for d in ('images/s1', 'seg/s1'):
        (base / d).mkdir(parents=True)
    for src, dst in (('images/a.jpg', 'images/s1/a.jpg'),
                     ('seg/a.png', 'seg/s1/a.png')):
        Path(base, dst).write_bytes(Path(root, src).read_bytes())
    ds = _build(str(base), tasks=dict(semseg='seg'))
    assert ds.get_data_info(0)['sample_id'] == 's1/a'
    assert ds[0]['data_samples'].gt_sem_seg.data.shape == (1, H, W)


def test_is_a_multi_task_dataset(tmp_path):
    from mmdmtl.datasets import MultiTaskDataset
    ds = MultiTaskFolderDataset(data_root=_write_folders(tmp_path),
                                tasks=dict(depth='depth'), pipeline=PIPELINE)
    assert isinstance(ds, MultiTaskDataset)
    assert ds.metainfo['task_files']['depth'] == dict(dir='depth', suffix='.png',
                                                      decoder='png_depth')
