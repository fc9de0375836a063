"""``--cfg-options`` of the tools: merged like MMEngine's, plus two things MMEngine
leaves silent.

* A top-level key that neither the config nor the Runner knows (a typo such as
  ``default_hook.checkpoint.interval=1``) is merged but read by nothing: a warning
  names it and the closest known key.
* ``train_cfg.max_iters=N`` moves the end of every iteration-based parameter
  scheduler that ended at the config's old ``max_iters`` to N (otherwise a poly
  schedule made for 600 iterations stops at iteration 60 with 98% of its learning
  rate); schedulers that end elsewhere after N get a warning naming both numbers.
  Giving any ``param_scheduler`` key on the command line turns the carry off.
"""
import difflib
import logging
from typing import Any, Dict, List, Mapping, Optional

from mmengine.logging import print_log

#: Top-level keys the Runner (``Runner.from_cfg``) and mmdmtl's tools read.
RUNNER_KEYS = (
    'model', 'work_dir', 'train_dataloader', 'val_dataloader', 'test_dataloader',
    'train_cfg', 'val_cfg', 'test_cfg', 'auto_scale_lr', 'optim_wrapper',
    'param_scheduler', 'val_evaluator', 'test_evaluator', 'default_hooks',
    'custom_hooks', 'data_preprocessor', 'load_from', 'resume', 'launcher',
    'env_cfg', 'log_processor', 'log_level', 'visualizer', 'default_scope',
    'randomness', 'experiment_name', 'model_wrapper_cfg', 'runner_type',
    'find_unused_parameters', 'compile', 'strategy', 'custom_imports',
    'tta_model', 'tta_pipeline', 'fast', 'zero_shot_tasks',
    'crop_size', 'test_pipeline')


def _warn(msg: str) -> None:
    print_log(msg, logger='current', level=logging.WARNING)


def warn_unknown_top_level_keys(options: Mapping[str, Any],
                                known: List[str]) -> List[str]:
    """Warn for each option whose first key is in neither ``known`` (the config's
    own keys) nor ``RUNNER_KEYS``; returns the unknown keys."""
    vocabulary = sorted(set(known) | set(RUNNER_KEYS))
    unknown = []
    for option in options:
        top = str(option).split('.')[0]
        if top in vocabulary or top in unknown:
            continue
        unknown.append(top)
        close = difflib.get_close_matches(top, vocabulary, n=1, cutoff=0.6)
        hint = (f'; did you mean {close[0]!r}?' if close else
                '; nothing in the config or the Runner reads it')
        _warn(f'--cfg-options {option}: unknown top-level config key {top!r}, '
              f'merged but unused{hint}')
    return unknown


def _schedulers(param_scheduler: Any) -> List[Dict]:
    """The scheduler dicts of ``param_scheduler`` (one dict, a list, or a dict of
    lists per optimizer)."""
    if param_scheduler is None:
        return []
    if isinstance(param_scheduler, Mapping):
        if 'type' in param_scheduler:
            return [param_scheduler]
        return [s for group in param_scheduler.values()
                for s in _schedulers(group)]
    return [s for s in param_scheduler if isinstance(s, Mapping)]


def carry_max_iters(cfg: Any, old: int, new: int) -> List[str]:
    """Move iteration-based scheduler ends from ``old`` to ``new`` max_iters (see
    the module doc); returns one line per change for the log."""
    changes = []
    for i, sched in enumerate(_schedulers(cfg.get('param_scheduler'))):
        if sched.get('by_epoch', True):  # MMEngine's default is epoch-based
            continue
        name = f'param_scheduler[{i}] ({sched.get("type")})'
        end = sched.get('end')
        if end == old:
            sched['end'] = new
            changes.append(f'{name} end {old} -> {new}')
        elif end is not None and end > new:
            _warn(f'train_cfg.max_iters={new} (--cfg-options) but {name} ends '
                  f'at iteration {end}, not at the config\'s max_iters {old}: '
                  'it is left as it is and is cut off at iteration '
                  f'{new}; set param_scheduler ends too if that is not meant')
    return changes


def merge_cfg_options(cfg: Any, options: Optional[Mapping[str, Any]]) -> None:
    """``cfg.merge_from_dict(options)`` with the checks of the module doc."""
    if not options:
        return
    warn_unknown_top_level_keys(options, list(cfg.keys()))
    old = (cfg.get('train_cfg') or {}).get('max_iters')
    cfg.merge_from_dict(options)
    new = (cfg.get('train_cfg') or {}).get('max_iters')
    if ('train_cfg.max_iters' in options and old is not None and new != old
            and not any(str(k).startswith('param_scheduler') for k in options)):
        changes = carry_max_iters(cfg, old, new)
        if changes:
            print_log(f'train_cfg.max_iters {old} -> {new} (--cfg-options) carried '
                      'to the schedules that ended at it: ' + '; '.join(changes),
                      logger='current', level=logging.INFO)
