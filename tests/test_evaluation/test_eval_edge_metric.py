import os.path as osp

import mmcv
import numpy as np
import pytest
import torch

from mmdmtl.evaluation import EdgeMetric
from mmdmtl.evaluation.functional import edge_pr_counts, edge_scores


def _edge_samples(make_sample, n=3, seed=0, size=(32, 40)):
    r = np.random.default_rng(seed)
    out = []
    for i in range(n):
        gt = np.zeros((1, ) + size, np.int64)
        gt[0, r.integers(2, size[0] - 2), 3:size[1] - 3] = 1
        gt[0, 4:size[0] - 4, r.integers(2, size[1] - 2)] = 1
        gt[0, -1, :] = 255
        prob = np.clip(0.7 * (gt == 1) + 0.5 * r.random(gt.shape) ** 3, 0, 1)
        prob = np.roll(prob, i % 2, axis=2)  # some predictions 1 px off
        out.append(make_sample({'edge': torch.tensor(prob, dtype=torch.float32)},
                               {'edge': torch.tensor(gt)}, name=f'dir/im{i}.jpg'))
    return out


def test_metric_equals_functional_pipeline(make_sample):
    samples = _edge_samples(make_sample)
    m = EdgeMetric(thresholds=5, backend='scipy', max_dist=0.011)
    m.process({}, samples)
    assert len(m.results[0]['cntR']) == 5  # O(thresholds) record
    res = m.evaluate(len(samples))
    counts = [edge_pr_counts(s['pred_edge_map']['data'].numpy(),
                             s['gt_edge_map']['data'].numpy(), 5, 0.011,
                             backend='scipy') for s in samples]
    ref = edge_scores(*[np.stack([c[k] for c in counts])
                        for k in ('cntR', 'sumR', 'cntP', 'sumP')], 5)
    assert res['edge/odsF'] == pytest.approx(100 * ref['odsF'])
    assert res['edge/oisF'] == pytest.approx(100 * ref['oisF'])
    assert res['edge/AP'] == pytest.approx(100 * ref['AP'])
    assert 0 < res['edge/odsF'] <= 100 and 0 < res['edge/oisF'] <= 100


def test_perfect_edges_give_100_and_unlabelled_skipped(make_sample):
    gt = torch.zeros(1, 30, 30, dtype=torch.long)
    gt[0, 10, 3:27] = 1
    m = EdgeMetric(thresholds=3, backend='scipy')
    m.process({}, [make_sample({'edge': gt.float()}, {'edge': gt}),
                   make_sample({'edge': gt.float()}, {'sal': gt})])
    assert [r['counted'] for r in m.results] == [True, False]
    res = m.evaluate(2)
    assert res['edge/odsF'] == pytest.approx(100.0)
    assert res['edge/oisF'] == pytest.approx(100.0)


def test_seism_pngs(make_sample, tmp_path):
    samples = _edge_samples(make_sample, n=2)
    m = EdgeMetric(seism_dir=str(tmp_path), online=False)
    m.process({}, samples)
    assert m.evaluate(2) == {}
    img = mmcv.imread(osp.join(tmp_path, 'im1.png'), flag='unchanged')
    prob = samples[1]['pred_edge_map']['data'].numpy()[0]
    assert img.dtype == np.uint8 and img.shape == prob.shape
    assert np.abs(img.astype(float) - 255 * prob).max() <= 0.5 + 1e-6


def test_bad_config():
    with pytest.raises(ValueError, match='fraction'):
        EdgeMetric(max_dist=5)
    with pytest.raises(ValueError, match='seism_dir'):
        EdgeMetric(online=False)
    with pytest.raises(ValueError, match='backend'):
        EdgeMetric(backend='matlab')


def test_worker_processes_give_the_same_scores(make_sample):
    samples = _edge_samples(make_sample, n=5, seed=3)
    ref = EdgeMetric(thresholds=5, max_dist=0.011, num_workers=0)
    par = EdgeMetric(thresholds=5, max_dist=0.011, num_workers=2)
    for m in (ref, par):
        m.process({}, samples[:3])
        m.process({}, samples[3:])
    assert par._pool is not None and any('_future' in r for r in par.results)
    a, b = ref.evaluate(5), par.evaluate(5)
    assert a == b
    assert par._pool is None  # closed by evaluate
    with pytest.raises(ValueError):
        EdgeMetric(num_workers=-1)


def test_auto_workers_depend_on_cpus_per_rank(monkeypatch):
    from mmdmtl.evaluation.metrics import edge_metric as em
    monkeypatch.setattr(em, 'usable_cpus', lambda: 2)
    assert em.auto_num_workers(1) == 0
    monkeypatch.setattr(em, 'usable_cpus', lambda: 16)
    assert em.auto_num_workers(1) == 8 and em.auto_num_workers(2) == 4
    assert em.auto_num_workers(8) == 0
