"""tools/analysis_tools/benchmark_tools.py: the log parsing and the table (the
tool itself runs tools/train.py and tools/test.py; docs/results.md has a run)."""
import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _mod():
    spec = importlib.util.spec_from_file_location(
        'mmdmtl_benchmark_tools', REPO / 'tools' / 'analysis_tools' /
        'benchmark_tools.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


LOG = """12/03 08:34:39 - mmengine - INFO - fast mode (cpu): float32, Conv+BN folded, \
channels_last - CPU X has no avx512_bf16/amx_bf16: ..., so float32 is kept
12/03 08:34:39 - mmengine - INFO - Iter(test) [1/2]    eta: 0:00:00  time: 0.2388  \
data_time: 0.0072
12/03 08:34:39 - mmengine - INFO - Iter(test) [2/2]    eta: 0:00:00  time: 0.1369  \
data_time: 0.0062
"""


def test_parse_test_log_and_plan_line():
    bt = _mod()
    hits = bt._TEST_LINE.findall(LOG)
    assert hits == [('1', '2', '0.2388', '0.0072'), ('2', '2', '0.1369', '0.0062')]
    assert bt._plan_line(LOG).startswith('fast mode (cpu): float32, Conv+BN')
    assert bt._plan_line('nothing here') == 'off'
    s = bt._summary([0.2, 0.4], [0.01, 0.03], batch=4)
    assert abs(s['step_s'] - 0.3) < 1e-12 and abs(s['data_share'] - 0.02 / 0.3) < 1e-12
    assert abs(s['images_per_s'] - 4 / 0.3) < 1e-9


def test_markdown_table(tmp_path):
    bt = _mod()
    run = dict(n=3, step_s=0.5, data_s=0.01, data_share=0.02, iters_per_s=2.0,
               images_per_s=16.0, wall_s=10.0, plan='fast mode (cpu): float32 - why')
    report = dict(machine='CPU X', torch='2.x', date='today', load_start=1.0,
                  load_end=1.5, command='python tools/analysis_tools/'
                  'benchmark_tools.py', train=dict(fp32=run, fast=run),
                  test=dict(fp32=run, fast=dict(run, step_s=0.25)))
    md = bt.to_markdown(report)
    assert '| tools/train.py --amp | fast | 2.00 it/s (16.0 img/s) |' in md
    assert '| tools/test.py | fp32 | 16.0 img/s | 0.500 |' in md
    assert 'test: fast / fp32 = 2.00x; switch chose: fast mode (cpu)' in md
    bt.write_outputs(str(tmp_path / 'r.json'), report, str(tmp_path / 'r.md'), md)
    assert (tmp_path / 'r.md').read_text() == md
