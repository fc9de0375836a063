#!/usr/bin/env bash
# mmdmtl's speed on a GPU in one command (about 8 minutes on an H100):
#
#   tools/analysis_tools/gpu_benchmark.sh [--out DIR] [--device cuda|cpu]
#       [--kit DIR] [--site DIR] [--budget SECONDS] [--no-tools]
#       [-- extra tools/analysis_tools/benchmark.py args]
#
# 0. The stack: when mmcv (with ops), mmengine, mmseg, mmpretrain and mmdmtl's
#    own requirements do not import, the wheels of the kit (--kit, default
#    .gpu_kit, made on a CPU machine by tools/misc/gpu_kit.sh) are installed
#    with `pip install --no-index --no-deps --target SITE` (--site, default
#    $TMPDIR/mmdmtl_gpu_site) and SITE goes first on PYTHONPATH; when they
#    import (a full install, the test suite), nothing is installed.
# 1. The bare step (tools/analysis_tools/benchmark.py) at the official shape:
#    PASCAL-Context feature diffusion, batch 6, 512x512, one-label; training
#    step and inference at batch 1 for the per-sample loop (the published
#    code's loop structure, mmdmtl/testing/reference_denoiser.py), mmdmtl fp32,
#    AMP (bf16 where torch.cuda.is_bf16_supported(); channels_last; Conv+BN
#    folding at inference) and AMP + torch.compile, all in this one process;
#    inference also for S = 1, 2, 3 and the MTL baseline; peak GPU memory
#    (torch.cuda.max_memory_allocated) and MFU from the counted FLOPs.
# 2. If at least 150 s of the --budget (default 480 s) are left: end to end
#    through tools/train.py (vs --amp) and tools/test.py (vs --fast) on
#    generated SyntheticScenes at 512x512, batch 6 (benchmark_tools.py), cut
#    off at the budget. Its data and checkpoints go to $TMPDIR, not to --out.
# The bare step is cut off at the budget too (what it measured is kept).
#
# Writes to --out (default work_dirs/gpu_benchmark): gpu.md (summary and all
# tables, the GPU named), bare_step.{json,md}, tools.{json,md} when part 2 ran,
# env.txt and gpu_benchmark.log. Nothing is downloaded (random weights).
#
# --device cpu is a dry run of the same steps at a tiny size (the demo model,
# 64x64, one repeat, torch.compile with the aot_eager backend, part 2 left
# out), which the test suite runs: it checks the script, it measures nothing
# (CPU numbers: run benchmark.py directly, see docs/results.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
PY=${PYTHON:-python3}
OUT_DIR=work_dirs/gpu_benchmark
DEVICE=cuda
KIT=.gpu_kit
SITE=${TMPDIR:-/tmp}/mmdmtl_gpu_site
BUDGET=480
TOOLS=1
EXTRA=()
die() { echo "gpu_benchmark.sh: error: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
    case "$1" in
        --out) OUT_DIR=${2:?--out needs a folder}; shift 2 ;;
        --device) DEVICE=${2:?--device needs cuda or cpu}; shift 2 ;;
        --kit) KIT=${2:?--kit needs a folder}; shift 2 ;;
        --site) SITE=${2:?--site needs a folder}; shift 2 ;;
        --budget) BUDGET=${2:?--budget needs seconds}; shift 2 ;;
        --no-tools) TOOLS=0; shift ;;
        --) shift; EXTRA=("$@"); break ;;
        -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done
case "$DEVICE" in cuda|cpu) ;; *) die "--device is cuda or cpu, not '$DEVICE'" ;; esac
[[ "$BUDGET" =~ ^[0-9]+$ ]] || die "--budget is whole seconds, not '$BUDGET'"
mkdir -p "$OUT_DIR"
OUT_DIR=$(cd "$OUT_DIR" && pwd)
LOG=$OUT_DIR/gpu_benchmark.log
: > "$LOG"
say() { echo "$*" | tee -a "$LOG"; }
left() { echo $((BUDGET - SECONDS)); }

# ---- 0. the stack, from the kit where it does not import
PYPATH=$ROOT${PYTHONPATH:+:$PYTHONPATH}
# Imports the stack and prints the versions (for env.txt); one Python start.
probe() {
    PYTHONPATH=$PYPATH "$PY" - 2>&1 <<'EOF'
import importlib, os, platform
import mmcv.ops, mmdmtl.evaluation, mmdmtl.models  # noqa: F401 -- the probe
import torch
print(f'python: {platform.python_version()}; torch: {torch.__version__} '
      f'(CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}); '
      f'cpus: {os.cpu_count()}')
for name in ('mmcv', 'mmengine', 'mmseg', 'mmpretrain', 'numpy'):
    m = importlib.import_module(name)
    print(f'{name}: {m.__version__} ({m.__file__.rsplit("/", 2)[0]})')
EOF
}
if ! err=$(probe); then
    compgen -G "$KIT/*.whl" >/dev/null || die "the stack does not import" \
        "($(echo "$err" | tail -n 1)) and $KIT holds no wheels: build the kit" \
        "on a CPU machine with tools/misc/gpu_kit.sh and carry .gpu_kit"
    say "[kit] installing the $(compgen -G "$KIT/*.whl" | wc -l) wheels of $KIT into $SITE"
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
        --upgrade --target "$SITE" "$KIT"/*.whl 2>&1 | tee -a "$LOG"
    PYPATH=$SITE:$PYPATH
    err=$(probe) || die "the kit of $KIT is installed in $SITE but the stack" \
        "still does not import ($(echo "$err" | tail -n 1)); rebuild the kit" \
        "with tools/misc/gpu_kit.sh"
else
    say "[kit] the stack imports: nothing to install"
fi
export PYTHONPATH=$PYPATH

# ---- the machine
if [ "$DEVICE" = cuda ]; then
    "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' ||
        die "torch sees no CUDA device; this script is for a GPU machine" \
            "(--device cpu is a dry run; CPU numbers come from" \
            "tools/analysis_tools/benchmark.py)"
fi
{
    echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo 'unknown (no .git)')"
    echo "command: $0 --device $DEVICE --budget $BUDGET${EXTRA[*]:+ -- ${EXTRA[*]}}"
    if [ "$DEVICE" = cuda ] && command -v nvidia-smi >/dev/null; then
        nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm \
            --format=csv,noheader | sed 's/^/gpu: /'
    fi
    echo "$err"
} > "$OUT_DIR/env.txt"
tee -a "$LOG" < "$OUT_DIR/env.txt"

# ---- 1. the bare step
if [ "$DEVICE" = cuda ]; then
    CONFIG=configs/diffusionmtl/diffusionmtl-feature_r18_pascal-context_one-label.py
    SIZE=(--batch-size 6 --infer-batch-size 1 --shape 512 512 --steps 1 2 3
          --warmup 2 --repeats 10)
else
    CONFIG=configs/diffusionmtl/demo_diffusionmtl-feature_synthetic_one-label.py
    SIZE=(--batch-size 2 --infer-batch-size 1 --shape 64 64 --steps 1
          --warmup 0 --repeats 1 --threads 1 --compile-backend aot_eager
          --cfg-options model.channels=16 model.refine_head.num_heads=2
          model.backbone.stem_channels=8 model.backbone.base_channels=8
          'model.neck.in_channels=[8,16,32,64]')
    TOOLS=0
fi
NOTES=()
BARE_LIMIT=$(( $(left) - 30 ))
[ "$BARE_LIMIT" -gt 0 ] || die "--budget $BUDGET leaves no time for the bare step"
say "[bare step] $CONFIG on $DEVICE (cut off after ${BARE_LIMIT} s)"
set +e
PYTHONUNBUFFERED=1 timeout "$BARE_LIMIT" "$PY" tools/analysis_tools/benchmark.py \
    "$CONFIG" --device "$DEVICE" --setting one_label \
    --train-modes loop fp32 fast --infer-modes loop fp32 fast --compile \
    --out-json "$OUT_DIR/bare_step.json" --out-md "$OUT_DIR/bare_step.md" \
    "${SIZE[@]}" "${EXTRA[@]}" 2>&1 | tee -a "$LOG"
rc=${PIPESTATUS[0]}
set -e
if [ "$rc" = 124 ]; then
    NOTES+=("The bare step was cut off at ${BARE_LIMIT} s (the --budget): its table holds the modes measured by then.")
elif [ "$rc" != 0 ]; then
    NOTES+=("The bare step failed (exit $rc; see gpu_benchmark.log).")
fi

# ---- 2. end to end through the tools
if [ "$TOOLS" = 1 ] && [ "$rc" = 0 ] && [ "$(left)" -ge 150 ]; then
    TOOLS_DIR=${TMPDIR:-/tmp}/mmdmtl_gpu_benchmark_tools
    TOOLS_LIMIT=$(( $(left) - 20 ))
    say "[tools] tools/train.py and tools/test.py, 512x512 (cut off after ${TOOLS_LIMIT} s)"
    set +e
    PYTHONUNBUFFERED=1 timeout "$TOOLS_LIMIT" "$PY" tools/analysis_tools/benchmark_tools.py \
        configs/diffusionmtl/demo_diffusionmtl-feature_synthetic_one-label.py \
        --num-train 96 --num-val 48 --size 512 512 --batch-size 6 --workers 4 \
        --iters 40 --skip-iters 10 --work-dir "$TOOLS_DIR" \
        --data-root "$TOOLS_DIR/data" \
        --cfg-options model.channels=512 model.backbone.base_channels=64 \
        model.backbone.stem_channels=64 'model.neck.in_channels=[64,128,256,512]' \
        --out-json "$OUT_DIR/tools.json" --out-md "$OUT_DIR/tools.md" 2>&1 | tee -a "$LOG"
    trc=${PIPESTATUS[0]}
    set -e
    [ "$trc" = 0 ] || NOTES+=("The end-to-end part did not finish (exit $trc; 124: cut off at the --budget).")
elif [ "$TOOLS" = 1 ]; then
    NOTES+=("The end-to-end part was left out: $( [ "$rc" = 0 ] && echo "$(left) s of the --budget were left (it needs 150 s)" || echo "the bare step did not finish" ).")
fi

NOTES+=("Whole run: ${SECONDS} s (budget ${BUDGET} s).")
"$PY" tools/analysis_tools/gpu_report.py "$OUT_DIR" --note "${NOTES[@]}" >/dev/null
say "[done] ${SECONDS} s; tables in $OUT_DIR/gpu.md"
[ "$rc" = 0 ] || exit "$rc"
