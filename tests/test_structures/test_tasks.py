import pytest

from mmdmtl.structures import TASK_NAMES, TASKS, check_task_names, task_out_channels


def test_published_task_names_and_fields():
    assert TASK_NAMES == ('semseg', 'human_parts', 'sal', 'normals', 'edge', 'depth')
    assert TASKS['semseg'].gt_field == 'gt_sem_seg'
    assert TASKS['depth'].gt_field == 'gt_depth_map'
    assert TASKS['normals'].label_channels == 3 and TASKS['normals'].pad_value == 0
    assert TASKS['edge'].pad_value == 255 and TASKS['sal'].out_channels == 2


def test_unknown_task_is_named_with_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown task name\(s\) \['segm'\] in my.cfg"):
        check_task_names(['semseg', 'segm'], where='my.cfg')
    with pytest.raises(ValueError, match='repeated'):
        check_task_names(['edge', 'edge'])


def test_out_channels():
    assert task_out_channels('semseg', 21) == 21
    assert task_out_channels('normals') == 3
    with pytest.raises(ValueError, match='number of classes'):
        task_out_channels('human_parts')
