"""The engine hooks under 2-process gloo DDP (toy model; the real model has its own
tests in test_model_distributed.py): same numbers as 1 process with the double batch,
an odd-sized evaluation set counted once per sample, and a NaN on one rank stops every
rank at the same iteration instead of hanging."""
import numpy as np
import pytest

WORKER = 'toy_dist_worker.py'


def _run(dist, out, mode, nproc, batch, timeout=90):
    res = dist.run(dist.workers / WORKER, nproc, [mode, out, batch],
                   timeout=timeout)
    return res


def test_two_ranks_equal_one_rank_double_batch(dist, tmp_path):
    single = _run(dist, tmp_path, 'train', 1, 4)
    assert single.ok, single.report()
    double = _run(dist, tmp_path, 'train', 2, 2)
    assert double.ok, double.report()
    one = dist.read_json(tmp_path / 'train_1_0.json')
    r0 = dist.read_json(tmp_path / 'train_2_0.json')
    r1 = dist.read_json(tmp_path / 'train_2_1.json')
    # loss curve: the mean of the two ranks' batch-means is the 4-sample mean
    np.testing.assert_allclose(
        (np.array(r0['losses']) + np.array(r1['losses'])) / 2, one['losses'],
        rtol=1e-5, atol=1e-6)
    for k, w in one['weights'].items():
        np.testing.assert_allclose(r0['weights'][k], w, rtol=1e-5, atol=1e-6)
        assert r0['weights'][k] == r1['weights'][k]  # DDP keeps ranks identical
    # evaluation of 5 images on 2 ranks: every image exactly once, same value
    for r in (r0, r1):
        assert r['val']['val/count'] == 5 and r['val']['val/distinct'] == 5
        assert r['val']['val/mse'] == pytest.approx(one['val']['val/mse'],
                                                    rel=1e-5)


def test_nan_on_one_rank_stops_all_ranks(dist, tmp_path):
    res = _run(dist, tmp_path, 'nan', 2, 2)
    assert not res.timed_out, res.report()
    assert res.ok, res.report()  # both caught FloatingPointError and exited
    for rank in (0, 1):
        out = dist.read_json(tmp_path / f'nan_2_{rank}.json')
        assert 'iteration 2 ' in out['error'], out
        assert "rank 1: task(s) ['depth']" in out['error']
        assert len(out['losses']) == 1  # stopped before finishing iteration 2
        assert all(np.isfinite(v).all() for v in out['weights'].values())
