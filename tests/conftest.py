"""Shared fixtures. Never import test modules as `tests.x`: the mmseg wheel installs a
top-level `tests` package."""
import os
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO_ROOT.parent / 'shared' / 'data').resolve()

# Two cores are shared by the whole suite: one torch thread per process keeps
# multi-process tests from oversubscribing.
torch.set_num_threads(1)
os.environ.setdefault('OMP_NUM_THREADS', '1')


@pytest.fixture(scope='session')
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope='session')
def shared_data() -> Path:
    """../shared/data beside the repository (CI has it)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f'shared sample data not found at {SHARED_DATA}')
    return SHARED_DATA


@pytest.fixture(autouse=True, scope='session')
def _mmdmtl_scope():
    from mmdmtl.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    yield


@pytest.fixture(autouse=True)
def _default_scope_per_test():
    # A Runner built by a test (e.g. the mmseg drop-in, scope 'mmseg') becomes the
    # current DefaultScope for every later test; each test starts in 'mmdmtl' again.
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmdmtl'):
        yield
