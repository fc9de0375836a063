"""The MMEngine internals mmdmtl relies on, behind one version-checked door.

A few things mmdmtl needs are not MMEngine's public API. Every use goes through
this module, so that a new MMEngine that renames or drops one fails here, with an
error naming the internal, what it is for and the installed mmengine version
(``MMEngineInternalError``), rather than somewhere deep in a run or, worse, an
override that silently stops being called:

====================================================  ==============================
internal (mmengine 0.10.7)                            used for
====================================================  ==============================
``Runner._load_from``, ``Runner._resume``             what is being loaded, whether
                                                      it is a resume (CheckpointCheck
                                                      and ExactResume hooks)
``IterBasedTrainLoop.dataloader_iterator``            restoring the random streams
                                                      after the resume replay
                                                      (ExactResumeHook)
``CheckpointHook._save_checkpoint_with_step``,        overridden / called by
``._save_best_checkpoint``                            AtomicCheckpointHook
``mmengine.runner.checkpoint.                         copying checkpoint weights into
_load_checkpoint_to_model``                           a model (MultiTaskInferencer)
``BaseInferencer._load_weights_to_model``,            overridden by
``._init_visualizer``, ``._inputs_to_list``           MultiTaskInferencer
====================================================  ==============================

The version check: ``TESTED_MMENGINE`` is the pinned version
(``requirements/mminstall.txt``, ``mmdmtl.version_check.REQUIRED``), the one these
internals were read in and are tested against. With another installed version
every internal that can be looked up without a running object (functions, methods)
is checked once, at the first use of this module; instance attributes are checked
where they are read, on MMEngine's own classes (a test double of a runner or loop
is read as it is).
"""
from typing import Callable, Iterator, List, Optional

from mmdmtl.version_check import FIX, REQUIRED

#: The mmengine version mmdmtl's use of its internals is tested with (the pin).
TESTED_MMENGINE = REQUIRED['mmengine'][2]

# (owner, attribute, what mmdmtl uses it for); owner is 'module:Class' or 'module'.
_LOOKUPS = (
    ('mmengine.runner.checkpoint', '_load_checkpoint_to_model',
     'copying checkpoint weights into a model (MultiTaskInferencer)'),
    ('mmengine.hooks:CheckpointHook', '_save_checkpoint_with_step',
     'AtomicCheckpointHook overrides it (save, then publish, then delete)'),
    ('mmengine.hooks:CheckpointHook', '_save_best_checkpoint',
     'AtomicCheckpointHook overrides it (checks the save_best keys)'),
    ('mmengine.infer:BaseInferencer', '_load_weights_to_model',
     'MultiTaskInferencer overrides it (checkpoint checks)'),
    ('mmengine.infer:BaseInferencer', '_init_visualizer',
     'MultiTaskInferencer overrides it (no visualizer backends)'),
    ('mmengine.infer:BaseInferencer', '_inputs_to_list',
     'MultiTaskInferencer overrides it (input order and unreadable files)'),
)
_checked_version: Optional[str] = None


class MMEngineInternalError(RuntimeError):
    """An MMEngine internal that mmdmtl needs is missing in the installed mmengine."""


def mmengine_version() -> str:
    import mmengine
    return mmengine.__version__


def _error(internal: str, purpose: str) -> MMEngineInternalError:
    return MMEngineInternalError(
        f'mmdmtl needs {internal} of MMEngine ({purpose}), an internal that the '
        f'installed mmengine {mmengine_version()} does not have. mmdmtl uses '
        f'MMEngine internals as of mmengine {TESTED_MMENGINE}, the tested '
        f'version. Fix: {FIX["mmengine"]}')


def _owner(where: str):
    import importlib
    module, _, cls = where.partition(':')
    mod = importlib.import_module(module)
    return getattr(mod, cls) if cls else mod


def missing_internals() -> List[str]:
    """The internals (functions, methods) the installed mmengine lacks."""
    missing = []
    for where, attr, _ in _LOOKUPS:
        if not hasattr(_owner(where), attr):
            missing.append(f'{where.replace(":", ".")}.{attr}')
    return missing


def check_mmengine_version() -> None:
    """Once per installed version: unless it is ``TESTED_MMENGINE``, check every
    internal that can be looked up now; raise naming all that are missing."""
    global _checked_version
    version = mmengine_version()
    if _checked_version == version:
        return
    if version != TESTED_MMENGINE:
        missing = missing_internals()
        if missing:
            purposes = [p for w, a, p in _LOOKUPS
                        if f'{w.replace(":", ".")}.{a}' in missing]
            raise _error(', '.join(missing), '; '.join(purposes))
    _checked_version = version


def _lookup(where: str, attr: str, purpose: str):
    check_mmengine_version()
    value = getattr(_owner(where), attr, None)
    if value is None:
        raise _error(f'{where.replace(":", ".")}.{attr}', purpose)
    return value


def _purpose(where: str, attr: str) -> str:
    return next(p for w, a, p in _LOOKUPS if (w, a) == (where, attr))


def _instance_attr(obj, cls_path: str, attr: str, purpose: str, default):
    """``obj.attr``; required (else the error) when ``obj`` is MMEngine's class."""
    check_mmengine_version()
    if isinstance(obj, _owner(cls_path)) and not hasattr(obj, attr):
        raise _error(f'{cls_path.replace(":", ".")}.{attr}', purpose)
    return getattr(obj, attr, default)


# ------------------------------------------------------------------ the runner
def runner_load_from(runner) -> Optional[str]:
    """The runner's ``load_from`` (the file to load, or to resume from)."""
    return _instance_attr(runner, 'mmengine.runner:Runner', '_load_from',
                          'the checkpoint file being loaded', None)


def runner_is_resuming(runner) -> bool:
    """Whether the runner resumes (``resume=True``) rather than only loads."""
    return bool(_instance_attr(runner, 'mmengine.runner:Runner', '_resume',
                               'whether a checkpoint is resumed', False))


def wrap_train_data_iterator(loop, wrap: Callable[[Iterator], Iterator]) -> None:
    """Replace an iteration-based train loop's data iterator (the one MMEngine's
    resume replays, then trains from) by ``wrap(iterator)``."""
    it = _instance_attr(loop, 'mmengine.runner:IterBasedTrainLoop',
                        'dataloader_iterator',
                        'restoring random streams after the resume replay', None)
    loop.dataloader_iterator = wrap(it)


# -------------------------------------------------------------- checkpointing
def load_checkpoint_to_model(model, checkpoint: dict, strict: bool = False):
    """Copy a loaded checkpoint (a dict with ``state_dict``) into ``model``,
    ``module.`` prefixes stripped, as ``Runner.load_checkpoint`` does."""
    where, attr = 'mmengine.runner.checkpoint', '_load_checkpoint_to_model'
    fn = _lookup(where, attr, _purpose(where, attr))
    return fn(model, checkpoint, strict=strict)


def require_overridable(cls_path: str, *attrs: str) -> None:
    """Check that the MMEngine class ``cls_path`` (``'module:Class'``) still has
    the methods a subclass of mmdmtl overrides; an override of a method MMEngine
    no longer calls would be dead code."""
    for attr in attrs:
        _lookup(cls_path, attr, _purpose(cls_path, attr))


def require_checkpoint_hook_internals() -> None:
    require_overridable('mmengine.hooks:CheckpointHook',
                        '_save_checkpoint_with_step', '_save_best_checkpoint')


def require_inferencer_internals() -> None:
    require_overridable('mmengine.infer:BaseInferencer', '_load_weights_to_model',
                        '_init_visualizer', '_inputs_to_list')
