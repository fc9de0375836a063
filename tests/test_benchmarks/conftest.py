"""Loads the benchmark scripts by file path (they are tools, not package modules)."""
import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _load(rel: str, name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / rel)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope='module')
def study_mod():
    return _load('tools/benchmarks/partial_label_study.py',
                 'mmdmtl_partial_label_study')


@pytest.fixture(scope='module')
def bench_mod():
    return _load('tools/analysis_tools/benchmark.py', 'mmdmtl_benchmark_tool')


@pytest.fixture(scope='session')
def repo() -> Path:
    return REPO
