#!/usr/bin/env bash
# The GPU kit: what the project's GPU machines lack, as wheels made on a CPU machine.
#
#   tools/misc/gpu_kit.sh [--force] [--no-check]
#
# The GPU machines lent to this project (the device tool's nvidia-h100-x1 and
# nvidia-h200) have CPython 3.12 and torch 2.11.0+cu130, no OpenMMLab package and
# no package index. This script fills .gpu_kit/ (ignored by git; carried with the
# device call's carry=['.gpu_kit']) with wheels for CPython 3.12, linux x86_64:
#   - mmcv 2.1.0 with its CPU ops, built here against torch 2.11.0 from PyPI (the
#     same version as the machine's; mmdmtl uses no mmcv CUDA op, and `import
#     mmseg` needs mmcv.ops);
#   - pyedgeeval 0.2.8 (Cython, built here);
#   - mmengine, mmsegmentation, mmpretrain and each requirement of theirs and of
#     requirements/runtime.txt that the machine lacks (PINNED below);
# then checks it:
#   - tools/misc/gpu_kit_deps.py: every requirement of every kit wheel and of
#     requirements/runtime.txt is in the kit or on the machine (KINDS.md's list);
#   - the built extensions need no newer glibc/libstdc++ than the machine's
#     image has (Ubuntu 24.04, whose Python 3.12.3 it runs: GLIBC 2.39,
#     GLIBCXX 3.4.33);
#   - the kit is under 60 MiB (a device call carries at most 64 MiB);
#   - in a clean venv with torch 2.11.0, torchvision 0.26.0 and the machine's
#     packages that the kit uses (numpy at the machine's 2.5.2), the kit installed
#     as on the device (pip install --no-index --no-deps --target): the CPU dry
#     run of tools/analysis_tools/gpu_benchmark.sh, then import mmdmtl, build the
#     PASCAL-Context model and run one forward pass.
#
# Needs python3.12 (PY312=..., default: python3.12 on PATH or pyenv's 3.12.1), a
# C++ compiler and PyPI. The venvs (torch from PyPI is its multi-GB CUDA build;
# it runs on CPU) and the built wheels stay in $MMDMTL_GPU_KIT_CACHE (default
# ~/.cache/mmdmtl-gpu-kit): a second run reuses them (mmcv takes 5-10 minutes
# to build on 2 cores), and a kit whose MANIFEST.txt matches this script and
# passed its check is left as it is (--force: make and check it again).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
KIT=$ROOT/.gpu_kit
CACHE=${MMDMTL_GPU_KIT_CACHE:-$HOME/.cache/mmdmtl-gpu-kit}
TORCH_VERSION=2.11.0        # the GPU machine's (2.11.0+cu130)
TORCHVISION_VERSION=0.26.0  # the GPU machine's
NUMPY_VERSION=2.5.2         # the GPU machine's: the check runs with it
MMCV_VERSION=2.1.0
PYEDGEEVAL_VERSION=0.2.8
PINNED=(mmengine==0.10.7 mmsegmentation==1.2.2 mmpretrain==1.2.0
        addict==2.4.0 yapf==0.43.0 platformdirs==4.14.9 termcolor==3.3.0
        ftfy==6.3.1 prettytable==3.19.0 wcwidth==0.9.5
        mat4py==0.6.0 modelindex==0.0.2 model-index==0.1.11 ordered-set==4.1.0
        importlib-metadata==8.7.0)
MAX_KIT_MIB=60
MAX_GLIBC=2.39
MAX_GLIBCXX=3.4.33
FORCE=0
CHECK=1
die() { echo "gpu_kit.sh: error: $*" >&2; exit 1; }
say() { echo "[gpu_kit] $*"; }
for arg in "$@"; do
    case "$arg" in
        --force) FORCE=1 ;;
        --no-check) CHECK=0 ;;
        -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$arg' (see --help)" ;;
    esac
done
if [ -z "${PY312:-}" ]; then  # the first that runs (a pyenv shim may not)
    for PY312 in python3.12 "$HOME"/.pyenv/versions/3.12*/bin/python3.12; do
        "$PY312" -c '' 2>/dev/null && break
    done
fi
"$PY312" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null ||
    die "no Python 3.12 at '$PY312': the GPU machines run CPython 3.12; set PY312=/path/to/python3.12"

KEY=$(cat tools/misc/gpu_kit.sh tools/misc/gpu_kit_deps.py requirements/runtime.txt | sha1sum | cut -c1-16)
if [ "$FORCE" = 0 ] && [ -f "$KIT/MANIFEST.txt" ] &&
        grep -qx "key: $KEY" "$KIT/MANIFEST.txt" &&
        { [ "$CHECK" = 0 ] || grep -qx "check: passed" "$KIT/MANIFEST.txt"; }; then
    say "$KIT is up to date ($(du -sm "$KIT" | cut -f1) MiB; --force to make it again)"
    exit 0
fi

# ---- a venv with torch 2.11.0 from PyPI
make_venv() {  # make_venv DIR PACKAGES...: torch made once, PACKAGES kept current
    local dir=$1; shift
    if ! "$dir/bin/python" -c "import torch; assert torch.__version__.split('+')[0] == '$TORCH_VERSION'" 2>/dev/null; then
        say "venv $dir: torch==$TORCH_VERSION (torch from PyPI is its CUDA build: a few GB)"
        rm -rf "$dir"
        "$PY312" -m venv "$dir"
        "$dir/bin/python" -m pip install -q --upgrade pip
        "$dir/bin/python" -m pip install -q "torch==$TORCH_VERSION"
    fi
    say "venv $dir: $*"
    "$dir/bin/python" -m pip install -q "torch==$TORCH_VERSION" "$@"
}
mkdir -p "$CACHE"
BUILD_VENV=$CACHE/build-venv
make_venv "$BUILD_VENV" 'setuptools>=77,<81' wheel ninja numpy packaging
BPY=$BUILD_VENV/bin/python

# ---- mmcv with its CPU ops, built once per (mmcv, torch, python) version
MMCV_DIR=$CACHE/mmcv-$MMCV_VERSION-torch-$TORCH_VERSION-cp312
if ! compgen -G "$MMCV_DIR/mmcv-$MMCV_VERSION-*.whl" >/dev/null; then
    say "building mmcv $MMCV_VERSION with its CPU ops against torch $TORCH_VERSION (5-10 minutes on 2 cores)"
    mkdir -p "$MMCV_DIR"
    # Python's CFLAGS carry -g; debug info doubles the compile time (see
    # tools/misc/install_env.sh). CUDA_VISIBLE_DEVICES='' keeps the build CPU-only
    # even on a machine with a GPU: the kit's mmcv must not need a CUDA toolkit.
    CFLAGS="$("$BPY" -c 'import sysconfig; print(sysconfig.get_config_var("CFLAGS") or "")') -g0" \
    CUDA_VISIBLE_DEVICES='' MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
        "$BPY" -m pip wheel -q --no-build-isolation --no-deps --no-cache-dir \
        "mmcv==$MMCV_VERSION" -w "$MMCV_DIR"
fi
PYEDGEEVAL_DIR=$CACHE/pyedgeeval-$PYEDGEEVAL_VERSION-cp312
if ! compgen -G "$PYEDGEEVAL_DIR/pyedgeeval-*.whl" >/dev/null; then
    say "building pyedgeeval $PYEDGEEVAL_VERSION"
    mkdir -p "$PYEDGEEVAL_DIR"
    "$BPY" -m pip wheel -q --no-deps --no-cache-dir "pyedgeeval==$PYEDGEEVAL_VERSION" -w "$PYEDGEEVAL_DIR"
fi

# ---- the kit, made aside and put in place whole
NEW=$KIT.new
rm -rf "$NEW"
mkdir -p "$NEW"
say "downloading ${#PINNED[@]} pinned wheels"
# The build venv is CPython 3.12 on linux x86_64: pip picks the wheels for it.
"$BPY" -m pip download -q --no-deps --only-binary=:all: -d "$NEW" "${PINNED[@]}"
cp "$MMCV_DIR"/mmcv-$MMCV_VERSION-*.whl "$PYEDGEEVAL_DIR"/pyedgeeval-*.whl "$NEW"/

say "checking the requirements against the GPU machine's packages"
HOST=$("$BPY" tools/misc/gpu_kit_deps.py "$NEW" --requirements requirements/runtime.txt --print-host) ||
    die "the kit is incomplete (above); add the missing wheels to PINNED in tools/misc/gpu_kit.sh"

say "checking the C library versions that the built extensions need"
EXT_DIR=$(mktemp -d)
for w in "$NEW"/mmcv-*.whl "$NEW"/pyedgeeval-*.whl; do
    "$BPY" -m zipfile -e "$w" "$EXT_DIR/$(basename "$w")"
done
NEEDS=$(find "$EXT_DIR" -name '*.so' -exec objdump -T {} + | grep -oE 'GLIBC(XX)?_[0-9.]+' | sort -u)
rm -rf "$EXT_DIR"
for lib in GLIBC:$MAX_GLIBC GLIBCXX:$MAX_GLIBCXX; do
    name=${lib%%:*} max=${lib#*:}
    newest=$(echo "$NEEDS" | sed -n "s/^${name}_//p" | sort -V | tail -n 1)
    [ -z "$newest" ] || [ "$(printf '%s\n%s\n' "$newest" "$max" | sort -V | tail -n 1)" = "$max" ] ||
        die "the built extensions need ${name} $newest, newer than the GPU machine's $max: build the kit on an older system"
    say "  ${name}: newest needed ${newest:-none} (machine: $max)"
done

KIT_MIB=$(du -sm "$NEW" | cut -f1)
[ "$KIT_MIB" -le "$MAX_KIT_MIB" ] || die "the kit is $KIT_MIB MiB, over $MAX_KIT_MIB MiB"
{
    echo "# mmdmtl GPU kit, made by tools/misc/gpu_kit.sh on $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "# for CPython 3.12 with torch $TORCH_VERSION (mmcv's ops built against torch $("$BPY" -c 'import torch; print(torch.__version__)'))"
    echo "# install: python3 -m pip install --no-index --no-deps --target DIR .gpu_kit/*.whl"
    echo "key: $KEY"
    echo "size_mib: $KIT_MIB"
    (cd "$NEW" && sha256sum -- *.whl)
} > "$NEW/MANIFEST.txt"
if [ -e "$KIT" ]; then
    [ -f "$KIT/MANIFEST.txt" ] || die "$KIT exists but has no MANIFEST.txt: it was not made by this script; move it away first"
    rm -rf "$KIT"
fi
mv "$NEW" "$KIT"
say "$KIT: $(compgen -G "$KIT/*.whl" | wc -l) wheels, $KIT_MIB MiB"

[ "$CHECK" = 1 ] || { say "check skipped (--no-check)"; exit 0; }

# ---- the self-check: a clean venv standing in for the GPU machine
CHECK_VENV=$CACHE/check-venv
# shellcheck disable=SC2086 # one package name a line
make_venv "$CHECK_VENV" "torchvision==$TORCHVISION_VERSION" "numpy==$NUMPY_VERSION" $(echo "$HOST" | grep -vxE 'numpy|torch|torchvision')
CPY=$CHECK_VENV/bin/python
for name in mmcv mmengine mmseg mmpretrain; do
    ! "$CPY" -c "import $name" 2>/dev/null || die "$CHECK_VENV has $name installed: it must stand for a machine without it; delete $CHECK_VENV"
done
SITE=$CACHE/check-site
rm -rf "$SITE"
say "check: the CPU dry run of tools/analysis_tools/gpu_benchmark.sh, the kit installed into $SITE"
# --budget: a check of function, not of speed (a shared 2-core CPU took minutes)
PYTHON=$CPY OMP_NUM_THREADS=1 bash tools/analysis_tools/gpu_benchmark.sh --device cpu \
    --kit "$KIT" --site "$SITE" --out "$CACHE/check-out" --budget 1500 ||
    die "the dry run failed with the kit (log: $CACHE/check-out/gpu_benchmark.log)"
grep -q '^\[kit\] installing' "$CACHE/check-out/gpu_benchmark.log" ||
    die "the dry run did not install the kit: the check venv already had the stack"
say "check: import mmdmtl, build the PASCAL-Context model, one forward pass"
PYTHONPATH=$SITE:$ROOT OMP_NUM_THREADS=1 "$CPY" - "$SITE" <<'EOF'
import os.path as osp
import sys

import torch

site = sys.argv[1]
sys.path.insert(0, 'tools/analysis_tools')
import mmcv.ops  # noqa: E402,F401
import mmdmtl  # noqa: E402
from mmengine.config import Config  # noqa: E402

import benchmark  # noqa: E402
from mmdmtl.utils import register_all_modules  # noqa: E402

for mod in (mmcv.ops, __import__('mmengine'), __import__('mmseg'),
            __import__('mmpretrain')):
    assert osp.realpath(mod.__file__).startswith(osp.realpath(site)), \
        f'{mod.__name__} comes from {mod.__file__}, not from the kit'
register_all_modules(init_default_scope=True)
cfg = Config.fromfile(
    'configs/diffusionmtl/diffusionmtl-feature_r18_pascal-context_one-label.py')
mcfg = benchmark.model_cfg(cfg)
cpu = torch.device('cpu')
model = benchmark.build_model(mcfg, cpu).eval()
inputs, samples = benchmark.fake_batch(dict(mcfg['tasks']), 1, (128, 128),
                                       'full', cpu)
with torch.no_grad():
    out = model._predict_logits(inputs, samples)
assert set(out) == set(mcfg['tasks']), sorted(out)
for task, logits in out.items():
    assert logits.shape[-2:] == (128, 128) and torch.isfinite(logits).all(), task
params = sum(p.numel() for p in model.parameters())
print(f'[gpu_kit] PASCAL-Context model: {params / 1e6:.1f}M parameters, '
      f'forward at 128x128 gives {", ".join(f"{t} {tuple(v.shape)}" for t, v in out.items())}; '
      f'torch {torch.__version__}, mmcv {mmcv.__version__}, numpy '
      f'{__import__("numpy").__version__}')
EOF
echo "check: passed" >> "$KIT/MANIFEST.txt"
say "check passed; the kit: $KIT ($KIT_MIB MiB)"
