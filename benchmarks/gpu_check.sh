#!/usr/bin/env bash
# The GPU check (issue 41): on a machine with one NVIDIA GPU (H100/H200) and Python 3.10+, in under
# 8 minutes: install what it needs, run the engine tests on the GPU (XLA; ONNX Runtime's CUDA
# provider when onnxruntime-gpu installs), and print speed rows against the CPU engine
# (benchmarks/gpu_speed.py: 512x512 and 2048x2048 inputs, x2, x3, x4, with and without the
# self-ensemble).
#
#   bash benchmarks/gpu_check.sh            # on the GPU machine, from anywhere
#   GPU_CHECK_DRY=1 bash benchmarks/gpu_check.sh   # no installs, small sizes: a dry run on a CPU
#
# Each step has its own time limit and says clearly when it could not run; the script goes on.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
DRY=${GPU_CHECK_DRY:-}
T0=$SECONDS
step() { echo; echo "=== $* ($((SECONDS - T0)) s so far)"; }

step "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "nvidia-smi: no NVIDIA GPU visible"
$PY --version

if [ -z "$DRY" ]; then
  step "install requirements (TensorFlow with its CUDA libraries)"
  # tensorflow[and-cuda] brings the CUDA and cuDNN wheels TensorFlow needs to see the GPU.
  TF_PIN=$(grep -E '^tensorflow==' requirements.txt | cut -d' ' -f1)
  if ! timeout 240 $PY -m pip install -q -r requirements.txt -r requirements-dev.txt "${TF_PIN/tensorflow/tensorflow[and-cuda]}"; then
    echo "WARNING: pip could not install everything (no network?); going on with what is installed"
  fi
  step "ONNX Runtime's CUDA provider (onnxruntime-gpu replaces onnxruntime: one may be installed)"
  ORT_VERSION=$($PY -c "import onnxruntime; print(onnxruntime.__version__)" 2>/dev/null)
  if timeout 120 $PY -m pip install -q "onnxruntime-gpu==${ORT_VERSION}" 2>/dev/null || timeout 120 $PY -m pip install -q onnxruntime-gpu; then
    $PY -m pip uninstall -q -y onnxruntime >/dev/null 2>&1
    $PY -m pip install -q --force-reinstall --no-deps onnxruntime-gpu >/dev/null 2>&1 || true
  else
    echo "onnxruntime-gpu did not install: ONNX Runtime runs on the CPU only in this check"
  fi
fi

step "what sees the GPU"
$PY - <<'PY'
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
try:
    import tensorflow as tf
    print("TensorFlow", tf.__version__, "GPUs:", [d.name for d in tf.config.list_logical_devices("GPU")] or "none")
except Exception as e:
    print("TensorFlow cannot be imported:", e)
try:
    import onnxruntime as ort
    print("ONNX Runtime", ort.__version__, "providers:", ort.get_available_providers())
except Exception as e:
    print("ONNX Runtime cannot be imported:", e)
PY

step "engine tests (XLA and ONNX Runtime on the GPU where they can use it; OpenVINO on the CPU)"
timeout 180 $PY -m pytest -q -s -p no:cacheprovider tests/test_engines.py 2>&1 | grep -E "^engine |passed|failed|error|Error" | tail -20
echo "engine tests exit status: ${PIPESTATUS[0]}"

step "speed against the CPU engine"
if [ -n "$DRY" ]; then
  timeout 120 $PY benchmarks/gpu_speed.py --sizes 64 --scales 2 --repeat 1 --budget 60
else
  # What is left of 8 minutes, less a margin, is the speed rows' budget.
  BUDGET=$(( 450 - (SECONDS - T0) ))
  [ "$BUDGET" -lt 60 ] && BUDGET=60
  timeout $((BUDGET + 60)) $PY benchmarks/gpu_speed.py --sizes 512 2048 --scales 2 3 4 --repeat 3 --budget "$BUDGET"
fi
echo "speed exit status: $?"
step "done"
