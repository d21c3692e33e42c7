"""Safe reading of user arrays for the CLI: ``.npy`` files and ``.npz:key`` members, never pickles.

Every problem (missing file, folder, empty file, not a NumPy file, object/pickled data, missing
``.npz`` member, wrong rank, no rows) is a ``ValueError`` whose message starts with the argument's
name and never suggests loading pickles. ``numpy.load`` is always called with
``allow_pickle=False``, and only after the file's magic bytes show it is a ``.npy`` or ``.npz``.

Public helpers (for ``cch`` subcommands): :func:`parse_array_spec`, :func:`load_array`,
:func:`open_array` (a validated ``.npy`` as a read-only memory map), and the output checks
:func:`output_dir` and :func:`output_file` (:mod:`cch_jax._files`), to call before any work starts.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Sequence
from pathlib import Path

from cch_jax import _files

_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"
_EMPTY_ZIP_MAGIC = b"PK\x05\x06"


def output_dir(name: str, path) -> Path:
    """Creates the output folder and proves it writable (:func:`cch_jax._files.output_dir`).

    Args:
      name: the argument's name (e.g. ``"--out"``), used in error messages.
      path: a folder path.

    Returns:
      The folder as a ``Path``.
    """
    return _files.output_dir(name, path)


def output_file(name: str, path) -> Path:
    """Checks that the file ``path`` can be written (:func:`cch_jax._files.output_file`).

    Args:
      name: the argument's name (e.g. ``"--json"``), used in error messages.
      path: a file path.

    Returns:
      The file path as a ``Path``.
    """
    return _files.output_file(name, path)


def _reason(err: BaseException) -> str:
    """First line of an error, never passing on numpy's hint to load pickles."""
    text = (str(err).splitlines() or [type(err).__name__])[0][:120]
    return "truncated or corrupt" if "pickle" in text.lower() else text


def parse_array_spec(spec) -> tuple[Path, str | None]:
    """Splits ``"data.npz:key"`` into (path, key); ``"data.npy"`` and ``"data.npz"`` give key None.

    A ``:`` only separates a member name after a ``.npz`` suffix, so paths containing colons
    elsewhere are read as given.
    """
    text = os.fspath(spec)
    lowered = text.lower()
    idx = lowered.rfind(".npz:")
    if idx >= 0:
        return Path(text[: idx + 4]), text[idx + 5 :]
    return Path(text), None


def _describe_dtype_problem(dtype) -> str | None:
    import numpy as np

    if dtype.hasobject:
        return "holds Python objects (dtype object); only numeric arrays can be read"
    if dtype.names is not None:
        return f"holds a structured array (fields {', '.join(dtype.names)}); expected numbers"
    if not (dtype == np.bool_ or np.issubdtype(dtype, np.number)):
        return f"holds dtype {dtype}; expected numbers"
    if np.issubdtype(dtype, np.complexfloating):
        return f"holds complex numbers (dtype {dtype}); expected real numbers"
    return None


def _read_npy_header(name: str, path: Path, handle):
    """Reads a .npy header without loading data: (shape, dtype)."""
    import numpy as np

    try:
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
    except Exception as err:  # any header problem: corrupt file, not a user bug in our code
        raise ValueError(
            f"{name}: cannot read {str(path)!r} as .npy (bad header: {_reason(err)})"
        ) from None
    return shape, dtype


def load_array(
    name: str,
    spec,
    *,
    ndims: Sequence[int] | None = None,
    min_rows: int = 1,
):
    """Loads a numeric NumPy array from ``path.npy`` or ``path.npz[:key]`` without ever unpickling.

    Args:
      name: the argument's name, used in error messages (e.g. ``"x"`` or ``"--teacher"``).
      spec: ``"file.npy"``, ``"file.npz:key"``, or ``"file.npz"`` holding exactly one array.
      ndims: allowed numbers of dimensions, or None for any.
      min_rows: fewest rows (length of the first axis) allowed; 0 to allow empty arrays.

    Returns:
      The array (``numpy.ndarray``; bool, integer or float dtype).
    """
    import numpy as np

    path, key = parse_array_spec(spec)
    shown = repr(str(path))
    if not path.exists():
        raise ValueError(f"{name}: no such file {shown}")
    if path.is_dir():
        raise ValueError(f"{name}: {shown} is a folder, not a .npy/.npz file")
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            magic = f.read(6)
    except OSError as err:
        raise ValueError(f"{name}: cannot open {shown} ({err.strerror})") from None
    if size == 0:
        raise ValueError(f"{name}: {shown} is empty (0 bytes)")

    if magic.startswith(_NPY_MAGIC):
        if key is not None:
            raise ValueError(f"{name}: {shown} is a .npy file; ':{key}' applies only to .npz")
        with open(path, "rb") as f:
            _, dtype = _read_npy_header(name, path, f)
        problem = _describe_dtype_problem(dtype)
        if problem:
            raise ValueError(f"{name}: {shown} {problem}")
        try:
            arr = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError) as err:
            raise ValueError(f"{name}: cannot read {shown} as .npy ({_reason(err)})") from None
    elif magic.startswith(_ZIP_MAGIC) or magic.startswith(_EMPTY_ZIP_MAGIC):
        arr = _load_npz_member(name, path, key)
    else:
        raise ValueError(
            f"{name}: {shown} is not a NumPy .npy or .npz file (save arrays with numpy.save or "
            f"numpy.savez)"
        )

    if ndims is not None and arr.ndim not in ndims:
        raise ValueError(
            f"{name}: expected {' or '.join(map(str, ndims))} dimensions, got shape {arr.shape} "
            f"in {shown}"
        )
    rows = arr.shape[0] if arr.ndim else 1
    if rows < min_rows:
        raise ValueError(
            f"{name}: expected at least {min_rows} row(s), got shape {arr.shape} in {shown}"
        )
    return arr


def open_array(name: str, spec, *, ndims: Sequence[int] | None = None):
    """A numeric array from ``path.npy`` as a read-only memory map (rows are read only when
    used); ``path.npz[:key]`` members, which cannot be mapped, are loaded whole.

    The file is validated like :func:`load_array` (magic bytes, header dtype, never unpickling)
    from its header alone, before anything is mapped.

    Args:
      name: the argument's name, used in error messages (e.g. ``"--student"``).
      spec: ``"file.npy"``, ``"file.npz:key"``, or ``"file.npz"`` holding exactly one array.
      ndims: allowed numbers of dimensions, or None for any.

    Returns:
      A ``numpy.memmap`` (mode ``"r"``) for a ``.npy`` file, else a ``numpy.ndarray``; never
      empty (no zero-length axis).
    """
    import numpy as np

    path, key = parse_array_spec(spec)
    is_npy = False
    if key is None and path.is_file():
        with open(path, "rb") as f:
            is_npy = f.read(6) == _NPY_MAGIC
    if not is_npy:
        return load_array(name, spec, ndims=ndims)
    shown = repr(str(path))
    with open(path, "rb") as f:
        shape, dtype = _read_npy_header(name, path, f)
    problem = _describe_dtype_problem(dtype)
    if problem:
        raise ValueError(f"{name}: {shown} {problem}")
    if ndims is not None and len(shape) not in ndims:
        raise ValueError(
            f"{name}: expected {' or '.join(map(str, ndims))} dimensions, got shape {shape} "
            f"in {shown}"
        )
    if 0 in shape:
        raise ValueError(f"{name}: {shown} is empty (shape {shape})")
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        raise ValueError(f"{name}: cannot read {shown} as .npy ({_reason(err)})") from None


def _load_npz_member(name: str, path: Path, key: str | None):
    import numpy as np

    shown = repr(str(path))
    # Open the file ourselves: numpy leaks the handle when the zip is corrupt.
    with open(path, "rb") as handle:
        try:
            archive = np.load(handle, allow_pickle=False)
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
            raise ValueError(f"{name}: cannot read {shown} as .npz ({_reason(err)})") from None
        with archive:
            return _read_member(name, path, archive, key)


def _read_member(name: str, path: Path, archive, key: str | None):
    shown = repr(str(path))
    keys = list(archive.files)
    if key is None:
        if len(keys) != 1:
            listed = ", ".join(keys) if keys else "no arrays"
            raise ValueError(
                f"{name}: {shown} holds {len(keys)} arrays ({listed}); choose one with {path}:KEY"
            )
        key = keys[0]
    elif key not in keys:
        listed = ", ".join(keys) if keys else "no arrays"
        raise ValueError(f"{name}: {shown} has no array {key!r}; it holds: {listed}")
    try:
        with archive.zip.open(key + ".npy") as member:
            _, dtype = _read_npy_header(name, path, member)
    except KeyError:
        dtype = None
    if dtype is not None:
        problem = _describe_dtype_problem(dtype)
        if problem:
            raise ValueError(f"{name}: {shown}:{key} {problem}")
    try:
        return archive[key]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"{name}: cannot read {shown}:{key} ({_reason(err)})") from None
