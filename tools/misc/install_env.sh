#!/usr/bin/env bash
# Creates ./.venv with the pinned OpenMMLab stack and mmdmtl in editable mode.
# Idempotent: a stamp keyed by the requirement files makes a second run take seconds.
# mmcv 2.1.0 has no wheels for recent torch, so it is built from source WITH ops and the
# built wheel is cached keyed by the torch version (pip's own cache keys it by the sdist
# only, which gives "_ext undefined symbol" after a torch change).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python3.11}
VENV=${VENV:-.venv}
TORCH_VERSION=${TORCH_VERSION:-2.9.1}
TORCHVISION_VERSION=${TORCHVISION_VERSION:-0.24.1}
WHEEL_CACHE=${MMDMTL_WHEEL_CACHE:-$HOME/.cache/mmdmtl/wheels}

stamp_key() {
  cat requirements/*.txt setup.py tools/misc/install_env.sh | sha1sum | cut -c1-16
  echo "torch=$TORCH_VERSION tv=$TORCHVISION_VERSION"
}
STAMP="$VENV/.mmdmtl-install-stamp"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(stamp_key)" ]; then
  echo "[install] $VENV is up to date (delete $STAMP to force a reinstall)"
  exit 0
fi

if ! command -v "$PY" >/dev/null 2>&1; then
  echo "[install] $PY not found: mmdmtl needs Python 3.11 (set PYTHON=/path/to/python3.11)" >&2
  exit 1
fi
[ -x "$VENV/bin/python" ] || { echo "[install] creating $VENV"; "$PY" -m venv "$VENV"; }
PIP="$VENV/bin/python -m pip"
$PIP install -q --upgrade pip "setuptools>=77,<81" wheel ninja

echo "[install] torch==$TORCH_VERSION torchvision==$TORCHVISION_VERSION"
$PIP install -q "torch==$TORCH_VERSION" "torchvision==$TORCHVISION_VERSION"

CUDA_TAG=$("$VENV/bin/python" -c "import torch; print('cu' + torch.version.cuda.replace('.', '') if torch.cuda.is_available() else 'cpuops')")
MMCV_DIR="$WHEEL_CACHE/torch-$TORCH_VERSION-$CUDA_TAG"
if ! "$VENV/bin/python" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '2.1.0'" >/dev/null 2>&1; then
  if ! ls "$MMCV_DIR"/mmcv-2.1.0-*.whl >/dev/null 2>&1; then
    echo "[install] building mmcv 2.1.0 with ops against torch $TORCH_VERSION ($CUDA_TAG); about 5 minutes on 2 cores"
    mkdir -p "$MMCV_DIR"
    # Python's own CFLAGS carry -g: debug info doubles the compile time of every op
    # (measured: 19 s -> 10 s per source file here) and nobody debugs mmcv's ops.
    # -g0 comes last and wins; a CFLAGS of the user's is kept as it is.
    MMCV_CFLAGS=${CFLAGS:-"$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_config_var("CFLAGS") or "")') -g0"}
    CFLAGS="$MMCV_CFLAGS" MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
      $PIP wheel -q --no-build-isolation --no-deps --no-cache-dir mmcv==2.1.0 -w "$MMCV_DIR"
  fi
  $PIP install -q --no-deps "$MMCV_DIR"/mmcv-2.1.0-*.whl
  $PIP install -q addict packaging pyyaml yapf
fi

echo "[install] OpenMMLab stack, runtime and test requirements"
$PIP install -q -r requirements/runtime.txt -r requirements/tests.txt \
  mmengine==0.10.7 mmsegmentation==1.2.2 mmpretrain==1.2.0
$PIP install -q --no-deps -e .
"$VENV/bin/python" -c "import mmdmtl, mmseg, mmpretrain, mmcv.ops; print('[install] ok: mmdmtl', mmdmtl.__version__)"
stamp_key > "$STAMP"
