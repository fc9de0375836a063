"""User errors of the tools are one line naming the file/argument and the fix, exit
status 1, no traceback (--debug / MMDMTL_DEBUG=1 shows it); one checkpoint policy
for tools/test.py, the inferencer and the demo; folder inputs skip non-images."""
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from mmdmtl.engine.checkpoint import CheckpointMismatchError
from mmdmtl.utils.cli import UsageError, check_checkpoint_arg, format_error

REPO = Path(__file__).resolve().parents[2]
DEMO_CONFIG = REPO / 'configs' / 'diffusionmtl' / \
    'demo_diffusionmtl-feature_synthetic_one-label.py'



def _run(args, env_extra=None):
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS='1')
    env.update(env_extra or {})
    return subprocess.run([sys.executable] + [str(a) for a in args], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=300)


def _truncated(tmp_path):
    good = tmp_path / 'good.pth'
    torch.save({'state_dict': {'w': torch.zeros(1000)}}, good)
    bad = tmp_path / 'iter_600.pth'
    bad.write_bytes(good.read_bytes()[:len(good.read_bytes()) // 2])
    return bad


def test_truncated_checkpoint_is_named(tmp_path):
    bad = _truncated(tmp_path)
    with pytest.raises(UsageError, match='truncated'):
        check_checkpoint_arg(str(bad))
    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    with pytest.raises(UsageError, match='empty'):
        check_checkpoint_arg(str(empty))
    png = tmp_path / 'photo.pth'
    png.write_bytes(b'\x89PNG\r\n\x1a\n....')
    with pytest.raises(UsageError, match='not a PyTorch checkpoint'):
        check_checkpoint_arg(str(png))


def test_test_tool_truncated_checkpoint_one_line(tmp_path):
    proc = _run(['tools/test.py', DEMO_CONFIG, _truncated(tmp_path)])
    assert proc.returncode == 1, proc.stderr
    assert 'Traceback' not in proc.stderr
    first = proc.stderr.strip().splitlines()[0]
    assert first.startswith('test.py: error: checkpoint ') and 'truncated' in first
    assert 'iter_600.pth' in first and 're-download or re-save' in first


def test_demo_swapped_arguments(tmp_path):
    img = tmp_path / 'a.png'
    cv2.imwrite(str(img), np.zeros((8, 8, 3), np.uint8))
    ckpt = tmp_path / 'm.pth'
    torch.save({'state_dict': {}}, ckpt)
    proc = _run(['demo/image_demo.py', DEMO_CONFIG, img, ckpt])
    assert proc.returncode == 1
    assert 'Traceback' not in proc.stderr
    assert 'is a config, not an image' in proc.stderr
    assert 'IMAGE CONFIG CHECKPOINT' in proc.stderr
    # --debug shows the traceback
    proc = _run(['demo/image_demo.py', DEMO_CONFIG, img, ckpt, '--debug'])
    assert proc.returncode != 0 and 'Traceback' in proc.stderr


def test_analyze_logs_missing_file_one_line(tmp_path):
    proc = _run(['tools/analysis_tools/analyze_logs.py', 'list_keys',
                 tmp_path / 'nope.json'])
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr
    assert 'log file not found' in proc.stderr and 'nope.json' in proc.stderr
    proc = _run(['tools/analysis_tools/analyze_logs.py', 'list_keys',
                 tmp_path / 'nope.json'], env_extra={'MMDMTL_DEBUG': '1'})
    assert 'Traceback' in proc.stderr


def test_format_error_keeps_the_report_lines():
    err = CheckpointMismatchError('checkpoint x.pth does not fit\nx.pth: 1/2 match')
    text = format_error(err, 'test.py')
    assert text.splitlines()[0].startswith('test.py: error: checkpoint x.pth')
    assert '1/2 match' in text and 'MMDMTL_DEBUG' in text


# ----------------------------------------------------------- inferencer/demo
TINY = """
_base_ = [{base!r}]
model = dict(channels=16, refine_head=dict(num_heads=2))
"""


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    """A tiny config, an exact checkpoint and one that lacks the edge heads."""
    from mmengine.config import Config

    from mmdmtl.registry import MODELS
    root = tmp_path_factory.mktemp('tiny_model')
    cfg_path = root / 'tiny.py'
    cfg_path.write_text(TINY.format(base=str(DEMO_CONFIG)))
    cfg = Config.fromfile(str(cfg_path))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    state = model.state_dict()
    exact = root / 'exact.pth'
    torch.save({'state_dict': state, 'meta': {}}, exact)
    partial = root / 'partial.pth'
    torch.save({'state_dict': {k: v for k, v in state.items() if 'edge' not in k},
                'meta': {}}, partial)
    assert len(state) > len(torch.load(partial)['state_dict'])
    return cfg_path, exact, partial


def _images(folder, n=2):
    folder.mkdir()
    for i in range(n):
        cv2.imwrite(str(folder / f'{i}.png'),
                    np.random.default_rng(i).integers(0, 255, (32, 32, 3),
                                                      dtype=np.uint8))
    return folder


def test_inferencer_strict_by_default(tiny):
    from mmdmtl.apis import MultiTaskInferencer
    cfg, exact, partial = tiny
    with pytest.raises(CheckpointMismatchError, match='missing in the checkpoint'):
        MultiTaskInferencer(str(cfg), str(partial), device='cpu')
    with pytest.warns(UserWarning, match='allow_partial=True'):
        MultiTaskInferencer(str(cfg), str(partial), device='cpu',
                            allow_partial=True)
    MultiTaskInferencer(str(cfg), str(exact), device='cpu')


def test_test_tool_is_strict_by_default(tmp_path, load_tool):
    test_tool = load_tool('test.py')
    ckpt = tmp_path / 'm.pth'
    torch.save({'state_dict': {}}, ckpt)
    for extra, strict in (([], True), (['--allow-partial'], False)):
        cfg = test_tool.build_test_cfg(
            test_tool.parse_args([str(DEMO_CONFIG), str(ckpt)] + extra))
        hooks = [h for h in cfg.custom_hooks
                 if h['type'] == 'CheckpointCheckHook']
        assert len(hooks) == 1 and hooks[0]['strict_load'] is strict


def test_folder_input_skips_non_images_and_names_bad_images(tmp_path, tiny):
    from mmdmtl.apis import MultiTaskInferencer
    cfg, exact, _ = tiny
    folder = _images(tmp_path / 'in')
    (folder / 'notes.txt').write_text('not an image')
    (folder / 'Thumbs.db').write_bytes(b'\x00' * 10)
    inf = MultiTaskInferencer(str(cfg), str(exact), device='cpu')
    with pytest.warns(UserWarning, match='skipped 2 input'):
        out = inf(str(folder))
    assert len(out['predictions']) == 2 and len(out['skipped']) == 2
    # an undecodable image is an error naming it ...
    (folder / 'broken.png').write_bytes(b'\x89PNG\r\n\x1a\nnot really')
    with pytest.raises(Exception, match='broken.png'):
        inf(str(folder))
    # ... unless skipping is asked for
    with pytest.warns(UserWarning, match='broken.png'):
        out = inf(str(folder), skip_unreadable=True)
    assert len(out['predictions']) == 2
    assert any('broken.png' in p and 'unreadable' in r for p, r in out['skipped'])


def test_demo_partial_checkpoint_and_summary(tmp_path, tiny):
    cfg, exact, partial = tiny
    folder = _images(tmp_path / 'in', n=1)
    (folder / 'readme.md').write_text('x')
    proc = _run(['demo/image_demo.py', folder, cfg, partial, '--device', 'cpu',
                 '--out-dir', tmp_path / 'o1'])
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr
    assert 'does not fit the model' in proc.stderr and 'missing' in proc.stderr
    proc = _run(['demo/image_demo.py', folder, cfg, partial, '--device', 'cpu',
                 '--out-dir', tmp_path / 'o2', '--allow-partial'])
    assert proc.returncode == 0, proc.stderr
    assert 'skipped 1 input(s)' in proc.stdout
    # the demo's output folder: a user folder is refused, files intact
    mine = tmp_path / 'mine'
    mine.mkdir()
    (mine / 'thesis.pdf').write_bytes(b'%PDF')
    proc = _run(['demo/image_demo.py', folder, cfg, exact, '--device', 'cpu',
                 '--out-dir', mine])
    assert proc.returncode == 1 and 'refusing to write' in proc.stderr
    assert sorted(p.name for p in mine.iterdir()) == ['thesis.pdf']
    assert (mine / 'thesis.pdf').read_bytes() == b'%PDF'
