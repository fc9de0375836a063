"""Is the GPU kit complete? Its wheels' requirements against the GPU machine.

    python tools/misc/gpu_kit_deps.py KIT_DIR [--requirements FILE ...]
        [--print-host]

Reads the ``Requires-Dist`` of every wheel in KIT_DIR (markers evaluated for
CPython 3.12 on linux x86_64, extras left out) and the given requirement files,
and checks that each requirement is either a wheel of the kit or a package of the
GPU machine (``GPU_MACHINE_PACKAGES``: the device tool's KINDS.md list for the
'cuda' image of nvidia-h100-x1 / nvidia-h200, as read there on 2026-11-17). The
kit is installed there with ``pip install --no-index --no-deps``, so pip checks
none of this itself. Also refused: two versions of one package in the kit (the
install stops on them), and a kit wheel that would shadow a package of the
machine (it would sit in front of the one that the machine's other packages were
built against). Versions of the machine's packages are known for a few only
(``GPU_MACHINE_VERSIONS``); a requirement they break is reported, not fixed.

``--print-host`` prints, one a line, the machine's packages that the kit and the
requirement files use: the self-check of ``tools/misc/gpu_kit.sh`` installs
those (at the machine's versions where known) in its clean venv.
Exit status 1 with a one-line reason per problem.
"""
import argparse
import glob
import os.path as osp
import re
import sys
import zipfile
from email.parser import Parser
from typing import Dict, Iterable, List, Set, Tuple

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.version import Version

GPU_MACHINE_PACKAGES = """
absl-py accelerate aiofiles aiohappyeyeballs aiohttp aiosignal annotated-doc anyio
attrs botorch build certifi charset-normalizer chex click cloudpickle cmake colorama
contourpy coverage cuda-bindings cuda-core cuda-pathfinder cuda-toolkit cupy-cuda13x
cycler cython diffrax e3nn einops equinox etils execnet filelock flatbuffers flax
fonttools formulaic frozenlist fsspec gpytorch grpcio h11 h5py hf-xet httpcore httpx
huggingface-hub humanize hypothesis idna imageio iniconfig interface-meta jax
jax-cuda13-pjrt jax-cuda13-plugin jaxlib jaxtyping jinja2 joblib kiwisolver
lazy-loader lightning lightning-utilities linear-operator lineax llvmlite lxml
markdown markdown-it-py markupsafe matplotlib mdurl meson ml-dtypes mpi4py mpmath
msgpack multidict multipledispatch mypy-extensions nanobind narwhals networkx ninja
numba numba-cuda numpy numpyro nvidia-cublas nvidia-cuda-cupti nvidia-cuda-nvrtc
nvidia-cuda-runtime nvidia-cudnn-cu13 nvidia-cufft nvidia-cufile nvidia-curand
nvidia-cusolver nvidia-cusparse nvidia-cusparselt-cu13 nvidia-ml-py nvidia-nccl-cu13
nvidia-nvjitlink nvidia-nvshmem-cu13 nvidia-nvtx onnx onnx-ir onnxruntime onnxscript
opencv-python-headless optax opt-einsum opt-einsum-fx optimistix orbax-checkpoint
packaging pandas pathspec patsy peft pillow pip pluggy portalocker prometheus-client
propcache protobuf psutil pyarrow pybind11 py-cpuinfo pygments pyparsing
pyproject-hooks pyre-extensions pytest pytest-benchmark pytest-cov pytest-mock
pytest-timeout pytest-xdist python-dateutil pytorch-lightning pyyaml regex requests
rich sacrebleu safetensors scikit-build-core scikit-image scikit-learn scipy seaborn
sentencepiece sentence-transformers setuptools shellingham simplejson six
sortedcontainers statsmodels sympy tabulate tensorboard tensorboard-data-server
tensorstore threadpoolctl tifffile tiktoken timm tokenizers toolz torch torchaudio
torchdiffeq torch-geometric torchmetrics torchvision tqdm transformers treescope
triton typer typing-extensions typing-inspect urllib3 uvloop wadler-lindig werkzeug
wheel wrapt xarray xxhash yarl zipp
""".split()

#: Versions seen there (KINDS.md's pip list, 2026-11); the others are unknown.
GPU_MACHINE_VERSIONS = {'numpy': '2.5.2', 'torch': '2.11.0',
                        'torchvision': '0.26.0'}

#: A requirement met by another distribution of the same module (cv2).
PROVIDED_BY = {'opencv-python': 'opencv-python-headless'}

#: The interpreter of the GPU machine (Python 3.12 on linux x86_64).
TARGET_ENV = dict(default_environment(), python_version='3.12',
                  python_full_version='3.12.3', implementation_name='cpython',
                  platform_python_implementation='CPython',
                  sys_platform='linux', platform_system='Linux',
                  platform_machine='x86_64', os_name='posix', extra='')


def canonical(name: str) -> str:
    return re.sub(r'[-_.]+', '-', name).lower()


def wheel_metadata(path: str) -> Tuple[str, str, List[str]]:
    """(name, version, Requires-Dist lines) of a wheel."""
    with zipfile.ZipFile(path) as z:
        meta = [n for n in z.namelist()
                if n.count('/') == 1 and n.endswith('.dist-info/METADATA')]
        if len(meta) != 1:
            raise ValueError(f'{path}: not a wheel (no single '
                             '*.dist-info/METADATA)')
        msg = Parser().parsestr(z.read(meta[0]).decode('utf-8'))
    return msg['Name'], msg['Version'], msg.get_all('Requires-Dist') or []


def requirement_lines(path: str) -> List[str]:
    lines = []
    with open(path) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line and not line.startswith('-'):
                lines.append(line)
    return lines


def applicable(reqs: Iterable[str]) -> List[Requirement]:
    out = []
    for line in reqs:
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate(TARGET_ENV):
            out.append(req)
    return out


def check(kit_dir: str, requirement_files: List[str]) -> Tuple[List[str], Set[str]]:
    """Problems (one line each) and the machine's packages in use."""
    problems: List[str] = []
    wheels = sorted(glob.glob(osp.join(kit_dir, '*.whl')))
    if not wheels:
        return [f'{kit_dir}: no wheels'], set()
    machine = {canonical(n) for n in GPU_MACHINE_PACKAGES}
    kit: Dict[str, str] = {}
    wanted: List[Tuple[str, Requirement]] = []
    for path in wheels:
        name, version, requires = wheel_metadata(path)
        key = canonical(name)
        if key in kit:
            problems.append(f'{osp.basename(path)}: a second version of {name} '
                            f'(also {kit[key]}); keep one (the install stops '
                            'on two)')
        kit[key] = version
        if key in machine:
            problems.append(f'{osp.basename(path)}: {name} is already on the GPU '
                            'machine; a kit copy would shadow it, drop it from '
                            'the kit')
        wanted += [(osp.basename(path), r) for r in applicable(requires)]
    for path in requirement_files:
        wanted += [(path, r) for r in applicable(requirement_lines(path))]
    host: Set[str] = set()
    for source, req in wanted:
        key = canonical(req.name)
        key = PROVIDED_BY.get(key, key)
        if key in kit:
            if kit[key] not in req.specifier:
                problems.append(f'{source} requires {req}; the kit has '
                                f'{req.name} {kit[key]}')
        elif key in machine:
            host.add(key)
            seen = GPU_MACHINE_VERSIONS.get(key)
            if seen and not req.specifier.contains(Version(seen),
                                                   prereleases=True):
                print(f'gpu_kit_deps: note: {source} requires {req}; the GPU '
                      f'machine has {key} {seen} (kept: the machine\'s own '
                      'packages are built against it)', file=sys.stderr)
        else:
            problems.append(f'{source} requires {req.name}, which is neither in '
                            'the kit nor on the GPU machine: add a wheel of it '
                            'to the kit (tools/misc/gpu_kit.sh)')
    return problems, host


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('kit_dir')
    p.add_argument('--requirements', nargs='*', default=[])
    p.add_argument('--print-host', action='store_true')
    args = p.parse_args(argv)
    problems, host = check(args.kit_dir, args.requirements)
    for line in problems:
        print(f'gpu_kit_deps: error: {line}', file=sys.stderr)
    if problems:
        return 1
    if args.print_host:
        print('\n'.join(sorted(host)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
