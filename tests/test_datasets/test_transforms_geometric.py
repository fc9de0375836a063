import numpy as np
import pytest

from mmdmtl.datasets.transforms import (MultiTaskPad, MultiTaskRandomCrop,
                                        MultiTaskRandomFlip,
                                        MultiTaskRandomScale, MultiTaskResize,
                                        RandomScaleCrop)


def _results(h=12, w=16, with_semseg=True, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    # Every field encodes its pixel position, so alignment is checkable.
    img = np.stack([yy, xx, np.zeros_like(xx)], -1).astype(np.uint8)
    n = rng.normal(size=(h, w, 3)).astype(np.float32)
    n /= np.linalg.norm(n, axis=-1, keepdims=True)
    res = dict(
        img=img,
        img_shape=(h, w),
        ori_shape=(h, w),
        gt_part_seg=(yy * w + xx).astype(np.uint8) % 7,
        gt_normal_map=n,
        gt_depth_map=(1 + yy * w + xx).astype(np.float32),
        gt_edge_map=(xx % 2).astype(np.uint8),
        seg_fields=['gt_part_seg', 'gt_normal_map', 'gt_depth_map',
                    'gt_edge_map'])
    if with_semseg:
        res['gt_seg_map'] = ((yy * w + xx) % 5).astype(np.uint8)
        res['seg_fields'].append('gt_seg_map')
    return res


def test_flip_negates_normal_x_and_moves_every_field():
    r = _results()
    n0 = r['gt_normal_map'].copy()
    d0 = r['gt_depth_map'].copy()
    out = MultiTaskRandomFlip(prob=1.0, direction='horizontal')(r)
    assert out['flip'] and out['flip_direction'] == 'horizontal'
    np.testing.assert_allclose(out['gt_normal_map'][..., 0],
                               -n0[:, ::-1, 0])
    np.testing.assert_allclose(out['gt_normal_map'][..., 1:],
                               n0[:, ::-1, 1:])
    np.testing.assert_array_equal(out['gt_depth_map'], d0[:, ::-1])
    np.testing.assert_array_equal(out['img'][..., 1], 15 - np.arange(16)[None]
                                  .repeat(12, 0))


def test_vertical_flip_negates_normal_y():
    r = _results()
    n0 = r['gt_normal_map'].copy()
    out = MultiTaskRandomFlip(prob=1.0, direction='vertical')(r)
    np.testing.assert_allclose(out['gt_normal_map'][..., 1], -n0[::-1, :, 1])
    np.testing.assert_allclose(out['gt_normal_map'][..., 0], n0[::-1, :, 0])


def test_flip_prob_zero_keeps_everything():
    r = _results()
    n0 = r['gt_normal_map'].copy()
    out = MultiTaskRandomFlip(prob=0.0)(r)
    np.testing.assert_array_equal(out['gt_normal_map'], n0)


def test_crop_keeps_fields_aligned():
    np.random.seed(3)
    r = _results(24, 32)
    out = MultiTaskRandomCrop(crop_size=(10, 12))(r)
    y1, y2, x1, x2 = out['crop_bbox']
    assert (y2 - y1, x2 - x1) == (10, 12)
    assert out['img_shape'] == (10, 12)
    for key in out['seg_fields']:
        assert out[key].shape[:2] == (10, 12), key
    # Position encodings agree across fields.
    pos = out['gt_depth_map'] - 1
    np.testing.assert_array_equal(pos // 32, out['img'][..., 0])
    np.testing.assert_array_equal(pos % 32, out['img'][..., 1])
    np.testing.assert_array_equal(out['gt_seg_map'], pos.astype(int) % 5)


def test_crop_cat_max_ratio_without_semseg_does_not_crash():
    r = _results(24, 32, with_semseg=False)
    out = MultiTaskRandomCrop(crop_size=8, cat_max_ratio=0.75)(r)
    assert out['img'].shape[:2] == (8, 8)
    assert out['gt_normal_map'].shape == (8, 8, 3)


def test_crop_cat_max_ratio_rejects_single_class_crops():
    r = _results(40, 40)
    seg = np.zeros((40, 40), np.uint8)
    seg[:, 30:] = 1  # only crops reaching x >= 30 have two classes
    r['gt_seg_map'] = seg
    np.random.seed(0)
    crop = MultiTaskRandomCrop(crop_size=10, cat_max_ratio=0.9)
    hits = 0
    for _ in range(30):
        out = crop(dict(r))
        hits += len(np.unique(out['gt_seg_map'])) > 1
    # Without the check about 1/3 of the crops have two classes.
    assert hits >= 25


def test_scale_resizes_every_field_nearest():
    np.random.seed(0)
    r = _results(12, 16)
    vals = set(np.unique(r['gt_part_seg']).tolist())
    out = MultiTaskRandomScale(ratio_range=(2.0, 2.0))(r)
    assert out['img'].shape[:2] == (24, 32)
    for key in out['seg_fields']:
        assert out[key].shape[:2] == (24, 32), key
    # Nearest: no new label values, unit normals, depth values kept.
    assert set(np.unique(out['gt_part_seg']).tolist()) <= vals
    np.testing.assert_allclose(
        np.linalg.norm(out['gt_normal_map'], axis=-1), 1, atol=1e-5)
    assert out['gt_depth_map'].max() == 12 * 16
    pos = out['gt_depth_map'] - 1
    np.testing.assert_array_equal(pos % 16, out['img'][..., 1])


def test_resize_depth_rescale():
    r = _results(12, 16)
    out = MultiTaskResize(scale=(32, 24), keep_ratio=True,
                          depth_rescale=True)(r)
    assert out['img'].shape[:2] == (24, 32)
    assert out['gt_depth_map'].max() == pytest.approx(12 * 16 / 2)


def test_random_scale_crop_mtan_protocol():
    np.random.seed(1)
    r = _results(24, 32)
    out = RandomScaleCrop(scales=(2.0, ))(r)
    assert out['img'].shape[:2] == (24, 32)
    assert out['gt_depth_map'].shape == (24, 32)
    # depth / 2 after a 2x zoom, from the same source pixel as the class map
    d = out['gt_depth_map'] * 2 - 1
    np.testing.assert_array_equal(d % 5, out['gt_seg_map'])
    assert set(np.unique(out['gt_edge_map']).tolist()) <= {0, 1}


def test_pad_uses_task_pad_values():
    r = _results(10, 12)
    out = MultiTaskPad(size=(16, 16))(r)
    assert out['img_shape'] == (10, 12) and out['pad_shape'] == (16, 16)
    assert (out['img'][10:] == 0).all()
    assert (out['gt_seg_map'][10:] == 255).all()
    assert (out['gt_part_seg'][:, 12:] == 255).all()
    assert (out['gt_edge_map'][10:] == 255).all()
    assert (out['gt_normal_map'][10:] == 0).all()
    assert (out['gt_depth_map'][:, 12:] == 0).all()
    np.testing.assert_array_equal(out['gt_depth_map'][:10, :12],
                                  _results(10, 12)['gt_depth_map'])


def test_pad_image_value_every_channel_and_labels_optional():
    r = _results(10, 12)
    out = MultiTaskPad(size_divisor=8, pad_val=7, pad_labels=False)(r)
    assert out['img'].shape[:2] == (16, 16)
    assert (out['img'][12:] == 7).all()
    assert out['gt_seg_map'].shape == (10, 12)


def test_pad_needs_size():
    with pytest.raises(ValueError, match='size'):
        MultiTaskPad()


# ------------------------------------------- published size/resampling rules
@pytest.mark.parametrize('rounding,hw', [('truncate', (468, 552)),
                                         ('round', (469, 553))])
def test_random_scale_truncates_sizes_by_default(rounding, hw):
    # 375 x 442 scaled by 1.25 = 468.75 x 552.5: int() (published) vs
    # round-half-up (mmcv).
    r = dict(img=np.zeros((375, 442, 3), np.uint8), img_shape=(375, 442),
             gt_seg_map=np.zeros((375, 442), np.uint8),
             seg_fields=['gt_seg_map'])
    kw = {} if rounding == 'truncate' else dict(rounding='round')
    out = MultiTaskRandomScale(ratio_range=(1.25, 1.25), **kw)(r)
    assert out['img'].shape[:2] == hw and out['gt_seg_map'].shape == hw
    assert out['img_shape'] == hw


def test_random_scale_round_matches_mmcv_resize():
    for s in np.linspace(0.5, 2.0, 61):
        r = dict(img=np.zeros((375, 500, 3), np.uint8), img_shape=(375, 500))
        ours = MultiTaskRandomScale(ratio_range=(s, s), rounding='round')(
            dict(r))['img'].shape[:2]
        mmcv = MultiTaskResize(scale_factor=float(s), keep_ratio=True)(
            dict(r))['img'].shape[:2]
        assert ours == mmcv, s
    with pytest.raises(ValueError, match='rounding'):
        MultiTaskRandomScale(rounding='floor')


def _scale_crop():
    t = RandomScaleCrop(scales=(2.0, ))
    t._params = lambda h, w: (2.0, 0, 0, 2, 2)  # the top-left 2x2 window
    img = np.zeros((4, 4, 3), np.float32)
    img[:2, :2, 0] = [[0, 3], [6, 9]]
    nrm = np.zeros((4, 4, 3), np.float32)
    nrm[0, 0] = (1, 0, 0)
    nrm[0, 1] = (0, 1, 0)
    r = dict(img=img, gt_seg_map=np.array([[1, 2, 0, 0], [3, 4, 0, 0]] +
                                          [[0] * 4] * 2, np.uint8),
             gt_depth_map=np.array([[2, 4, 0, 0], [6, 8, 0, 0]] +
                                   [[0] * 4] * 2, np.float32),
             gt_normal_map=nrm,
             seg_fields=['gt_seg_map', 'gt_depth_map', 'gt_normal_map'])
    return t(r)


def test_random_scale_crop_resamples_like_mtan():
    out = _scale_crop()
    # bilinear, align_corners=True: source position i * (2 - 1) / (4 - 1)
    np.testing.assert_allclose(out['img'][..., 0],
                               [[0, 1, 2, 3], [2, 3, 4, 5], [4, 5, 6, 7],
                                [6, 7, 8, 9]], atol=1e-5)
    # torch 'nearest': source floor(i * 2 / 4)
    np.testing.assert_array_equal(out['gt_seg_map'],
                                  [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4],
                                   [3, 3, 4, 4]])
    assert out['gt_seg_map'].dtype == np.uint8
    np.testing.assert_array_equal(out['gt_depth_map'],
                                  [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4],
                                   [3, 3, 4, 4]])  # nearest, then / 2
    n = out['gt_normal_map']
    np.testing.assert_allclose(n[0, 1], (2 / 3, 1 / 3, 0), atol=1e-6)
    np.testing.assert_allclose(n[1, 0], (2 / 3, 0, 0), atol=1e-6)  # shortened
    assert not n[3].any()  # the invalid row stays invalid


def test_crop_is_mmseg_random_crop_on_every_field():
    """Same seed, same window as mmseg's RandomCrop (with its cat_max_ratio
    retries); the other fields are cut at that window too."""
    from mmseg.datasets.transforms import RandomCrop
    rng = np.random.default_rng(3)
    seg = (rng.random((40, 50)) < 0.2).astype(np.uint8)
    seg[:, :25] = 2
    img = rng.integers(0, 255, (40, 50, 3), dtype=np.uint8)
    depth = rng.random((40, 50)).astype(np.float32)
    ours = MultiTaskRandomCrop(crop_size=(16, 20), cat_max_ratio=0.6)
    assert isinstance(ours, RandomCrop)
    for seed in range(5):
        np.random.seed(seed)
        ref = RandomCrop(crop_size=(16, 20), cat_max_ratio=0.6)(
            dict(img=img.copy(), gt_seg_map=seg.copy(), seg_fields=['gt_seg_map']))
        np.random.seed(seed)
        out = ours(dict(img=img.copy(), gt_seg_map=seg.copy(), gt_depth_map=depth,
                        seg_fields=['gt_seg_map', 'gt_depth_map']))
        np.testing.assert_array_equal(out['img'], ref['img'])
        np.testing.assert_array_equal(out['gt_seg_map'], ref['gt_seg_map'])
        y1, y2, x1, x2 = out['crop_bbox']
        np.testing.assert_array_equal(out['gt_depth_map'], depth[y1:y2, x1:x2])
    with pytest.raises(ValueError, match='crop_size must be positive'):
        MultiTaskRandomCrop(crop_size=(0, 4))
