#!/usr/bin/env bash
# Creates .venv-torch with a CPU build of PyTorch 2.13.0 and numpy, for the KD trainer's anchor
# (benchmarks/anchors/torch_cnn.py). Pin the exact version: 2.13.0 resolves to the CPU wheel;
# other versions pull a multi-GB CUDA build.
# Usage: bash benchmarks/anchors/setup_torch_env.sh   (idempotent; prints the env's python path)
set -euo pipefail
cd "$(dirname "$0")/../.."
ENV=${TORCH_ENV:-.venv-torch}
if [ ! -x "$ENV/bin/python" ] || ! "$ENV/bin/python" -c "import torch, numpy" 2>/dev/null; then
  python3 -m venv "$ENV"
  "$ENV/bin/python" -m pip install --quiet --upgrade pip
  "$ENV/bin/python" -m pip install --quiet "torch==2.13.0" numpy
fi
echo "$ENV/bin/python"
