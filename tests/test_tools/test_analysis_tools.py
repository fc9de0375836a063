"""tools/analysis_tools: analyze_logs.py and get_flops.py."""
import importlib.util
import json
from pathlib import Path

import cv2
import pytest

TOOLS = Path(__file__).resolve().parents[2] / 'tools' / 'analysis_tools'


def _load(name):
    spec = importlib.util.spec_from_file_location(f'mmdmtl_tool_{name}',
                                                  TOOLS / f'{name}.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def json_log(tmp_path):
    lines = []
    for step in range(1, 21):
        lines.append(dict(lr=1e-3, loss=2.0 / step, **{'semseg.loss_final': 1.0 / step},
                          time=0.5 + 0.01 * step, data_time=0.01, iter=step,
                          step=step, memory=100))
        if step % 10 == 0:
            lines.append({'semseg/mIoU': 10.0 * step, 'depth/abs_err': 1.0 / step,
                          'data_time': 0.0, 'time': 0.2, 'step': step})
    p = tmp_path / 'scalars.json'
    p.write_text('\n'.join(json.dumps(x) for x in lines) + '\n')
    return p


def test_load_json_log_series(json_log):
    mod = _load('analyze_logs')
    d = mod.load_json_log(str(json_log))
    assert d['loss'][0] == (1, 2.0) and d['loss'][-1] == (20, 0.1)
    assert d['semseg/mIoU'] == [(10, 100.0), (20, 200.0)]
    assert mod.default_keys(d) == ['loss', 'semseg.loss_final', 'semseg/mIoU',
                                   'depth/abs_err']
    assert mod.select_keys(list(d), ['*.loss_*', 'semseg/*']) == [
        'semseg.loss_final', 'semseg/mIoU']
    with pytest.raises(KeyError, match='available keys'):
        mod.select_keys(list(d), ['nope*'])


def test_plot_curve_writes_png(json_log, tmp_path):
    mod = _load('analyze_logs')
    out = tmp_path / 'sub' / 'curves.png'
    mod.main(['plot_curve', str(json_log), str(json_log), '--legend', 'a', 'b',
              '--keys', 'loss', 'semseg/mIoU', '--out', str(out)])
    img = cv2.imread(str(out))
    # two subplots side by side at 100 dpi: 8.4 x 3.2 inches
    assert img.shape == (320, 840, 3)
    assert img.std() > 5  # not a blank canvas


def test_cal_train_time_uses_training_lines(json_log):
    mod = _load('analyze_logs')
    t = mod.cal_train_time(str(json_log))
    assert t['num'] == 20
    assert t['mean'] == pytest.approx(0.5 + 0.01 * 10.5)
    assert t['slowest'] == pytest.approx(0.7) and t['fastest'] == pytest.approx(0.51)


def test_bad_logs_are_named(tmp_path):
    mod = _load('analyze_logs')
    bad = tmp_path / 'bad.json'
    bad.write_text('{"step": 1, "loss": 1}\nnot json\n')
    with pytest.raises(ValueError, match='bad.json:2'):
        mod.load_json_log(str(bad))
    with pytest.raises(FileNotFoundError, match='missing.json'):
        mod.load_json_log(str(tmp_path / 'missing.json'))


def test_get_flops_counts_the_model(tiny_config):
    from mmengine.config import Config
    mod = _load('get_flops')
    cfg = Config.fromfile(str(tiny_config))
    res = mod.complexity(cfg, shape=[32, 32])
    from mmdmtl.registry import MODELS
    model = MODELS.build(cfg.model)
    n_params = sum(p.numel() for p in model.parameters())
    assert res['params'] == n_params
    # ResNet-18 takes ~1.82 GMACs at 224x224; at a quarter width (1/16) and 32x32
    # (1/49) its convolutions alone are ~2.3 MMACs; neck, six heads, conditioning and
    # two refinement steps add a few times that
    assert 2.3e6 < res['macs'] < 5.0e7
    # doubling the side quadruples the count of this fully convolutional model
    # (within 35%: the attention tokens grow too)
    big = mod.complexity(cfg, shape=[64, 64])['macs']
    assert 3.5 < big / res['macs'] < 5.4
    # what is not counted is said: the refinement head's attention
    assert res['skipped']['aten::scaled_dot_product_attention'] >= 1
    assert res['input_shape'] == (32, 32)
    with pytest.raises(ValueError, match='--shape'):
        mod.input_shape_of(cfg, [1, 2, 3])


def test_get_flops_output_says_macs_and_what_it_skips(tiny_config, capsys):
    mod = _load('get_flops')
    mod.main([str(tiny_config), '--shape', '32', '32'])
    out = capsys.readouterr().out
    assert 'Multiply-adds (MACs): ' in out and '1 MAC = 2 FLOPs' in out
    assert 'Flops:' not in out
    assert ('Not counted: attention products (aten::scaled_dot_product_attention'
            in out)
