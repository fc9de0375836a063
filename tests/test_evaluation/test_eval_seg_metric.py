import pytest
import torch

from mmdmtl.evaluation import HumanPartsMetric, SemSegMetric
from mmdmtl.registry import METRICS


def _batch(make_sample, task, n=4, c=5, seed=0, as_dict=True):
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(n):
        h, w = 6 + i, 9 - i
        gt = torch.randint(0, c, (1, h, w), generator=g)
        gt[0, 0, :2] = 255
        pred = torch.where(torch.rand(1, h, w, generator=g) < 0.6, gt,
                           torch.randint(0, c, (1, h, w), generator=g))
        pred[pred == 255] = 0
        out.append(make_sample({task: pred}, {task: gt}, name=f'{i}.png',
                               as_dict=as_dict))
    return out


@pytest.mark.parametrize('as_dict', [True, False])
def test_semseg_matches_mmseg_iou_metric(make_sample, as_dict):
    from mmseg.evaluation import IoUMetric
    samples = _batch(make_sample, 'semseg', as_dict=as_dict)
    ours = SemSegMetric(num_classes=5)
    ours.process({}, samples[:2])
    ours.process({}, samples[2:])
    res = ours.evaluate(4)
    ref = IoUMetric(iou_metrics=['mIoU'])
    ref.dataset_meta = dict(classes=[str(i) for i in range(5)])
    ref_samples = [s if isinstance(s, dict) else s.to_dict() for s in samples]
    ref.process({}, [dict(pred_sem_seg=dict(data=s['pred_sem_seg']['data']),
                          gt_sem_seg=dict(data=s['gt_sem_seg']['data']))
                     for s in ref_samples])
    mm = ref.evaluate(4)
    assert res['semseg/mIoU'] == pytest.approx(mm['mIoU'], abs=0.006)
    assert res['semseg/aAcc'] == pytest.approx(mm['aAcc'], abs=0.006)
    assert res['semseg/mAcc'] == pytest.approx(mm['mAcc'], abs=0.006)
    assert all(isinstance(v, float) for v in res.values())


def test_unlabelled_samples_add_a_record_but_no_counts(make_sample):
    samples = _batch(make_sample, 'semseg', n=2)
    g = torch.zeros(1, 3, 3, dtype=torch.long)
    # labelled for another task only: no semseg gt field, a semseg prediction
    samples.append(make_sample({'semseg': g}, {'depth': torch.ones(1, 3, 3)}))
    m = SemSegMetric(num_classes=5)
    m.process({}, samples)
    assert len(m.results) == 3
    assert m.results[2] == dict(counted=False, reason='not labelled for this task')
    full = m.evaluate(3)
    only = SemSegMetric(num_classes=5)
    only.process({}, samples[:2])
    assert only.evaluate(2) == full


def test_errors_name_the_image(make_sample):
    m = SemSegMetric(num_classes=3)
    s = make_sample({'semseg': torch.zeros(1, 2, 2, dtype=torch.long)}, {},
                    labeled=('semseg', ), name='a/b.png')
    with pytest.raises(KeyError, match='a/b.png.*labeled_tasks'):
        m.process({}, [s])
    s = make_sample({}, {'semseg': torch.zeros(1, 2, 2, dtype=torch.long)},
                    name='c.png')
    with pytest.raises(KeyError, match='c.png.*pred_sem_seg'):
        m.process({}, [s])
    s = make_sample({'semseg': torch.zeros(1, 2, 3, dtype=torch.long)},
                    {'semseg': torch.zeros(1, 2, 2, dtype=torch.long)},
                    name='d.png')
    with pytest.raises(ValueError, match='d.png'):
        m.process({}, [s])
    with pytest.raises(ValueError, match='number of classes'):
        SemSegMetric().num_classes


def test_classes_from_dataset_meta_and_registry(make_sample):
    m = METRICS.build(dict(type='SemSegMetric'))
    m.dataset_meta = dict(classes=['a', 'b'])
    gt = torch.tensor([[[0, 1], [1, 1]]])
    m.process({}, [make_sample({'semseg': gt}, {'semseg': gt})])
    res = m.evaluate(1)
    assert res == {'semseg/mIoU': 100.0, 'semseg/aAcc': 100.0, 'semseg/mAcc': 100.0}
    with pytest.raises(ValueError, match='class maps'):
        SemSegMetric(task='depth')


def test_human_parts_drops_images_without_parts(make_sample):
    gt = torch.tensor([[[0, 1], [2, 2]]])
    pred = torch.tensor([[[0, 1], [2, 0]]])
    bg = torch.zeros(1, 2, 2, dtype=torch.long)
    samples = [
        make_sample({'human_parts': pred}, {'human_parts': gt}),
        make_sample({'human_parts': bg + 1}, {'human_parts': bg}),  # no person
        make_sample({'human_parts': bg + 1}, {'human_parts': bg + 255}),
    ]
    m = HumanPartsMetric(num_classes=3)
    m.process({}, samples)
    assert [r['counted'] for r in m.results] == [True, False, False]
    assert m.results[1]['reason'] == 'no human parts in label'
    res = m.evaluate(3)
    # class 0: I=1, U=2; class 1: 1/1; class 2: I=1, U=2
    assert res['human_parts/mIoU'] == pytest.approx(100 * (0.5 + 1 + 0.5) / 3)
    keep = HumanPartsMetric(num_classes=3, drop_images_without_parts=False)
    keep.process({}, samples)
    assert keep.evaluate(3)['human_parts/mIoU'] < res['human_parts/mIoU']
