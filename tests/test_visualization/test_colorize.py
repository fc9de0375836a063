import numpy as np
import pytest
import torch

from mmdmtl.visualization import (INVALID_COLOR, colorize_binary_label,
                                  colorize_class_map, colorize_depth,
                                  colorize_heatmap, colorize_normals, depth_range,
                                  load_image_rgb, make_palette)


def test_make_palette_voc_scheme_and_distinct():
    pal = make_palette(256)
    assert pal.shape == (256, 3) and pal.dtype == np.uint8
    np.testing.assert_array_equal(pal[0], [0, 0, 0])
    np.testing.assert_array_equal(pal[1], [128, 0, 0])
    np.testing.assert_array_equal(pal[2], [0, 128, 0])
    np.testing.assert_array_equal(pal[3], [128, 128, 0])
    np.testing.assert_array_equal(pal[4], [0, 0, 128])
    np.testing.assert_array_equal(pal[15], [192, 128, 128])
    # every colour of the 8-bit scheme is different
    assert len({tuple(c) for c in pal}) == 256


def test_colorize_class_map_palette_ignore_and_extension():
    lab = torch.tensor([[[0, 1, 255], [2, 7, 1]]])
    out = colorize_class_map(lab, palette=[[10, 20, 30], [40, 50, 60]])
    assert out.shape == (2, 3, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[0, 0], [10, 20, 30])
    np.testing.assert_array_equal(out[0, 1], [40, 50, 60])
    np.testing.assert_array_equal(out[0, 2], INVALID_COLOR)
    # ids beyond the given palette take the generated colours
    np.testing.assert_array_equal(out[1, 0], make_palette(8)[2])
    np.testing.assert_array_equal(out[1, 1], make_palette(8)[7])
    with pytest.raises(ValueError, match='negative'):
        colorize_class_map(np.array([[-1, 0]]))
    with pytest.raises(ValueError, match='shape'):
        colorize_class_map(np.zeros((2, 2, 2, 2)))


def test_heatmap_is_monotonic_in_brightness():
    p = np.linspace(0, 1, 11)[None]
    out = colorize_heatmap(p).astype(np.float32)
    lum = out[0] @ np.array([0.299, 0.587, 0.114])
    assert np.all(np.diff(lum) > 0)
    # values outside [0, 1] are clipped, NaN drawn as 0
    out2 = colorize_heatmap(np.array([[-3.0, 7.0, np.nan]]))
    np.testing.assert_array_equal(out2[0, 0], out[0, 0])
    np.testing.assert_array_equal(out2[0, 1], out[0, -1])
    np.testing.assert_array_equal(out2[0, 2], out[0, 0])


def test_binary_label_ignore_is_grey():
    out = colorize_binary_label(np.array([[0, 1, 255]]))
    ref = colorize_heatmap(np.array([[0.0, 1.0]]))
    np.testing.assert_array_equal(out[0, :2], ref[0])
    np.testing.assert_array_equal(out[0, 2], INVALID_COLOR)


def test_colorize_normals_values_and_invalid():
    n = torch.zeros(3, 1, 3)
    n[2, 0, 0] = 1.0  # +z
    n[0, 0, 1] = -2.0  # -x, not unit: normalised first
    out = colorize_normals(n)
    np.testing.assert_array_equal(out[0, 0], [128, 128, 255])
    np.testing.assert_array_equal(out[0, 1], [0, 128, 128])
    np.testing.assert_array_equal(out[0, 2], INVALID_COLOR)
    with pytest.raises(ValueError, match='normals'):
        colorize_normals(np.zeros((2, 4, 4)))


def test_depth_range_skips_invalid_and_colours_follow_scale():
    d = np.array([[0.0, 1.0, 2.0, 3.0, 0.0]], np.float32)
    lo, hi = depth_range(d, None)
    assert lo == pytest.approx(1.02) and hi == pytest.approx(2.98)
    out = colorize_depth(d, 1.0, 3.0)
    np.testing.assert_array_equal(out[0, 0], INVALID_COLOR)
    np.testing.assert_array_equal(out[0, 4], INVALID_COLOR)
    ref = colorize_heatmap(np.array([[0.0, 0.5, 1.0]]), cmap='viridis')
    np.testing.assert_array_equal(out[0, 1:4], ref[0])
    assert depth_range(None, np.zeros((2, 2))) == (0.0, 1.0)


def test_load_image_rgb_png_and_npy(tmp_path):
    import cv2
    img = np.zeros((5, 6, 3), np.uint8)
    img[..., 0] = 200  # red in RGB
    cv2.imwrite(str(tmp_path / 'a.png'), img[..., ::-1])
    np.testing.assert_array_equal(load_image_rgb(str(tmp_path / 'a.png')), img)
    np.save(tmp_path / 'b.npy', img.astype(np.float32) / 255.0)
    np.testing.assert_array_equal(load_image_rgb(str(tmp_path / 'b.npy')), img)
    with pytest.raises(FileNotFoundError, match='missing.png'):
        load_image_rgb(str(tmp_path / 'missing.png'))
