import os
import socket
import sys
import tempfile

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from mmdmtl.datasets.partial_labels import generate_label_matrix
from mmdmtl.datasets.samplers import (PartialLabelSampler,
                                      TaskCoveringBatchSampler,
                                      compose_task_covering_batches)


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _ddp_sampler_worker import build_sampler as _sampler  # noqa: E402
from _ddp_sampler_worker import one_label_dataset as _one_label  # noqa: E402
from _ddp_sampler_worker import worker as _worker  # noqa: E402


def test_random_mode_is_a_seeded_permutation():
    s = PartialLabelSampler(_one_label(), seed=3)
    a = list(s)
    assert sorted(a) == list(range(103)) and len(s) == 103
    assert list(PartialLabelSampler(_one_label(), seed=3)) == a
    s.set_epoch(1)
    b = list(s)
    assert sorted(b) == list(range(103)) and b != a
    # The global RNG is not touched.
    state = np.random.get_state()[1].copy()
    list(PartialLabelSampler(_one_label(), seed=3))
    np.testing.assert_array_equal(np.random.get_state()[1], state)


@pytest.mark.parametrize('bs', [5, 6, 8])
def test_cover_tasks_every_batch_has_every_task(bs):
    ds = _one_label(1000, 5, seed=1)
    batches = compose_task_covering_batches(ds.label_matrix, bs,
                                            np.random.default_rng(0))
    assert all(len(b) == bs for b in batches)
    flat = np.concatenate(batches)
    assert set(flat.tolist()) == set(range(1000))
    assert len(flat) - 1000 < bs  # only the last batch is topped up
    covered = [ds.label_matrix[b].any(0).all() for b in batches]
    # 200 labels per task, 1000/bs batches: all covered when 200 >= batches.
    if 1000 / bs <= 200:
        assert all(covered)


def test_cover_tasks_random_label_published_shape():
    m = generate_label_matrix(795, 3, 'random_label', seed=2)
    batches = compose_task_covering_batches(m, 4, np.random.default_rng(5))
    assert all(m[b].any(0).all() for b in batches)


def test_cover_tasks_best_effort_when_a_task_is_rare():
    m = np.zeros((40, 2), bool)
    m[:, 0] = True
    m[:3, 1] = True  # 3 labels of task 1 for 10 batches
    batches = compose_task_covering_batches(m, 4, np.random.default_rng(0))
    assert sum(m[b, 1].any() for b in batches) == 3
    assert sorted(np.concatenate(batches).tolist()) == list(range(40))


def test_plain_shuffle_rarely_covers_but_sampler_does():
    ds = _one_label(600, 5, seed=0)
    s = _sampler(ds, 'cover_tasks', 6, seed=0)
    idx = np.array(list(s)).reshape(-1, 6)
    assert all(ds.label_matrix[b].any(0).all() for b in idx)
    # (not seed 0: the split itself was dealt over that very permutation)
    plain = np.random.default_rng(123).permutation(600).reshape(-1, 6)
    assert np.mean([ds.label_matrix[b].any(0).all() for b in plain]) < 0.5


def test_cover_tasks_needs_a_label_matrix():
    with pytest.raises(TypeError, match='label_matrix'):  # a plain list
        _sampler(list(range(10)), 'cover_tasks', 2, seed=0)


@pytest.mark.parametrize('mode', ['random', 'cover_tasks'])
def test_exact_resume(mode):
    ds = _one_label(50, 5)
    s = _sampler(ds, mode, 4, seed=9)
    s.set_epoch(2)
    full = list(s)
    it = iter(s)
    head = [next(it) for _ in range(17)]
    state = s.state_dict()
    assert state['num_consumed'] == 17 and state['epoch'] == 2
    fresh = _sampler(ds, mode, 4, seed=0)
    fresh.load_state_dict(state)
    assert head + list(fresh) == full
    # After the resumed epoch ends, the next epoch starts from its beginning.
    assert list(fresh) == full
    # An explicit consumed count (iterations x batch size) overrides.
    fresh.load_state_dict(s.state_dict(num_consumed=8))
    assert list(fresh) == full[8:]
    with pytest.raises(ValueError, match='world_size'):
        fresh.load_state_dict(dict(state, world_size=4))


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def test_ddp_two_ranks_gloo():
    modes = ('random', 'cover_tasks')
    with tempfile.TemporaryDirectory() as out:
        mp.spawn(_worker, args=(2, _free_port(), out, modes), nprocs=2,
                 join=True)
        results = {m: [torch.load(os.path.join(out, f'{m}_{r}.pt'))
                       for r in (0, 1)] for m in modes}
    for mode, (r0, r1) in results.items():
        _check_ranks(mode, r0, r1)


def _check_ranks(mode, r0, r1):
    assert r0['seed'] == r1['seed']
    assert r0['len'] == r1['len'] == len(r0[0]) == len(r1[0])
    for epoch in (0, 1):
        union = set(r0[epoch]) | set(r1[epoch])
        assert union == set(range(101))  # the epoch covers the dataset
    assert r0[0] != r0[1]  # set_epoch changes the order
    if mode == 'cover_tasks':
        m = _one_label(101, 5, seed=4).label_matrix
        for r in (r0, r1):
            b = np.array(r[0]).reshape(-1, 5)
            assert all(m[x].any(0).all() for x in b)


# ----------------------------------------------------------- infinite mode
@pytest.mark.parametrize('mode', ['random', 'cover_tasks'])
def test_infinite_is_the_finite_epochs_concatenated(mode):
    import itertools
    ds = _one_label(23, 3, seed=2)
    finite = _sampler(ds, mode, 4, seed=1)
    expected = []
    for epoch in range(4):
        finite.set_epoch(epoch)
        expected += list(finite)
    inf = _sampler(ds, mode, 4, seed=1, infinite=True)
    got = list(itertools.islice(iter(inf), len(expected)))
    assert got == expected
    assert inf.epoch == 3 or inf.epoch == 4
    if mode == 'cover_tasks':
        batches = np.asarray(got).reshape(-1, 4)
        assert all(ds.label_matrix[b].any(0).all() for b in batches)


def test_infinite_state_resumes_mid_pass():
    import itertools
    ds = _one_label(10, 2)
    a = _sampler(ds, 'cover_tasks', 2, seed=0,
                            infinite=True)
    it = iter(a)
    head = list(itertools.islice(it, 26))  # 2 passes + 6
    state = a.state_dict()
    assert state['epoch'] == 2 and state['num_consumed'] == 6
    assert state['infinite'] is True
    tail = list(itertools.islice(it, 14))
    b = _sampler(ds, 'cover_tasks', 2, seed=9,
                            infinite=True)
    b.load_state_dict(state)
    assert list(itertools.islice(iter(b), 14)) == tail
    assert len(head) == 26


# --------------------------------------------------- through dataset wrappers
def _folder_cfg(root, tasks, setting='one_label'):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from test_multi_task_folder import META, PIPELINE
    return dict(type='MultiTaskFolderDataset', data_root=root, tasks=tasks,
                metainfo=META, label_setting=setting, pipeline=PIPELINE)


def test_label_matrix_through_repeat_and_concat_datasets(tmp_path):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from test_multi_task_folder import _write_folders

    from mmdmtl.datasets.samplers.partial_label_sampler import \
        dataset_label_matrix
    from mmdmtl.registry import DATASETS
    root = _write_folders(tmp_path, ids=[str(i) for i in range(6)])
    a = _folder_cfg(root, dict(semseg='seg', depth='depth'))
    b = _folder_cfg(root, dict(depth='depth', sal='sal'), 'full')
    rep = DATASETS.build(dict(type='RepeatDataset', times=3, dataset=a))
    m, tasks = dataset_label_matrix(rep)
    assert tasks == ('semseg', 'depth') and m.shape == (18, 2)
    np.testing.assert_array_equal(m[6:12], rep.dataset.label_matrix)
    s = _sampler(rep, 'cover_tasks', 2, seed=0)
    idx = list(s)
    assert len(idx) == 18 and sorted(set(idx)) == list(range(18))
    assert all(m[bt].any(0).all() for bt in np.asarray(idx).reshape(-1, 2))
    # datasets with different tasks: the union, False where a dataset lacks one
    cat = DATASETS.build(dict(type='ConcatDataset', datasets=[a, b],
                              ignore_keys=['tasks', 'task_classes', 'label_setting',
                                           'task_files']))
    m, tasks = dataset_label_matrix(cat)
    assert tasks == ('semseg', 'sal', 'depth') and m.shape == (12, 3)
    np.testing.assert_array_equal(m[:6, 1], False)
    np.testing.assert_array_equal(m[6:], np.tile([False, True, True], (6, 1)))
    assert len(_sampler(cat, 'cover_tasks', 2, seed=0, infinite=True)) == 12
    with pytest.raises(TypeError, match='needs a dataset with a label_matrix'):
        _sampler(list(range(4)), 'cover_tasks', 2)


def test_task_covering_batch_sampler_cuts_the_composed_batches():
    """The batch sampler (batch size given once, by the loader) yields exactly the
    batches its sampler composes, each holding every task."""
    ds = _one_label(103, 5, seed=2)
    ref = _sampler(ds, 'cover_tasks', 6, seed=4)
    ref_batches = np.asarray(list(ref)).reshape(-1, 6).tolist()
    bs = TaskCoveringBatchSampler(PartialLabelSampler(ds, seed=4), batch_size=6)
    assert bs.sampler.mode == 'cover_tasks' and bs.sampler.batch_size == 6
    batches = list(bs)
    assert batches == ref_batches and len(bs) == len(batches) == 18
    assert ref_batches == [b.tolist() for b in compose_task_covering_batches(
        ds.label_matrix, 6, np.random.default_rng(4))]
    assert all(ds.label_matrix[b].any(0).all() for b in batches)
    # resumable through the sampler: 5 batches consumed, the rest continues
    state = bs.sampler.state_dict(num_consumed=5 * 6)
    again = TaskCoveringBatchSampler(PartialLabelSampler(ds, seed=0), batch_size=6)
    again.sampler.load_state_dict(state)
    assert list(again) == ref_batches[5:]
    with pytest.raises(TypeError, match="sampler=dict\\(type='PartialLabelSampler'"):
        TaskCoveringBatchSampler(torch.utils.data.SequentialSampler(ds), 6)
    with pytest.raises(ValueError, match='drop_last'):
        TaskCoveringBatchSampler(PartialLabelSampler(ds), 6, drop_last=True)


def test_task_covering_batch_sampler_through_the_runner_loader(tmp_path):
    """MMEngine builds it from the config with the loader's batch size."""
    from mmengine.runner import Runner

    from mmdmtl.utils import register_all_modules
    register_all_modules()
    ds = _one_label(40, 4, seed=0)
    loader = Runner.build_dataloader(dict(
        batch_size=5, num_workers=0, dataset=ds, collate_fn=dict(type='pseudo_collate'),
        sampler=dict(type='PartialLabelSampler', seed=1),
        batch_sampler=dict(type='TaskCoveringBatchSampler')))
    assert isinstance(loader.batch_sampler, TaskCoveringBatchSampler)
    batches = list(loader.batch_sampler)
    assert all(len(b) == 5 for b in batches) and len(batches) == 8
    assert all(ds.label_matrix[b].any(0).all() for b in batches)
