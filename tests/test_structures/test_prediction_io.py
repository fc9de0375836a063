import cv2
import numpy as np
import pytest
import torch

from mmdmtl.structures import MultiTaskDataSample
from mmdmtl.structures.prediction_io import (DEPTH_PNG_SCALE,
                                             encode_prediction_png,
                                             predictions_to_numpy,
                                             save_task_predictions)


def _sample():
    s = MultiTaskDataSample(metainfo=dict(img_path='x/y/im.png'))
    s.set_pred('semseg', torch.tensor([[[0, 3], [7, 1]]]))
    s.set_pred('edge', torch.tensor([[[0.0, 0.5], [1.0, 0.25]]]))
    n = torch.zeros(3, 2, 2)
    n[2] = 1.0
    s.set_pred('normals', n)
    s.set_pred('depth', torch.tensor([[[1.2345, 2.0], [0.0, 70.0]]]))
    return s


def test_predictions_to_numpy_layouts():
    p = predictions_to_numpy(_sample())
    assert sorted(p) == ['depth', 'edge', 'normals', 'semseg']
    assert p['semseg'].dtype == np.int64 and p['semseg'].shape == (2, 2)
    assert p['normals'].shape == (2, 2, 3) and (p['normals'][..., 2] == 1).all()
    assert p['edge'].dtype == np.float32
    only = predictions_to_numpy(_sample(), ['depth'])
    assert list(only) == ['depth']
    with pytest.raises(KeyError, match='pred_sal_map'):
        predictions_to_numpy(_sample(), ['sal'])


def test_png_encodings_and_files(tmp_path):
    p = predictions_to_numpy(_sample())
    np.testing.assert_array_equal(encode_prediction_png('edge', p['edge']),
                                  [[0, 128], [255, 64]])
    d = encode_prediction_png('depth', p['depth'])
    assert d.dtype == np.uint16
    np.testing.assert_array_equal(d, [[1234, 2000], [0, 65535]])  # clipped
    assert DEPTH_PNG_SCALE == 1000.0
    rgb = encode_prediction_png('normals', p['normals'])[..., ::-1]
    np.testing.assert_array_equal(rgb[0, 0], [128, 128, 255])
    written = save_task_predictions(p, str(tmp_path), 'im', save_npy=True)
    assert sorted(written) == sorted(p)
    back = cv2.imread(written['semseg'], cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(back, [[0, 3], [7, 1]])
    np.testing.assert_array_equal(np.load(tmp_path / 'depth' / 'im.npy'), p['depth'])
    # more than 256 classes are written as 16 bit
    assert encode_prediction_png('semseg', np.array([[300]])).dtype == np.uint16
