"""mmdmtl.engine.mmengine_compat: the MMEngine internals mmdmtl uses work with the
installed mmengine, and a missing one is a clear error naming the version."""
import re
import types
from pathlib import Path

import mmengine
import pytest
import torch

from mmdmtl.engine import mmengine_compat as compat
from mmdmtl.engine.mmengine_compat import MMEngineInternalError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _fresh_version_check(monkeypatch):
    monkeypatch.setattr(compat, '_checked_version', None)


def test_tested_version_is_the_pin():
    pins = (REPO / 'requirements' / 'mminstall.txt').read_text()
    assert re.search(r'^mmengine==(\S+)$', pins, re.M).group(1) == \
        compat.TESTED_MMENGINE
    assert compat.mmengine_version() == mmengine.__version__


def test_installed_mmengine_has_every_internal():
    assert compat.missing_internals() == []
    compat.check_mmengine_version()
    compat.require_checkpoint_hook_internals()
    compat.require_inferencer_internals()


def test_runner_and_loop_internals(tmp_path, toy):
    from mmengine.runner import IterBasedTrainLoop
    runner = toy.build_runner(tmp_path / 'a', val_interval=0)
    assert compat.runner_load_from(runner) is None
    assert compat.runner_is_resuming(runner) is False
    path = str(tmp_path / 'x.pth')
    runner = toy.build_runner(tmp_path / 'b', val_interval=0, load_from=path,
                              resume=True)
    assert compat.runner_load_from(runner) == path
    assert compat.runner_is_resuming(runner) is True
    loop = runner.train_loop
    assert isinstance(loop, IterBasedTrainLoop)
    inner = loop.dataloader_iterator
    compat.wrap_train_data_iterator(loop, lambda it: ('wrapped', it))
    assert loop.dataloader_iterator == ('wrapped', inner)


def test_test_doubles_are_read_as_they_are():
    fake = types.SimpleNamespace()
    assert compat.runner_load_from(fake) is None
    assert compat.runner_is_resuming(fake) is False
    fake = types.SimpleNamespace(_load_from='f.pth', _resume=1)
    assert compat.runner_load_from(fake) == 'f.pth'
    assert compat.runner_is_resuming(fake) is True


def test_load_checkpoint_to_model():
    src, dst = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    ckpt = {'state_dict': {'module.' + k: v for k, v in src.state_dict().items()}}
    compat.load_checkpoint_to_model(dst, ckpt)
    assert torch.equal(dst.weight, src.weight)
    assert torch.equal(dst.bias, src.bias)


def _message(err) -> str:
    return str(err.value)


def test_missing_function_is_a_clear_error(monkeypatch):
    import mmengine.runner.checkpoint as ckpt
    monkeypatch.delattr(ckpt, '_load_checkpoint_to_model')
    with pytest.raises(MMEngineInternalError) as err:
        compat.load_checkpoint_to_model(torch.nn.Linear(1, 1), {})
    msg = _message(err)
    assert 'mmengine.runner.checkpoint._load_checkpoint_to_model' in msg
    assert f'installed mmengine {mmengine.__version__}' in msg
    assert f'pip install mmengine=={compat.TESTED_MMENGINE}' in msg
    assert compat.missing_internals() == [
        'mmengine.runner.checkpoint._load_checkpoint_to_model']


def test_missing_overridden_method_is_a_clear_error(monkeypatch):
    from mmengine.hooks import CheckpointHook
    monkeypatch.delattr(CheckpointHook, '_save_checkpoint_with_step')
    with pytest.raises(MMEngineInternalError,
                       match=r'CheckpointHook\._save_checkpoint_with_step.*'
                       r'AtomicCheckpointHook overrides it'):
        compat.require_checkpoint_hook_internals()


def test_atomic_hook_refuses_to_train_without_its_internals(
        monkeypatch, tmp_path, toy):
    from mmengine.hooks import CheckpointHook
    monkeypatch.delattr(CheckpointHook, '_save_checkpoint_with_step')
    runner = toy.build_runner(tmp_path / 'a', val_interval=0, max_iters=1)
    with pytest.raises(MMEngineInternalError, match='_save_checkpoint_with_step'):
        runner.train()


def test_missing_runner_attribute_is_a_clear_error(tmp_path, toy):
    runner = toy.build_runner(tmp_path / 'a', val_interval=0)
    del runner._resume
    with pytest.raises(MMEngineInternalError,
                       match=r'Runner\._resume .*whether a checkpoint is resumed'
                       ) as err:
        compat.runner_is_resuming(runner)
    assert mmengine.__version__ in _message(err)


def test_other_version_checks_every_internal_at_first_use(monkeypatch):
    from mmengine.infer import BaseInferencer
    monkeypatch.setattr(mmengine, '__version__', '9.9.9')
    monkeypatch.delattr(BaseInferencer, '_inputs_to_list')
    # an unrelated compat call fails too, and names all that is missing
    with pytest.raises(MMEngineInternalError) as err:
        compat.runner_is_resuming(types.SimpleNamespace())
    msg = _message(err)
    assert 'mmengine.infer.BaseInferencer._inputs_to_list' in msg
    assert 'installed mmengine 9.9.9' in msg
    monkeypatch.undo()
    compat.check_mmengine_version()  # the tested version again: fine
