"""JAX's persistent compilation cache for the ``cch`` command and the test suite, and a counter of
compilations.

Most of a short ``cch`` call on a 2-core CPU is XLA compiling the same programs as the last call
(the KSG search, the estimators' training loops, the KD trainer). JAX can keep compiled programs on
disk and load them in a later process; :func:`enable` switches that on for this process:

- folder: ``$CCH_JAX_COMPILE_CACHE`` if set, else ``$XDG_CACHE_HOME/cch_jax/jax`` (by default
  ``~/.cache/cch_jax/jax``); entries are a few kB to a few MB each, and JAX evicts nothing, so the
  folder may be deleted at any time (it is only a cache);
- every program is cached (minimum compile time 0 s, minimum entry size 0 bytes), since on a CPU
  even the 0.1 s compilations add up;
- opt-out: ``cch --no-compile-cache ...`` or ``CCH_JAX_NO_COMPILE_CACHE=1``.

Pitfalls (why a second run may still compile):

- the cache key holds the program, the jax/jaxlib versions, the devices and the compile options,
  ``XLA_FLAGS`` included: the CLI's faster CPU convolutions (:mod:`cch_jax._xla_cpu`) change
  ``XLA_FLAGS``, so programs compiled by ``cch`` and by a Python session without that flag are
  cached apart, as are a different ``jax_num_cpu_devices`` (the test suite forces 4);
- it must be configured before the first compilation of the process; :func:`enable` refuses
  silently (returns ``None``) when ``jax_compilation_cache_dir`` is already set to another
  folder by the user;
- it caches XLA's compiled programs, not the Python-side tracing and lowering, which are paid
  again by each process (a few tenths of a second for the larger programs).

Importing this module imports only the standard library; :func:`enable` imports JAX.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_DIR = "CCH_JAX_COMPILE_CACHE"
ENV_OFF = "CCH_JAX_NO_COMPILE_CACHE"

# jax.monitoring event names (jax 0.10): one backend compilation (including one answered by the
# persistent cache), and the persistent cache's own hits and misses.
_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"
_HIT_EVENT = "/jax/compilation_cache/cache_hits"
_MISS_EVENT = "/jax/compilation_cache/cache_misses"


def default_dir() -> Path:
    """The per-user cache folder: ``$CCH_JAX_COMPILE_CACHE``, else ``$XDG_CACHE_HOME/cch_jax/jax``
    (``~/.cache/cch_jax/jax`` when ``XDG_CACHE_HOME`` is unset)."""
    if os.environ.get(ENV_DIR):
        return Path(os.environ[ENV_DIR]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "cch_jax" / "jax"


def disabled_by_env() -> bool:
    """True when ``CCH_JAX_NO_COMPILE_CACHE`` is set to anything but ``""``, ``0`` or ``false``."""
    return os.environ.get(ENV_OFF, "").strip().lower() not in ("", "0", "false", "no")


def enable(path: str | os.PathLike | None = None) -> Path | None:
    """Turns JAX's persistent compilation cache on for this process, caching every program.

    Args:
      path: the cache folder (created if missing); None: :func:`default_dir`.

    Returns:
      The folder in use, or None when the cache stays off: ``CCH_JAX_NO_COMPILE_CACHE`` is set, the
      folder cannot be created, or the process already uses another folder.
    """
    if disabled_by_env():
        return None
    folder = Path(path).expanduser() if path is not None else default_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    import jax

    current = jax.config.jax_compilation_cache_dir
    if current and Path(current) != folder:
        return None
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return folder


class CompileCounter:
    """Counts XLA compilations and persistent-cache hits and misses while it is active.

    Use as a context manager; the counts are attributes (ints): ``compiles`` (backend compilations
    requested, a persistent-cache hit included; zero when every program came from JAX's in-memory
    cache), ``cache_hits`` and ``cache_misses`` (the persistent cache's), and ``compile_s`` (their
    total seconds). JAX's monitoring listeners cannot be removed one by one, so each counter
    registers once and only counts while inside its ``with`` block.
    """

    def __init__(self):
        self.compiles = 0
        self.cache_hits = 0
        self.cache_misses = 0
        self.compile_s = 0.0
        self._active = False
        self._registered = False

    def _on_duration(self, event: str, seconds: float, **_) -> None:
        if self._active and event == _COMPILE_EVENT:
            self.compiles += 1
            self.compile_s += float(seconds)

    def _on_event(self, event: str, **_) -> None:
        if not self._active:
            return
        if event == _HIT_EVENT:
            self.cache_hits += 1
        elif event == _MISS_EVENT:
            self.cache_misses += 1

    def __enter__(self) -> CompileCounter:
        if not self._registered:
            from jax import monitoring

            monitoring.register_event_duration_secs_listener(self._on_duration)
            monitoring.register_event_listener(self._on_event)
            self._registered = True
        self._active = True
        return self

    def __exit__(self, *exc) -> None:
        self._active = False

    def as_dict(self) -> dict:
        """``{"compiles", "cache_hits", "cache_misses", "compile_s"}`` (JSON-able)."""
        return {
            "compiles": self.compiles,
            "cache_hits": self.cache_hits,
            "cache_misses": self.cache_misses,
            "compile_s": round(self.compile_s, 3),
        }
