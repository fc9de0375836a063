import pytest

from mmdmtl.evaluation.functional import (STL_REFERENCES, is_lower_better,
                                          multi_task_gain, resolve_reference)


def test_published_pascal_delta_m():
    # MTL baseline of the DiffusionMTL paper, PASCAL one-label: -2.85%
    res = {'semseg/mIoU': 49.71, 'human_parts/mIoU': 56.00, 'sal/maxF': 74.50,
           'normals/mean': 16.85, 'edge/odsF': 62.80}
    g = multi_task_gain(res, 'pascal_context_one_label')
    assert g['delta_m'] == pytest.approx(-2.85, abs=0.005)
    assert g['normals/mean'] == pytest.approx(-(16.85 - 16.59) / 16.59 * 100)
    feat = {'semseg/mIoU': 57.78, 'human_parts/mIoU': 58.98, 'sal/maxF': 77.82,
            'normals/mean': 16.11, 'edge/odsF': 64.50}
    assert multi_task_gain(feat, 'pascal_context_one_label')['delta_m'] == \
        pytest.approx(3.65, abs=0.01)


def test_published_nyud_delta_m():
    res = {'semseg/mIoU': 44.47, 'depth/abs_err': 0.5059, 'normals/mean': 25.84}
    assert multi_task_gain(res, 'nyud_v2_one_label')['delta_m'] == pytest.approx(
        -2.27, abs=0.01)


def test_reference_errors_and_overrides():
    with pytest.raises(KeyError, match='unknown single-task reference'):
        resolve_reference('pascal')
    with pytest.raises(KeyError, match='edge/odsF'):
        multi_task_gain({'semseg/mIoU': 1.0}, {'edge/odsF': 2.0})
    with pytest.raises(ValueError, match='is 0'):
        resolve_reference({'a/b': 0})
    assert is_lower_better('depth/abs_err') and not is_lower_better('sal/maxF')
    assert is_lower_better('x/score', ['score'])
    g = multi_task_gain({'x/score': 2.0}, {'x/score': 4.0}, ['x/score'])
    assert g['delta_m'] == 50.0
    assert set(STL_REFERENCES) >= {'pascal_context_one_label', 'cityscapes'}
