import pytest

from mmdmtl.datasets import CityscapesPartialDataset

PIPE = [
    dict(type='LoadMultiTaskImage'),
    dict(type='LoadMultiTaskAnnotations'),
    dict(type='PackMultiTaskInputs'),
]


def test_tiny_layout_loads(tmp_path, layouts):
    root = layouts.mtan_npy(str(tmp_path), 'val', 3, hw=(16, 32),
                            label_dir='label_7', normals=False,
                            num_classes=7)
    ds = CityscapesPartialDataset(data_root=root, split='val',
                                  test_mode=True, pipeline=PIPE)
    assert ds.tasks == ('semseg', 'depth')
    assert ds.metainfo['task_classes'] == {'semseg': 7}
    s = ds[1]['data_samples']
    assert s.gt_sem_seg.data.shape == (1, 16, 32)
    assert s.gt_depth_map.data.shape == (1, 16, 32)


def test_class_range_checked(tmp_path, layouts):
    root = layouts.mtan_npy(str(tmp_path), 'val', 1, hw=(4, 8),
                            label_dir='label_7', normals=False,
                            num_classes=13)  # ids up to 12 > 6
    ds = CityscapesPartialDataset(data_root=root, split='val',
                                  test_mode=True, pipeline=PIPE)
    with pytest.raises(ValueError, match=r'label_7/0.npy.*num_classes=7'):
        ds[0]


def test_published_split(tmp_path, layouts, shared_path):
    split = shared_path('partial_label_splits', 'cityscapes', 'onelabel.pth')
    root = layouts.mtan_npy(str(tmp_path), 'train', 2975, hw=(1, 2),
                            label_dir='label_7', normals=False,
                            num_classes=7)
    for setting in ('one_label', 'random_label'):
        ds = CityscapesPartialDataset(data_root=root, split='train',
                                      label_setting=setting,
                                      split_file=split)
        assert ds.label_matrix.sum(0).tolist() == [1487, 1488]
        assert (ds.label_matrix.sum(1) == 1).all()


def test_real_sample_via_converter(tmp_path, shared_path):
    import sys
    from pathlib import Path
    src = shared_path('cityscapes', 'mmseg_pseudo_128x256')
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'tools' /
                           'dataset_converters'))
    from cityscapes_to_mtan import convert
    assert convert(src, str(tmp_path), 'val') == 1
    ds = CityscapesPartialDataset(data_root=str(tmp_path), split='val',
                                  tasks=('semseg', ), test_mode=True,
                                  pipeline=PIPE)
    item = ds[0]
    assert item['inputs'].shape == (3, 128, 256)
    sem = item['data_samples'].gt_sem_seg.data
    vals = set(sem.unique().tolist())
    # A street scene: flat, construction, nature, sky, vehicle at least.
    assert {0, 1, 3, 4, 6} <= vals and vals <= set(range(7)) | {255}
    # Among the labelled pixels of the lower half, road/sidewalk dominate.
    low = sem[0, 64:]
    assert (low == 0).sum() > 0.4 * (low != 255).sum()
