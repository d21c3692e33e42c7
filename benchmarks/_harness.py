"""Shared benchmark harness: warm-up, compile time apart from run time, medians, environment rows.

Every benchmark script in this folder builds a list of :class:`Row` and calls :func:`write_results`,
which writes ``results/<name>.json`` and ``results/<name>.md`` and prints the Markdown table.

Usage::

    timing = time_call(lambda: estimator(x, y), repeats=5)   # first call = compile + run
    rows.append(Row(name="ksg", impl="cch_jax", params={"n": n}, timing=timing, value=est))
"""

from __future__ import annotations

import dataclasses
import datetime
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"
# The bmi anchor needs jax 0.4.33: it runs in its own environment (benchmarks/anchors/setup_bmi_env.sh).
BMI_PYTHON = Path(
    os.environ.get(
        "BMI_PYTHON", Path(__file__).resolve().parent.parent / ".venv-bmi" / "bin" / "python"
    )
)


@dataclasses.dataclass(frozen=True)
class Timing:
    """Wall times in seconds. ``first_s`` is the first call (compile + run for jitted code)."""

    first_s: float
    runs_s: tuple[float, ...]

    @property
    def median_s(self) -> float:
        return statistics.median(self.runs_s)

    @property
    def compile_s(self) -> float:
        """First call minus a steady-state call: the cost of tracing and compiling."""
        return max(self.first_s - self.median_s, 0.0)


def block(x: Any) -> Any:
    """Waits for every JAX array in ``x`` (no-op for other objects)."""
    try:
        import jax

        return jax.block_until_ready(x)
    except ImportError:  # environments without JAX (e.g. the PyTorch anchor)
        return x


def time_call(
    fn: Callable[[], Any], *, repeats: int = 5, warmup: bool = True
) -> tuple[Timing, Any]:
    """Times ``fn()``: one first call (compile), then ``repeats`` steady-state calls.

    Returns the timing and the value of the last call.
    """
    t0 = time.perf_counter()
    out = block(fn())
    first = time.perf_counter() - t0
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = block(fn())
        runs.append(time.perf_counter() - t0)
    return Timing(first_s=first, runs_s=tuple(runs)), out


def time_command(
    cmd: Sequence[str], *, repeats: int = 5, env: dict | None = None, cwd=None
) -> Timing:
    """Times a whole process, launch to exit, ``repeats`` times (each run is a cold start)."""
    runs = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, env=env, cwd=cwd)
        runs.append(time.perf_counter() - t0)
    return Timing(first_s=runs[0], runs_s=tuple(runs))


def run_anchor(
    script: Path, arrays: dict[str, Any], args: Sequence[str], *, python: Path = BMI_PYTHON
) -> dict[str, Any] | None:
    """Runs an anchor script under another environment's ``python`` (on the CPU).

    Each array is saved as float64 .npy and passed as ``--NAME path``; the script writes its result
    as JSON to ``--out path``, which is returned. Returns None (and says why) if ``python`` is missing.
    """
    import numpy as np

    if not Path(python).exists():
        print(f"anchor environment missing ({python}); run benchmarks/anchors/setup_bmi_env.sh")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [str(python), str(script)]
        for name, array in arrays.items():
            np.save(f"{tmp}/{name}.npy", np.asarray(array, np.float64))
            cmd += [f"--{name}", f"{tmp}/{name}.npy"]
        cmd += [*args, "--out", f"{tmp}/out.json"]
        env = {**os.environ, "JAX_PLATFORMS": "cpu"}
        subprocess.run(cmd, check=True, capture_output=True, env=env)
        return json.loads(Path(f"{tmp}/out.json").read_text())


def environment() -> dict[str, str]:
    """Device kind, core count, package versions and ``XLA_FLAGS`` (e.g. the CPU-convolution
    opt-in, ``cch_jax.kd.use_fast_cpu_convolutions``), attached to every result row."""
    info = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": str(os.cpu_count()),
    }
    if os.environ.get("XLA_FLAGS"):
        info["xla_flags"] = os.environ["XLA_FLAGS"]
    for pkg in ("jax", "jaxlib", "flax", "optax", "numpy", "scipy", "scikit-learn", "torch"):
        try:
            info[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            pass
    try:
        import jax

        dev = jax.devices()[0]
        info["backend"] = jax.default_backend()
        info["device"] = getattr(dev, "device_kind", str(dev))
        info["n_devices"] = str(jax.device_count())
    except ImportError:
        info["device"] = platform.processor() or "cpu"
    return info


@dataclasses.dataclass
class Row:
    """One measured configuration of one implementation."""

    name: str
    impl: str
    params: dict[str, Any]
    timing: Timing | None = None
    value: float | None = None
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
    env: dict[str, str] = dataclasses.field(default_factory=environment)

    def as_dict(self) -> dict[str, Any]:
        d = {
            "name": self.name,
            "impl": self.impl,
            **{f"param.{k}": v for k, v in self.params.items()},
        }
        if self.timing is not None:
            d.update(
                first_s=round(self.timing.first_s, 6),
                compile_s=round(self.timing.compile_s, 6),
                median_s=round(self.timing.median_s, 6),
                runs_s=[round(t, 6) for t in self.timing.runs_s],
            )
        if self.value is not None:
            d["value"] = float(self.value)
        d.update(self.extra)
        d["env"] = self.env
        return d


def ratio(slow: Row, fast: Row) -> float:
    """How many times faster ``fast`` runs than ``slow`` (steady-state medians)."""
    return slow.timing.median_s / fast.timing.median_s


def to_markdown(rows: Sequence[Row]) -> str:
    """A Markdown table: params, compile, median run time, value, extras; environment below."""
    dicts = [r.as_dict() for r in rows]
    skip = {"env", "runs_s", "first_s"}
    cols: list[str] = []
    for d in dicts:
        cols += [c for c in d if c not in skip and c not in cols]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for d in dicts:
        lines.append("| " + " | ".join(_fmt(d.get(c, "")) for c in cols) + " |")
    envs = {json.dumps(r.env, sort_keys=True) for r in rows}
    for e in sorted(envs):
        lines.append("")
        lines.append("Environment: " + ", ".join(f"{k}={v}" for k, v in json.loads(e).items()))
    return "\n".join(lines)


def write_results(name: str, rows: Sequence[Row], *, notes: str = "") -> Path:
    """Writes ``results/<name>.json`` and ``results/<name>.md``, prints the table; returns the .md path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    payload = {
        "benchmark": name,
        "time": stamp,
        "argv": sys.argv,
        "rows": [r.as_dict() for r in rows],
    }
    (RESULTS_DIR / f"{name}.json").write_text(json.dumps(payload, indent=2) + "\n")
    md = f"# {name}\n\nMeasured {stamp} with `{' '.join(sys.argv)}`.\n\n{to_markdown(rows)}\n"
    if notes:
        md += f"\n{notes}\n"
    path = RESULTS_DIR / f"{name}.md"
    path.write_text(md)
    print(md)
    return path


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)
