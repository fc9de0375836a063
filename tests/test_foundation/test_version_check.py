import pytest

from mmdmtl.version_check import REQUIRED, check_versions, installed_versions


def _good():
    return {name: pinned for name, (_, _, pinned) in REQUIRED.items()}


def test_installed_stack_passes():
    found = installed_versions()
    assert found['mmcv'] == '2.1.0'
    check_versions(found)


def test_wrong_mmcv_names_the_fix():
    found = dict(_good(), mmcv='2.2.0')
    with pytest.raises(ImportError) as err:
        check_versions(found)
    msg = str(err.value)
    assert 'mmcv 2.2.0 is installed' in msg
    assert 'MMCV_WITH_OPS=1 pip install --no-build-isolation mmcv==2.1.0' in msg


def test_mmcv_lite_and_missing_packages_are_reported_together():
    found = dict(_good(), mmcv='lite-2.1.0', mmsegmentation=None)
    with pytest.raises(ImportError) as err:
        check_versions(found)
    msg = str(err.value)
    assert 'mmcv-lite 2.1.0' in msg and 'compiled ops' in msg
    assert 'mmsegmentation is not installed' in msg
    assert 'pip install mmsegmentation==1.2.2' in msg


def test_old_mmengine_rejected():
    with pytest.raises(ImportError, match=r'pip install mmengine==0\.10\.7'):
        check_versions(dict(_good(), mmengine='0.10.5'))
