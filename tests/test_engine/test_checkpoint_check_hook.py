"""CheckpointCheckHook: a checkpoint of another model gives a clear mismatch report."""
import pytest
import torch

from mmdmtl.engine.checkpoint import CheckpointMismatchError

HOOK = [dict(type='CheckpointCheckHook')]


def _save(tmp_path, toy, name, model):
    runner = toy.build_runner(tmp_path / name, max_iters=1, val_interval=0,
                              ckpt_interval=1, model=model)
    runner.train()
    return str(tmp_path / name / 'iter_1.pth')


def test_load_from_other_shapes_raises(tmp_path, toy):
    ckpt = _save(tmp_path, toy, 'a', toy.ToyModel(extra=(3, 5)))
    runner = toy.build_runner(tmp_path / 'b', model=toy.ToyModel(extra=(4, 5)),
                              load_from=ckpt, custom_hooks=HOOK, val_interval=0)
    with pytest.raises(CheckpointMismatchError) as err:
        runner.load_or_resume()
    msg = str(err.value)
    assert ckpt in msg
    assert 'extra.weight (checkpoint [5, 3] vs model [5, 4])' in msg


def test_load_from_unrelated_model_raises(tmp_path, toy):
    path = tmp_path / 'mlp.pth'
    mlp = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 2))
    torch.save({'state_dict': mlp.state_dict(), 'meta': {}}, path)
    runner = toy.build_runner(tmp_path / 'b', load_from=str(path),
                              custom_hooks=HOOK, val_interval=0)
    with pytest.raises(CheckpointMismatchError, match='another model') as err:
        runner.load_or_resume()
    assert 'unexpected in the checkpoint (4)' in str(err.value)
    assert 'semseg_head.weight' in str(err.value)


def test_load_from_partial_warns_and_loads(tmp_path, toy):
    src = toy.ToyModel()
    ckpt = _save(tmp_path, toy, 'a', src)
    model = toy.ToyModel(extra=(4, 2))
    runner = toy.build_runner(tmp_path / 'b', model=model, load_from=ckpt,
                              custom_hooks=HOOK, val_interval=0)
    runner.load_or_resume()  # 4 of 6 entries match: accepted with a warning
    saved = torch.load(ckpt, map_location='cpu')['state_dict']
    assert torch.equal(model.semseg_head.weight, saved['semseg_head.weight'])


def test_resume_requires_exact_match(tmp_path, toy):
    ckpt = _save(tmp_path, toy, 'a', toy.ToyModel())
    runner = toy.build_runner(tmp_path / 'b', model=toy.ToyModel(extra=(4, 2)),
                              load_from=ckpt, resume=True, custom_hooks=HOOK,
                              val_interval=0)
    with pytest.raises(CheckpointMismatchError, match='exactly') as err:
        runner.load_or_resume()
    assert 'missing in the checkpoint (2): extra.weight, extra.bias' in str(
        err.value)


def test_without_hook_mmengine_loads_silently(tmp_path, toy):
    """The failure mode the hook exists for: MMEngine alone accepts the file."""
    ckpt = _save(tmp_path, toy, 'a', toy.ToyModel(extra=(3, 5)))
    runner = toy.build_runner(tmp_path / 'b', model=toy.ToyModel(extra=(4, 5)),
                              load_from=ckpt, val_interval=0)
    model = runner.model
    before = {k: v.clone() for k, v in model.state_dict().items()}
    saved = torch.load(ckpt, map_location='cpu')['state_dict']
    runner.load_or_resume()  # no error, although extra.weight does not fit
    after = model.state_dict()
    # the fitting entries were copied from the (trained) checkpoint ...
    for k in ('semseg_head.weight', 'semseg_head.bias', 'depth_head.weight',
              'depth_head.bias', 'extra.bias'):
        assert not torch.equal(before[k], saved[k]), k
        assert torch.equal(after[k], saved[k]), k
    # ... the one of another shape silently keeps its random initialisation
    assert saved['extra.weight'].shape == (5, 3)
    assert torch.equal(after['extra.weight'], before['extra.weight'])
    assert runner.iter == 0  # weights only, no resume


def test_bad_ratio_rejected():
    from mmdmtl.engine.hooks import CheckpointCheckHook
    with pytest.raises(ValueError, match='min_matched_ratio'):
        CheckpointCheckHook(min_matched_ratio=2)
