"""MultiTaskInferencer on real images from /work/shared/data."""
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
DEMO_CONFIG = REPO / 'configs' / 'diffusionmtl' / \
    'demo_diffusionmtl-feature_synthetic_one-label.py'
TASKS = ('semseg', 'human_parts', 'sal', 'normals', 'edge', 'depth')


@pytest.fixture(scope='module')
def tiny_cfg():
    """The demo config at width 16 (the pipeline and heads are the real ones)."""
    from mmengine.config import Config
    cfg = Config.fromfile(str(DEMO_CONFIG))
    cfg.model.channels = 16
    cfg.model.refine_head.num_heads = 2
    return cfg


@pytest.fixture(scope='module')
def pascal_image(shared_data):
    p = shared_data / 'pascal_context_mt' / 'PASCAL_MT' / 'JPEGImages' / \
        '2008_000008.jpg'
    if not p.is_file():
        pytest.skip(f'{p} not found')
    return str(p)


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory, tiny_cfg):
    """A checkpoint of the tiny model with non-default weights and dataset meta."""
    from mmengine.registry import init_default_scope
    from mmengine.runner.checkpoint import save_checkpoint

    from mmdmtl.registry import MODELS
    init_default_scope('mmdmtl')
    torch.manual_seed(3)
    model = MODELS.build(tiny_cfg.model)
    model.init_weights()
    path = tmp_path_factory.mktemp('ckpt') / 'tiny.pth'
    meta = dict(dataset_meta=dict(classes=tuple('abcdefghi'),
                                  palette=[[i * 20, 0, 0] for i in range(9)]))
    save_checkpoint(dict(state_dict=model.state_dict(), meta=meta), str(path))
    return str(path), model


def test_every_task_for_a_real_image(tiny_cfg, checkpoint, pascal_image, tmp_path):
    from mmdmtl.apis import MultiTaskInferencer
    ckpt, model = checkpoint
    inferencer = MultiTaskInferencer(tiny_cfg, ckpt, device='cpu')
    assert inferencer.model.dataset_meta['classes'] == tuple('abcdefghi')
    h, w = cv2.imread(pascal_image).shape[:2]
    out = inferencer(pascal_image, out_dir=str(tmp_path), return_vis=True)
    (pred, ) = out['predictions']
    assert sorted(pred) == sorted(TASKS)
    for task in ('semseg', 'human_parts', 'sal', 'edge', 'depth'):
        assert pred[task].shape == (h, w), task
    assert pred['normals'].shape == (h, w, 3)
    assert pred['semseg'].dtype == np.int64
    assert 0 <= pred['semseg'].min() and pred['semseg'].max() < 9
    assert 0 <= pred['human_parts'].min() and pred['human_parts'].max() < 7
    for task in ('sal', 'edge'):
        assert pred[task].min() >= 0 and pred[task].max() <= 1
    np.testing.assert_allclose(np.linalg.norm(pred['normals'], axis=-1), 1.0,
                               atol=1e-4)
    assert np.isfinite(pred['depth']).all()

    # identical to the model's own predict() on the same pipeline output
    data = inferencer.collate_fn([inferencer.pipeline(pascal_image)])
    model.eval()
    with torch.no_grad():
        ref = model.test_step(data)[0]
    np.testing.assert_array_equal(pred['semseg'], ref.pred_sem_seg.data[0].numpy())
    np.testing.assert_allclose(pred['depth'], ref.pred_depth_map.data[0].numpy(),
                               rtol=1e-5, atol=1e-6)

    # files: one PNG per task with the documented encodings, and the panel
    stem = Path(pascal_image).stem
    sem_png = cv2.imread(str(tmp_path / 'preds' / 'semseg' / f'{stem}.png'),
                         cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(sem_png, pred['semseg'].astype(np.uint8))
    sal_png = cv2.imread(str(tmp_path / 'preds' / 'sal' / f'{stem}.png'),
                         cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(sal_png, np.rint(pred['sal'] * 255).astype(np.uint8))
    panel = cv2.imread(str(tmp_path / 'vis' / f'{stem}.png'))
    (vis, ) = out['visualization']
    np.testing.assert_array_equal(panel[..., ::-1], vis)
    assert panel.shape[1] > 6 * panel.shape[0] // 2  # 7 tiles side by side


def test_arrays_batches_task_subset_and_no_checkpoint(tiny_cfg, pascal_image):
    from mmdmtl.apis import MultiTaskInferencer
    with pytest.warns(UserWarning, match='randomly initialised'):
        inferencer = MultiTaskInferencer(tiny_cfg, None, device='cpu',
                                         tasks=['depth', 'semseg'])
    img = cv2.imread(pascal_image)
    small = cv2.resize(img, (64, 48))
    out = inferencer([pascal_image, small], batch_size=2)
    assert len(out['predictions']) == 2 and out['visualization'] == []
    a, b = out['predictions']
    assert sorted(a) == ['depth', 'semseg'] and sorted(b) == ['depth', 'semseg']
    assert a['semseg'].shape == img.shape[:2] and b['depth'].shape == (48, 64)
    # an array enters the model exactly as the file it came from does
    by_file = inferencer.pipeline(pascal_image)
    by_array = inferencer.pipeline(img)
    assert torch.equal(by_file['inputs'], by_array['inputs'])
    # predictions agree up to the inference noise, which the model seeds by file
    # name (an array has none); one image per batch each, since batching pads to
    # the largest image and the denoiser's attention sees the padding
    from_file = inferencer(pascal_image)['predictions'][0]
    from_array = inferencer(img)['predictions'][0]
    assert (from_array['semseg'] == from_file['semseg']).mean() > 0.99
    np.testing.assert_array_equal(inferencer(img)['predictions'][0]['semseg'],
                                  from_array['semseg'])  # deterministic


def test_clear_errors(tiny_cfg, tmp_path):
    from mmdmtl.apis import MultiTaskInferencer
    with pytest.raises(FileNotFoundError, match='missing_cfg.py'):
        MultiTaskInferencer(str(tmp_path / 'missing_cfg.py'))
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        MultiTaskInferencer(tiny_cfg, str(tmp_path / 'missing.pth'))
    with pytest.raises(ValueError, match='unknown task'):
        MultiTaskInferencer(tiny_cfg, tasks=['segmentation'])
    with pytest.warns(UserWarning):
        inferencer = MultiTaskInferencer(tiny_cfg, device='cpu')
    with pytest.raises(FileNotFoundError, match='no_such.jpg'):
        inferencer(str(tmp_path / 'no_such.jpg'))


def test_image_demo_script(tiny_cfg, checkpoint, pascal_image, tmp_path):
    """demo/image_demo.py end to end (config file + checkpoint on the command line)."""
    import importlib.util
    cfg_file = tmp_path / 'tiny.py'
    tiny_cfg.dump(str(cfg_file))
    spec = importlib.util.spec_from_file_location('mmdmtl_image_demo',
                                                  REPO / 'demo' / 'image_demo.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    out_dir = tmp_path / 'out'
    res = mod.main([pascal_image, str(cfg_file), checkpoint[0], '--out-dir',
                    str(out_dir), '--device', 'cpu', '--save-npy'])
    stem = Path(pascal_image).stem
    assert (out_dir / 'vis' / f'{stem}.png').is_file()
    for task in TASKS:
        assert (out_dir / 'preds' / task / f'{stem}.png').is_file()
        assert (out_dir / 'preds' / task / f'{stem}.npy').is_file()
    np.testing.assert_array_equal(
        np.load(out_dir / 'preds' / 'semseg' / f'{stem}.npy'),
        res['predictions'][0]['semseg'])
