"""mmdmtl: DiffusionMTL for OpenMMLab 2.x (multi-task dense prediction from partial labels)."""
import os.path as osp

from setuptools import find_packages, setup

HERE = osp.dirname(osp.abspath(__file__))


def read_requirements(name):
    """Requirement lines of requirements/<name>.txt, without comments."""
    lines = []
    with open(osp.join(HERE, 'requirements', name)) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line and not line.startswith('-r'):
                lines.append(line)
    return lines


def get_version():
    scope = {}
    with open(osp.join(HERE, 'mmdmtl', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


with open(osp.join(HERE, 'README.md'), encoding='utf-8') as f:
    long_description = f.read()

setup(
    name='mmdmtl',
    version=get_version(),
    description='DiffusionMTL for OpenMMLab 2.x: multi-task dense prediction '
    'from partially annotated data',
    long_description=long_description,
    long_description_content_type='text/markdown',
    license='Apache License 2.0',
    packages=find_packages(exclude=('configs', 'tools', 'demo', 'tests', 'docs')),
    include_package_data=True,
    python_requires='>=3.9',
    # torch and mmcv are installed by tools/misc/install_env.sh (mmcv must be built
    # against the installed torch), so they are not install_requires.
    install_requires=read_requirements('runtime.txt'),
    extras_require={
        'all': read_requirements('runtime.txt') + read_requirements('mminstall.txt')
        + read_requirements('tests.txt') + read_requirements('optional.txt'),
        'mim': read_requirements('mminstall.txt'),
        'tests': read_requirements('tests.txt'),
        'optional': read_requirements('optional.txt'),
    },
    classifiers=[
        'License :: OSI Approved :: Apache Software License',
        'Programming Language :: Python :: 3.11',
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
    ],
)
