import numpy as np
import pytest

from mmdmtl.datasets import PascalContextMTDataset

PIPE = [
    dict(type='LoadMultiTaskImage'),
    dict(type='LoadMultiTaskAnnotations', normal_mode='raw'),
    dict(type='PackMultiTaskInputs'),
]


def test_tiny_layout_all_tasks(tmp_path, layouts):
    root = layouts.pascal_mt(str(tmp_path), ['2008_000001', '2008_000002'])
    ds = PascalContextMTDataset(data_root=root, pipeline=PIPE)
    assert len(ds) == 2
    assert ds.metainfo['task_classes'] == {'semseg': 21, 'human_parts': 7}
    assert ds.metainfo['part_classes'][1] == 'head'
    s = ds[0]['data_samples']
    sem = s.gt_sem_seg.data[0]
    assert sem[0, 0] == 255 and sem[5, 20] == 15
    parts = s.gt_part_seg.data[0]
    assert parts[3, 20] == 1 and parts[7, 20] == 3  # head, upper arm
    assert parts[12, 20] == 0 and parts[:, :15].max() == 0
    sal = s.gt_sal_map.data[0]
    assert sal[:, 15:].eq(1).all() and sal[:, :15].eq(0).all()
    n = s.gt_normal_map.data
    # Published rule: (255, 255, 255) is the value (1, 1, 1), not invalid.
    assert n[:, 0, 0].tolist() == [1, 1, 1]
    np.testing.assert_allclose(n[:, 5, 5].numpy(),
                               [1 / 255, 1 / 255, 1], atol=1e-6)
    e = s.gt_edge_map.data[0]
    assert set(np.nonzero(e.any(0).numpy())[0].tolist()) <= {14, 15}


def test_real_sample_human_parts(tmp_path, shared_path):
    root = shared_path('pascal_context_mt', 'PASCAL_MT')
    ann = tmp_path / 'train.txt'
    ann.write_text('2008_000008\n2008_000019\n')  # the train images there
    ds = PascalContextMTDataset(data_root=root, ann_file=str(ann),
                                tasks=('human_parts', ), pipeline=PIPE)
    person = ds[0]['data_samples'].gt_part_seg.data
    dogs = ds[1]['data_samples'].gt_part_seg.data
    assert person.shape == (1, 442, 500)
    assert set(person.unique().tolist()) >= {0, 1, 2}
    assert dogs.shape == (1, 272, 480) and dogs.max() == 0


def test_real_sample_with_published_split(tmp_path, shared_path):
    root = shared_path('pascal_context_mt', 'PASCAL_MT')
    split = shared_path('partial_label_splits', 'pascal_context',
                        'randomlabels.npy')
    ann = tmp_path / 'train.txt'
    ann.write_text('2008_000008\n2008_000019\n')
    with pytest.raises(ValueError, match='4996 image id'):
        PascalContextMTDataset(data_root=root, ann_file=str(ann),
                               label_setting='random_label', split_file=split)
    ds = PascalContextMTDataset(data_root=root, ann_file=str(ann),
                                label_setting='random_label',
                                split_file=split, split_strict=False)
    data = np.load(split, allow_pickle=True).item()
    for i, sid in enumerate(('2008_000008', '2008_000019')):
        want = tuple(t for t in ds.tasks if sid in set(data[t]))
        assert ds.get_data_info(i)['labeled_tasks'] == want
