#!/usr/bin/env bash
# The speed table on a GPU, in one command (a few minutes on an H100/H200):
#
#   tools/analysis_tools/gpu_benchmark.sh [OUT_DIR] [extra benchmark.py args]
#
# 1. the bare step (tools/analysis_tools/benchmark.py) at the official shape:
#    PASCAL-Context feature diffusion, batch 6, 512x512, one-label; modes fp32 and
#    fast (bf16 autocast where torch.cuda.is_bf16_supported(), else fp16;
#    channels_last; Conv+BN folding at inference) plus --compile
#    (fast + torch.compile); inference at batch 1 for S = 1, 2, 3 and the MTL
#    baseline. The per-sample loop is left out (minutes on its own; add
#    "--train-modes loop fp32 fast --infer-modes loop fp32 fast" to time it).
# 2. end to end through the tools (tools/analysis_tools/benchmark_tools.py):
#    tools/train.py vs --amp and tools/test.py vs --fast on generated
#    SyntheticScenes at 512x512, batch 6.
#
# Writes OUT_DIR/bare_step.{md,json}, OUT_DIR/tools.{md,json} and OUT_DIR/gpu.md
# (both tables, the GPU named); nothing is downloaded (random weights).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-work_dirs/gpu_benchmark}
shift || true
PY=${PYTHON:-python}
CONFIG=configs/diffusionmtl/diffusionmtl-feature_r18_pascal-context_one-label.py
mkdir -p "$OUT"
if ! "$PY" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    echo "gpu_benchmark.sh: torch sees no CUDA device; this script is for a GPU" \
         "machine (on CPU run tools/analysis_tools/benchmark.py directly)" >&2
    exit 1
fi

"$PY" tools/analysis_tools/benchmark.py "$CONFIG" \
    --device cuda --batch-size 6 --infer-batch-size 1 --shape 512 512 \
    --train-modes fp32 fast --infer-modes fp32 fast --steps 1 2 3 --compile \
    --warmup 2 --repeats 10 \
    --out-json "$OUT/bare_step.json" --out-md "$OUT/bare_step.md" "$@"

"$PY" tools/analysis_tools/benchmark_tools.py \
    configs/diffusionmtl/demo_diffusionmtl-feature_synthetic_one-label.py \
    --num-train 96 --num-val 48 --size 512 512 --batch-size 6 --workers 4 \
    --iters 40 --skip-iters 10 --work-dir "$OUT/tools" \
    --data-root "$OUT/tools/data" \
    --cfg-options model.channels=512 model.backbone.base_channels=64 \
    model.backbone.stem_channels=64 'model.neck.in_channels=[64,128,256,512]' \
    --out-json "$OUT/tools.json" --out-md "$OUT/tools.md"

{
    echo "# GPU benchmark ($("$PY" -c 'import torch; print(torch.cuda.get_device_name(0))'))"
    echo
    echo "## Bare step at the official shape"
    echo
    cat "$OUT/bare_step.md"
    echo
    echo "## End to end through tools/train.py and tools/test.py"
    echo
    cat "$OUT/tools.md"
} > "$OUT/gpu.md"
echo "tables in $OUT/gpu.md"
