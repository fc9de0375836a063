"""Version checks of the OpenMMLab stack, with the pip command that fixes each problem."""
from importlib import metadata
from typing import Dict, Optional

from packaging.version import Version

# name -> (minimum inclusive, maximum exclusive, the pinned version to install)
REQUIRED = {
    'mmcv': ('2.0.0', '2.2.0', '2.1.0'),
    'mmengine': ('0.10.6', '1.0.0', '0.10.7'),
    'mmsegmentation': ('1.2.0', '1.3.0', '1.2.2'),
}

FIX = {
    'mmcv': ('pip uninstall -y mmcv mmcv-lite && MMCV_WITH_OPS=1 pip install '
             '--no-build-isolation mmcv==2.1.0   (or: make install)'),
    'mmengine': 'pip install mmengine==0.10.7',
    'mmsegmentation': 'pip install mmsegmentation==1.2.2',
}


def installed_versions() -> Dict[str, Optional[str]]:
    found = {}
    for name in REQUIRED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    if found['mmcv'] is None:
        try:  # mmcv-lite installs the same import name without the compiled ops
            found['mmcv'] = 'lite-' + metadata.version('mmcv-lite')
        except metadata.PackageNotFoundError:
            pass
    return found


def check_versions(found: Optional[Dict[str, Optional[str]]] = None) -> None:
    """Raise ImportError naming every wrong package and the command that fixes it."""
    found = installed_versions() if found is None else found
    problems = []
    for name, (low, high, pinned) in REQUIRED.items():
        version = found.get(name)
        if version is None:
            problems.append(f'{name} is not installed (mmdmtl needs '
                            f'{low} <= {name} < {high}; {pinned} is tested).')
        elif version.startswith('lite-'):
            problems.append(f'mmcv-lite {version[5:]} is installed but mmseg needs '
                            'mmcv with its compiled ops.')
        elif not Version(low) <= Version(version) < Version(high):
            problems.append(f'{name} {version} is installed but mmdmtl needs '
                            f'{low} <= {name} < {high}.')
        else:
            continue
        problems[-1] += f' Fix: {FIX[name]}'
    if problems:
        raise ImportError('mmdmtl cannot run with this OpenMMLab stack:\n  ' +
                          '\n  '.join(problems))
