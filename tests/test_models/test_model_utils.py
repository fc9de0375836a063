import zlib

import pytest

from mmdmtl.models.utils import (check_task_channels, sample_seed_keys,
                                 scoped_type)


def test_sample_seed_keys_use_file_name_then_index():
    keys = sample_seed_keys([dict(img_path='/a/b/x.jpg'), dict(img_path='/c/x.jpg'),
                             dict(sample_idx=7), {}])
    assert keys[0] == keys[1] == zlib.crc32(b'x.jpg')
    assert keys[2:] == [7, 3]


def test_scoped_type_and_task_channels():
    assert scoped_type(dict(type='A', x=1)) == dict(type='mmdmtl.A', x=1)
    assert scoped_type(dict(type='mmseg.B'))['type'] == 'mmseg.B'
    assert scoped_type(None) is None
    assert check_task_channels(dict(semseg=3), 'here') == dict(semseg=3)
    with pytest.raises(ValueError, match='here'):
        check_task_channels({}, 'here')
