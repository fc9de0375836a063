"""MultiTaskVisualizationHook / MultiTaskPredictionSaveHook on hand-made samples."""
import types

import cv2
import numpy as np
import pytest
import torch

from mmdmtl.engine.hooks import (MultiTaskPredictionSaveHook,
                                 MultiTaskVisualizationHook)
from mmdmtl.registry import HOOKS
from mmdmtl.structures import MultiTaskDataSample
from mmdmtl.visualization import MultiTaskVisualizer


def _sample(img_path, h=20, w=30):
    s = MultiTaskDataSample(metainfo=dict(img_path=img_path, labeled_tasks=('sal', )))
    sem = torch.zeros(1, h, w, dtype=torch.int64)
    sem[:, :, w // 2:] = 4
    s.set_pred('semseg', sem)
    s.set_pred('sal', torch.linspace(0, 1, w).expand(1, h, w).clone())
    s.set_pred('depth', torch.full((1, h, w), 2.5))
    s.set_gt('sal', (torch.linspace(0, 1, w).expand(1, h, w) > 0.5).long())
    return s


@pytest.fixture
def images(tmp_path):
    paths = []
    for i in range(3):
        img = np.full((20, 30, 3), 40 * i, np.uint8)
        p = tmp_path / f'img_{i}.png'
        cv2.imwrite(str(p), img)
        paths.append(str(p))
    return paths


def _runner(tmp_path, iteration=0):
    return types.SimpleNamespace(work_dir=str(tmp_path / 'work'), iter=iteration)


def test_hook_is_registered_with_runtime_defaults():
    hook = HOOKS.build(dict(type='MultiTaskVisualizationHook', draw=False))
    assert isinstance(hook, MultiTaskVisualizationHook) and hook.draw is False
    with pytest.raises(ValueError, match='interval'):
        MultiTaskVisualizationHook(interval=0)


def test_test_panels_written_to_out_dir(tmp_path, images):
    MultiTaskVisualizer.get_instance('hook_test_vis')  # the current instance
    hook = MultiTaskVisualizationHook(draw=True, interval=1, out_dir='panels')
    runner = _runner(tmp_path)
    hook.before_test(runner)
    hook.after_test_iter(runner, 0, {}, [_sample(images[0]), _sample(images[1])])
    hook.after_test_iter(runner, 1, {}, [_sample(images[2])])
    # (besides mmdmtl's hidden ownership marker .mmdmtl_output.json)
    files = sorted(p.name for p in (tmp_path / 'work' / 'panels').iterdir()
                   if not p.name.startswith('.'))
    assert files == ['img_0.png', 'img_1.png', 'img_2.png']
    panel = cv2.imread(str(tmp_path / 'work' / 'panels' / 'img_2.png'))[..., ::-1]
    # 2 rows (GT + pred) of 20 px tiles with 14 px captions; 4 columns of 30 px
    # small tiles are enlarged by a whole factor, legends below: at least the raw
    # layout of 2 rows x 4 columns
    assert panel.shape[2] == 3
    assert panel.shape[1] >= 4 * 30 + 3 * 2 and panel.shape[0] >= 2 * (14 + 20) + 2
    # the image tile holds the image (value 80 everywhere), enlarged or not
    assert int((panel == 80).all(-1).sum()) >= 20 * 30


def test_test_interval_and_max_samples(tmp_path, images):
    MultiTaskVisualizer.get_instance('hook_test_vis_interval')
    hook = MultiTaskVisualizationHook(draw=True, interval=2, out_dir=str(
        tmp_path / 'abs'), max_samples=1)
    runner = _runner(tmp_path)
    hook.before_test(runner)
    hook.after_test_iter(runner, 0, {}, [_sample(p) for p in images])
    # interval 2 picks samples 0 and 2, max_samples stops after the first
    assert sorted(p.name for p in (tmp_path / 'abs').iterdir()
                  if not p.name.startswith('.')) == ['img_0.png']


def test_no_drawing_when_draw_false(tmp_path, images, monkeypatch):
    vis = MultiTaskVisualizer.get_instance(
        'hook_test_vis_off', vis_backends=[dict(type='LocalVisBackend')],
        save_dir=str(tmp_path / 'vis'))
    drawn = []
    monkeypatch.setattr(vis, 'add_datasample',
                        lambda name, *args, **kwargs: drawn.append(name))
    hook = MultiTaskVisualizationHook(draw=False, interval=1, out_dir='panels')
    runner = _runner(tmp_path)

    def run():
        hook.before_test(runner)
        hook.after_test_iter(runner, 0, {}, [_sample(p) for p in images])
        hook.after_val_iter(runner, 0, {}, [_sample(images[0])])

    run()
    assert drawn == []  # the visualizer was never asked to draw
    assert hook._test_index == 0 and hook._drawn == 0  # nor were samples counted
    assert not (tmp_path / 'work').exists()  # no panel folder, no marker file
    assert not (tmp_path / 'vis').exists() or not any(
        p.is_file() for p in (tmp_path / 'vis').rglob('*'))
    # the same calls with drawing on do draw: the checks above can fail
    hook.draw = True
    run()
    assert drawn == ['test_img_0', 'test_img_1', 'test_img_2', 'val_img_0']
    assert hook._test_index == 3 and hook._drawn == 3
    assert (tmp_path / 'work' / 'panels').is_dir()


def test_val_draws_first_sample_every_interval_to_backend(tmp_path, images):
    MultiTaskVisualizer.get_instance(
        'hook_val_vis', vis_backends=[dict(type='LocalVisBackend')],
        save_dir=str(tmp_path / 'vis'))
    hook = MultiTaskVisualizationHook(draw=True, interval=2)
    runner = _runner(tmp_path, iteration=100)
    for batch_idx in range(4):
        hook.after_val_iter(runner, batch_idx, {},
                            [_sample(images[batch_idx % 3]), _sample(images[2])])
    vis_dir = tmp_path / 'vis' / 'vis_data' / 'vis_image'
    names = sorted(p.name for p in vis_dir.iterdir())
    # batches 1 and 3 (every 2nd), first sample of each, keyed by the train iter
    assert names == ['val_img_0_100.png', 'val_img_1_100.png']


def test_prediction_save_hook(tmp_path, images):
    hook = HOOKS.build(dict(type='MultiTaskPredictionSaveHook', out_dir='preds'))
    assert isinstance(hook, MultiTaskPredictionSaveHook)
    runner = _runner(tmp_path)
    hook.before_test(runner)
    hook.after_test_iter(runner, 0, {}, [_sample(images[0])])
    root = tmp_path / 'work' / 'preds'
    assert sorted(p.name for p in root.iterdir()
                  if not p.name.startswith('.')) == ['depth', 'sal', 'semseg']
    sem = cv2.imread(str(root / 'semseg' / 'img_0.png'), cv2.IMREAD_UNCHANGED)
    assert sem.dtype == np.uint8 and sem[0, 0] == 0 and sem[0, -1] == 4
    depth = cv2.imread(str(root / 'depth' / 'img_0.png'), cv2.IMREAD_UNCHANGED)
    assert depth.dtype == np.uint16 and (depth == 2500).all()
    np.testing.assert_allclose(np.load(root / 'sal' / 'img_0.npy')[0],
                               np.linspace(0, 1, 30), atol=1e-6)
