import os.path as osp

import cv2
import numpy as np
import pytest

from mmdmtl.visualization import (INVALID_COLOR, MultiTaskVisualizer,
                                  colorize_class_map, colorize_normals)

H, W = 24, 32
SEP = 2


def _visualizer(name, **kwargs):
    # the raw tile layout: no footers, no enlarging (tested separately below)
    kwargs = dict(dict(legend=False, min_tile_size=0, min_column_width=0), **kwargs)
    return MultiTaskVisualizer(name=name, **kwargs)


def _tile(panel, row, col, bar, h=H, w=W):
    """The image area of tile (row, col) of a panel (captions and separators off)."""
    y0 = row * (bar + h + SEP) + bar
    x0 = col * (w + SEP)
    return panel[y0:y0 + h, x0:x0 + w]


def test_panel_layout_and_tile_contents(sample_factory, rgb_image):
    vis = _visualizer('vis_layout')
    sample = sample_factory(labeled=('semseg', 'normals', 'depth'))
    panel = vis.draw_panel(rgb_image, sample)
    bar = max(14, min(24, W // 8))
    # 2 rows (GT, pred) x 7 columns (image + 6 tasks)
    assert panel.shape == (2 * (bar + H) + SEP, 7 * W + 6 * SEP, 3)
    assert panel.dtype == np.uint8
    # image tile is the image
    np.testing.assert_array_equal(_tile(panel, 0, 0, bar), rgb_image)
    # semseg (column 1): GT row has the ignored first row in grey, pred matches colours
    gt = _tile(panel, 0, 1, bar)
    np.testing.assert_array_equal(gt[0], np.tile(INVALID_COLOR, (W, 1)))
    pred = _tile(panel, 1, 1, bar)
    np.testing.assert_array_equal(pred, colorize_class_map(sample.pred_sem_seg.data))
    # human_parts (column 2) is not labelled: grey tile with a message (text pixels
    # are light, background grey), its prediction is drawn
    parts_gt = _tile(panel, 0, 2, bar)
    assert (parts_gt == INVALID_COLOR).all(-1).mean() > 0.8
    np.testing.assert_array_equal(
        _tile(panel, 1, 2, bar), colorize_class_map(sample.pred_part_seg.data))
    # normals (column 4): GT with an invalid 4x4 block, pred all +z
    n_gt = _tile(panel, 0, 4, bar)
    np.testing.assert_array_equal(n_gt[:4, :4].reshape(-1, 3),
                                  np.tile(INVALID_COLOR, (16, 1)))
    np.testing.assert_array_equal(_tile(panel, 1, 4, bar),
                                  colorize_normals(sample.pred_normal_map.data))
    # depth (column 6): label and prediction share the scale, so equal values get
    # equal colours; the invalid last label row is grey
    d_gt, d_pred = _tile(panel, 0, 6, bar), _tile(panel, 1, 6, bar)
    np.testing.assert_array_equal(d_gt[:-1], d_pred[:-1])
    np.testing.assert_array_equal(d_gt[-1], np.tile(INVALID_COLOR, (W, 1)))
    # sal (3) and edge (5): heat maps brighten left to right
    sal = _tile(panel, 1, 3, bar).astype(float).sum(-1)
    assert sal[:, -1].mean() > sal[:, 0].mean() + 100


def test_pred_only_and_task_selection(sample_factory, rgb_image):
    vis = _visualizer('vis_pred_only', tasks=['depth', 'semseg'])
    sample = sample_factory()
    panel = vis.draw_panel(rgb_image, sample, draw_gt=False)
    bar = max(14, min(24, W // 8))
    assert panel.shape == (bar + H, 3 * W + 2 * SEP, 3)
    np.testing.assert_array_equal(_tile(panel, 0, 2, bar),
                                  colorize_class_map(sample.pred_sem_seg.data))
    with pytest.raises(ValueError, match='both False'):
        vis.draw_panel(rgb_image, sample, draw_gt=False, draw_pred=False)
    with pytest.raises(ValueError, match='unknown task'):
        _visualizer('vis_bad', tasks=['segm'])


def test_dataset_palette_is_used(sample_factory, rgb_image):
    vis = _visualizer('vis_palette')
    vis.dataset_meta = dict(semseg_palette=[[0, 0, 0], [1, 2, 3], [4, 5, 6]])
    panel = vis.draw_panel(rgb_image, sample_factory(labeled=()))
    bar = max(14, min(24, W // 8))
    pred = _tile(panel, 1, 1, bar)
    np.testing.assert_array_equal(pred[0, 0], [1, 2, 3])
    np.testing.assert_array_equal(pred[0, -1], [4, 5, 6])


def test_large_images_are_shrunk(sample_factory):
    vis = _visualizer('vis_shrink', max_tile_size=16)
    sample = sample_factory(h=24, w=32)
    panel = vis.draw_panel(None, sample, draw_gt=False)
    # tiles are 12 x 16 (+ 14 px caption); 7 columns
    assert panel.shape == (14 + 12, 7 * 16 + 6 * SEP, 3)


def test_add_datasample_out_file_and_local_backend(tmp_path, sample_factory,
                                                   rgb_image):
    vis = _visualizer(
        'vis_files', vis_backends=[dict(type='LocalVisBackend')],
        save_dir=str(tmp_path / 'backend'))
    sample = sample_factory()
    out = tmp_path / 'panel.png'
    panel = vis.add_datasample('img0', rgb_image, sample, out_file=str(out))
    written = cv2.imread(str(out))[..., ::-1]
    np.testing.assert_array_equal(written, panel)
    vis.add_datasample('img0', rgb_image, sample, step=3)
    backend_file = tmp_path / 'backend' / 'vis_data' / 'vis_image' / 'img0_3.png'
    assert backend_file.is_file()
    np.testing.assert_array_equal(cv2.imread(str(backend_file))[..., ::-1], panel)
    with pytest.raises(ValueError, match='data_sample is required'):
        vis.add_datasample('x', rgb_image, None)


def test_built_from_registry_with_tensorboard_backend(tmp_path, sample_factory,
                                                      rgb_image):
    pytest.importorskip('tensorboard')
    from mmdmtl.registry import VISUALIZERS
    vis = VISUALIZERS.build(
        dict(type='MultiTaskVisualizer', name='vis_tb', legend=False,
             min_tile_size=0, min_column_width=0,
             vis_backends=[dict(type='TensorboardVisBackend')],
             save_dir=str(tmp_path)))
    assert isinstance(vis, MultiTaskVisualizer)
    vis.add_datasample('img0', rgb_image, sample_factory(), step=1)
    vis.close()
    events = list((tmp_path).rglob('events.out.tfevents.*'))
    assert events and osp.getsize(events[0]) > 0


def test_legends_colour_bars_and_overlay(tmp_path, sample_factory, rgb_image):
    """Readable panels: small images enlarged, a class legend with the dataset's
    names, colour bars under depth/sal/edge; the overlay blends maps over the image."""
    vis = MultiTaskVisualizer(name='vis_legend')
    vis.dataset_meta = dict(classes=('bg', 'road', 'car'),
                            palette=[[0, 0, 0], [200, 0, 0], [0, 0, 200]])
    sample = sample_factory(labeled=('semseg', 'normals', 'depth'))
    panel = vis.draw_panel(rgb_image, sample)
    # 24x32 image -> tiles enlarged x6 to 144x192; footers below both rows
    assert panel.shape[1] == 7 * 192 + 6 * SEP
    assert panel.shape[0] > 2 * 144 + 2 * 24 + 20
    plain = _visualizer('vis_plain').draw_panel(rgb_image, sample)
    assert not np.array_equal(panel[:plain.shape[0] // 2].shape, plain.shape)
    # the overlay keeps image pixels where the label is ignored (semseg GT row 0)
    ov = MultiTaskVisualizer(name='vis_ov', overlay=True, alpha=0.5, legend=False,
                             min_tile_size=0, min_column_width=0)
    p2 = ov.draw_panel(rgb_image, sample)
    bar = max(14, min(24, W // 8))
    gt = _tile(p2, 0, 1, bar)
    np.testing.assert_array_equal(gt[0], rgb_image[0])
    colour = colorize_class_map(sample.gt_sem_seg.data)[1:]
    np.testing.assert_allclose(gt[1:], 0.5 * colour + 0.5 * rgb_image[1:], atol=1)
    # odd and tiny sizes draw without error
    for h, w in ((7, 300), (300, 9), (5, 5)):
        odd = sample_factory(h=h, w=w)
        img = np.zeros((h, w, 3), np.uint8)
        out = vis.draw_panel(img, odd)
        assert out.shape[1] >= 7 * 120
    cv2.imwrite(str(tmp_path / 'panel.png'), panel[..., ::-1])


def test_prediction_only_footers_drop_the_ground_truth_legend(
        monkeypatch, sample_factory, rgb_image):
    """A column without ground truth (a prediction-only panel, or a task this
    image does not label) explains only the prediction: no "no label" swatch, no
    "GT 0/1" on the probability bar."""
    from mmdmtl.visualization import multi_task_visualizer as mtv
    legends, bars = [], []
    strip, bar = mtv._legend_strip, mtv._colour_bar
    monkeypatch.setattr(mtv, '_legend_strip', lambda w, entries, s: (
        legends.append([text for _, text in entries]), strip(w, entries, s))[1])
    monkeypatch.setattr(mtv, '_colour_bar', lambda w, c, lo, hi, title, s: (
        bars.append(title), bar(w, c, lo, hi, title, s))[1])
    vis = MultiTaskVisualizer(name='vis_pred_legend')
    sample = sample_factory(labeled=('semseg', 'sal'))
    vis.draw_panel(rgb_image, sample, draw_gt=False)
    assert legends and not any('no label' in e for e in legends)
    assert 'P(saliency)' in bars and not any('GT' in t for t in bars)
    legends.clear(), bars.clear()
    vis.draw_panel(rgb_image, sample)  # semseg and sal labelled, edge not
    assert all('no label' in e for e in legends[:1])
    assert 'P(saliency); GT 0/1' in bars and 'P(edge)' in bars
