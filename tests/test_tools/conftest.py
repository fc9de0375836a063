"""A tiny version of the demo experiment for the tool tests (32x32 images, width 16,
a few iterations), written as a config file that inherits the real demo config."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEMO_CONFIG = REPO / 'configs' / 'diffusionmtl' / \
    'demo_diffusionmtl-feature_synthetic_one-label.py'

TINY_CONFIG = """
_base_ = [{base!r}]
data_root = {root!r}
generate = dict(num_train=12, num_val=4, size=(32, 32), seed=0)
model = dict(channels=16, refine_head=dict(num_heads=2))
train_dataloader = dict(
    batch_size=4, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, generate=generate))
val_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, generate=generate))
test_dataloader = val_dataloader
max_iters = {iters}
param_scheduler = [
    dict(type='PolyLR', eta_min=0.0, power=0.9, by_epoch=False, begin=0,
         end=max_iters)]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
default_hooks = dict(
    logger=dict(interval=1),
    checkpoint=dict(interval=2, max_keep_ckpts=3))
"""


def write_tiny_config(path: Path, data_root: Path, iters: int = 4) -> Path:
    path.write_text(TINY_CONFIG.format(base=str(DEMO_CONFIG), root=str(data_root),
                                       iters=iters))
    return path


@pytest.fixture(scope='session')
def tiny_data(tmp_path_factory):
    """The tiny synthetic dataset, generated once per session."""
    from mmdmtl.datasets.synthetic_scenes import generate_synthetic_scenes
    root = tmp_path_factory.mktemp('tiny_synthetic')
    generate_synthetic_scenes(str(root), num_train=12, num_val=4, size=(32, 32),
                              seed=0)
    return root


@pytest.fixture
def tiny_config(tmp_path, tiny_data):
    return write_tiny_config(tmp_path / 'tiny_demo.py', tiny_data)


def run_tool(args, cwd=None, timeout=300, env_extra=None):
    """Run a command line with the repo on PYTHONPATH and one thread per process;
    returns the CompletedProcess, failing the test with its output on error."""
    env = dict(os.environ)
    env['PYTHONPATH'] = str(REPO) + os.pathsep + env.get('PYTHONPATH', '')
    env['OMP_NUM_THREADS'] = '1'
    env['MKL_NUM_THREADS'] = '1'
    env.update(env_extra or {})
    proc = subprocess.run(args, cwd=cwd or REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)
    if proc.returncode != 0:
        pytest.fail(f'{" ".join(map(str, args))} exited {proc.returncode}\n'
                    f'--- stdout ---\n{proc.stdout[-6000:]}\n'
                    f'--- stderr ---\n{proc.stderr[-6000:]}')
    return proc


@pytest.fixture
def tools():
    import types
    return types.SimpleNamespace(run=run_tool, python=sys.executable, repo=REPO,
                                 write_tiny_config=write_tiny_config)


def _load_script(rel: str, name: str):
    """A tool script loaded by file path (tools are not package modules)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, REPO / rel)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope='module')
def study_mod():
    return _load_script('tools/benchmarks/partial_label_study.py',
                        'mmdmtl_partial_label_study')


@pytest.fixture(scope='module')
def bench_mod():
    return _load_script('tools/analysis_tools/benchmark.py',
                        'mmdmtl_benchmark_tool')


@pytest.fixture(scope='session')
def repo() -> Path:
    return REPO
