import numpy as np
import pytest
import torch

from mmdmtl.evaluation.functional import (batch_class_areas,
                                          batch_confusion_matrices,
                                          confusion_matrix, mean_iou,
                                          segmentation_scores)


def _brute_areas(pred, gt, c, ignore=255):
    pred, gt = np.asarray(pred).ravel(), np.asarray(gt).ravel()
    keep = gt != ignore
    pred, gt = pred[keep], gt[keep]
    inter = np.array([np.sum((pred == k) & (gt == k)) for k in range(c)])
    parea = np.array([np.sum(pred == k) for k in range(c)])
    larea = np.array([np.sum(gt == k) for k in range(c)])
    return inter, parea, larea


def test_areas_match_brute_force_and_mmseg():
    from mmseg.evaluation import IoUMetric
    g = torch.Generator().manual_seed(1)
    preds = [torch.randint(0, 5, (1, 9, 7), generator=g),
             torch.randint(0, 5, (1, 4, 11), generator=g)]
    gts = [torch.randint(0, 5, (1, 9, 7), generator=g),
           torch.randint(0, 5, (1, 4, 11), generator=g)]
    gts[0][0, :2] = 255
    inter, parea, larea = batch_class_areas(preds, gts, 5)
    for b in range(2):
        ref = _brute_areas(preds[b], gts[b], 5)
        np.testing.assert_array_equal(inter[b], ref[0])
        np.testing.assert_array_equal(parea[b], ref[1])
        np.testing.assert_array_equal(larea[b], ref[2])
        mi, mu, mp, ml = IoUMetric.intersect_and_union(preds[b][0], gts[b][0], 5,
                                                       255)
        np.testing.assert_array_equal(inter[b], mi.numpy())
        np.testing.assert_array_equal(parea[b] + larea[b] - inter[b], mu.numpy())
    s = segmentation_scores(inter.sum(0), parea.sum(0), larea.sum(0))
    union = parea.sum(0) + larea.sum(0) - inter.sum(0)
    assert s['mIoU'] == pytest.approx(np.mean(inter.sum(0) / union))
    assert s['aAcc'] == pytest.approx(inter.sum() / larea.sum())


def test_out_of_range_prediction_is_a_miss():
    gt = torch.tensor([[0, 1, 1, 255]])
    pred = torch.tensor([[0, 1, 7, 1]])  # 7 is no class; the ignore pixel drops
    conf = batch_confusion_matrices([pred], [gt], 2)[0]
    assert conf.tolist() == [[1, 0, 0], [0, 1, 1]]
    np.testing.assert_array_equal(confusion_matrix(pred, gt, 2), [[1, 0], [0, 1]])
    s = segmentation_scores(*[a[0] for a in batch_class_areas([pred], [gt], 2)])
    assert s['IoU'].tolist() == [1.0, 0.5]
    assert s['aAcc'] == pytest.approx(2 / 3)


def test_perfect_and_absent_classes():
    gt = torch.tensor([[0, 0, 2, 2]])
    assert mean_iou(gt, gt, 4) == 1.0  # classes 1 and 3 (empty union) drop out
    s = segmentation_scores(*[a[0] for a in batch_class_areas([gt], [gt], 4)])
    assert np.isnan(s['IoU'][1]) and np.isnan(s['IoU'][3])


def test_shape_mismatch_is_reported():
    with pytest.raises(ValueError, match='sample 0'):
        batch_class_areas([torch.zeros(1, 2, 2)], [torch.zeros(1, 3, 2)], 2)
