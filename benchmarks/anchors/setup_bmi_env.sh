#!/usr/bin/env bash
# Creates .venv-bmi with bmi (benchmark-mi), which needs jax 0.4.33, for the anchor comparisons.
# Usage: bash benchmarks/anchors/setup_bmi_env.sh   (idempotent; prints the env's python path)
set -euo pipefail
cd "$(dirname "$0")/../.."
ENV=${BMI_ENV:-.venv-bmi}
if [ ! -x "$ENV/bin/python" ] || ! "$ENV/bin/python" -c "import bmi" 2>/dev/null; then
  python3 -m venv "$ENV"
  "$ENV/bin/python" -m pip install --quiet --upgrade pip
  "$ENV/bin/python" -m pip install --quiet "jax==0.4.33" "jaxlib==0.4.33" benchmark-mi
fi
echo "$ENV/bin/python"
