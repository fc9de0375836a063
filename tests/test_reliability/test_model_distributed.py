"""The real DiffusionMTL model (tiny) under 2-process gloo DDP, and its exact resume.

- 2 ranks x batch 2 == 1 process x batch 4: same loss curve, weights and validation
  numbers (GroupNorm, no diffusion noise, full labels, deterministic pipeline: the
  configuration in which the two layouts compute the same thing); the validation split
  has 3 images (not a multiple of 2) and must count each once.
- no hang: rank 0's batch has only 'semseg' labels, rank 1's only 'depth', with
  find_unused_parameters=False.
- exact resume: the random pipeline and diffusion noise; a run resumed at iteration 2
  ends with the same weights and losses as the uninterrupted 4-iteration run.
Every multi-process run has a hard timeout (conftest.run_dist).
"""
import json

import numpy as np
import pytest

WORKER = 'real_model_worker.py'


@pytest.fixture(scope='module')
def data_root(tmp_path_factory):
    from mmdmtl.datasets.synthetic_scenes import generate_synthetic_scenes
    root = tmp_path_factory.mktemp('real_model') / 'scenes'
    generate_synthetic_scenes(str(root), num_train=8, num_val=3, size=(32, 32),
                              seed=0)
    return root


def _ids(root, split):
    with open(root / 'gt_sets' / f'{split}.txt') as f:
        return [line.strip() for line in f if line.strip()]


def _run(dist, out, mode, nproc, batch, data_root, *extra, timeout=150):
    res = dist.run(dist.workers / WORKER, nproc,
                   [mode, out, data_root, batch, *extra], timeout=timeout)
    assert res.ok, res.report()
    return res


def test_two_ranks_equal_one_rank_double_batch(dist, tmp_path, data_root):
    _run(dist, tmp_path, 'equiv', 1, 4, data_root)
    _run(dist, tmp_path, 'equiv', 2, 2, data_root)
    one = dist.read_json(tmp_path / 'equiv_1_0.json')
    r0 = dist.read_json(tmp_path / 'equiv_2_0.json')
    r1 = dist.read_json(tmp_path / 'equiv_2_1.json')
    assert len(one['losses']) == len(r0['losses']) == 4
    for key in one['losses'][0]:
        if 'loss' not in key:
            continue
        mean2 = [(a[key] + b[key]) / 2 for a, b in zip(r0['losses'], r1['losses'])]
        np.testing.assert_allclose(mean2, [x[key] for x in one['losses']],
                                   rtol=2e-4, atol=1e-5, err_msg=key)
    for k, v in one['weights'].items():
        assert r0['weights'][k] == r1['weights'][k], k  # ranks stay identical
        np.testing.assert_allclose(r0['weights'][k], v, rtol=1e-3, atol=1e-4,
                                   err_msg=k)
    metrics = {k: v for k, v in one['val'].items() if 'time' not in k}
    assert any('mIoU' in k for k in metrics), one['val']
    for k, v in metrics.items():
        for r in (r0, r1):
            np.testing.assert_allclose(r['val'][k], v, rtol=2e-3, atol=1e-4,
                                       err_msg=k)


def test_no_hang_when_one_rank_lacks_a_task(dist, tmp_path, data_root):
    ids = _ids(data_root, 'train')
    split = {i: (['semseg'] if n % 2 == 0 else ['depth']) for n, i in
             enumerate(ids)}
    split[ids[6]] = ['normals']  # so the split covers every task of the model
    (tmp_path / 'nohang_split.json').write_text(json.dumps(split))
    res = _run(dist, tmp_path, 'nohang', 2, 1, data_root, timeout=120)
    assert not res.timed_out
    r0 = dist.read_json(tmp_path / 'nohang_2_0.json')
    r1 = dist.read_json(tmp_path / 'nohang_2_1.json')
    assert len(r0['losses']) == len(r1['losses']) == 2
    # the tasks really differ between the ranks' batches
    assert r0['losses'][0]['depth.loss_final'] == 0.0
    assert r1['losses'][0]['semseg.loss_final'] == 0.0
    assert r0['losses'][0]['semseg.loss_final'] > 0
    assert r1['losses'][0]['depth.loss_final'] > 0
    # DDP kept the parameters identical (BN running statistics are per rank:
    # the CPU wrapper does not broadcast buffers)
    params = [k for k in r0['weights'] if 'running_' not in k]
    assert params and all(r0['weights'][k] == r1['weights'][k] for k in params)


def test_exact_resume_real_model(dist, tmp_path, data_root):
    _run(dist, tmp_path, 'resume', 1, 2, data_root)
    ckpt = tmp_path / 'work_resume_1' / 'iter_2.pth'
    assert ckpt.is_file()
    _run(dist, tmp_path, 'resume', 1, 2, data_root, ckpt)
    full = dist.read_json(tmp_path / 'resume_1_0.json')
    resumed = dist.read_json(tmp_path / 'resume_1_0_resumed.json')
    assert len(full['losses']) == 4 and len(resumed['losses']) == 2
    assert resumed['losses'] == full['losses'][2:]
    assert resumed['weights'] == full['weights']
