"""The CLI's safe array loader: clear one-line errors, never pickles, never numpy's pickle hint."""

import pickle

import numpy as np
import pytest

from cch_jax._cli import _io


def test_parse_array_spec():
    assert _io.parse_array_spec("a/b.npz:train_x") == (_io.Path("a/b.npz"), "train_x")
    assert _io.parse_array_spec("a/b.NPZ:k") == (_io.Path("a/b.NPZ"), "k")
    assert _io.parse_array_spec("a/b.npz") == (_io.Path("a/b.npz"), None)
    assert _io.parse_array_spec("c:/x.npy") == (_io.Path("c:/x.npy"), None)


def test_loads_npy_and_npz(tmp_path):
    np.save(tmp_path / "a.npy", np.arange(6.0).reshape(3, 2))
    np.savez(tmp_path / "b.npz", x=np.ones((4, 2)), y=np.arange(4))
    np.savez(tmp_path / "c.npz", only=np.zeros(5, bool))
    assert _io.load_array("x", tmp_path / "a.npy", ndims=(1, 2)).shape == (3, 2)
    assert _io.load_array("x", f"{tmp_path}/b.npz:y").tolist() == [0, 1, 2, 3]
    assert _io.load_array("x", tmp_path / "c.npz").dtype == bool


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda d: d / "missing.npy", r"^x: no such file '.*missing.npy'$"),
        (lambda d: d, r"^x: '.*' is a folder, not a .npy/.npz file$"),
        (lambda d: _write(d / "e.npy", b""), r"^x: '.*e.npy' is empty \(0 bytes\)$"),
        (lambda d: _write(d / "t.txt", b"1 2 3\n"), r"^x: '.*t.txt' is not a NumPy .npy or .npz"),
        (
            lambda d: _write(d / "p.npy", pickle.dumps([1, 2])),
            r"^x: '.*p.npy' is not a NumPy .npy or .npz",
        ),
        (
            lambda d: (np.save(d / "o.npy", np.array([{}, 1], dtype=object)), d / "o.npy")[1],
            r"^x: '.*o.npy' holds Python objects \(dtype object\)",
        ),
        (
            lambda d: (np.save(d / "s.npy", np.array(["a", "b"])), d / "s.npy")[1],
            r"^x: '.*s.npy' holds dtype <U1; expected numbers",
        ),
        (
            lambda d: (np.save(d / "c.npy", np.ones(3, complex)), d / "c.npy")[1],
            r"^x: '.*c.npy' holds complex numbers",
        ),
        (
            lambda d: _write(d / "tr.npy", _npy_bytes(np.arange(100.0))[:-40]),
            r"^x: cannot read '.*tr.npy' as .npy \(",
        ),
        (
            lambda d: (np.save(d / "3d.npy", np.zeros((2, 3, 4))), d / "3d.npy")[1],
            r"^x: expected 1 or 2 dimensions, got shape \(2, 3, 4\)",
        ),
        (
            lambda d: (np.save(d / "z.npy", np.zeros((0, 3))), d / "z.npy")[1],
            r"^x: expected at least 1 row\(s\), got shape \(0, 3\)",
        ),
        (
            lambda d: (np.save(d / "a.npy", np.zeros(3)), f"{d}/a.npy:key")[1],
            r"^x: no such file '.*a.npy:key'",
        ),
        (
            lambda d: (np.savez(d / "m.npz", a=np.ones(2), b=np.ones(2)), d / "m.npz")[1],
            r"^x: '.*m.npz' holds 2 arrays \(a, b\); choose one with .*m.npz:KEY",
        ),
        (
            lambda d: (np.savez(d / "m.npz", a=np.ones(2)), f"{d}/m.npz:zz")[1],
            r"^x: '.*m.npz' has no array 'zz'; it holds: a$",
        ),
        (
            lambda d: (np.savez(d / "o.npz", a=np.array([None])), f"{d}/o.npz:a")[1],
            r"^x: '.*o.npz':a holds Python objects",
        ),
        (
            lambda d: _write(d / "bad.npz", b"PK\x03\x04garbage"),
            r"^x: cannot read '.*bad.npz' as .npz",
        ),
    ],
)
def test_load_array_errors(tmp_path, make, match):
    spec = make(tmp_path)
    with pytest.raises(ValueError, match=match) as info:
        _io.load_array("x", spec, ndims=(1, 2))
    message = str(info.value)
    assert "\n" not in message and "pickle" not in message.lower()


def _npy_bytes(arr) -> bytes:
    import io

    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def test_npy_with_key_is_refused(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros(3))
    (tmp_path / "a.npy").rename(tmp_path / "a.npz")  # a .npy saved under a .npz name
    with pytest.raises(ValueError, match=r"^x: '.*a.npz' is a .npy file; ':k' applies only to"):
        _io.load_array("x", f"{tmp_path}/a.npz:k")


def test_output_checks(tmp_path):
    assert _io.output_dir("--out", tmp_path / "a").is_dir()
    assert _io.output_file("--json", tmp_path / "b" / "r.json") == tmp_path / "b" / "r.json"
    assert (tmp_path / "b").is_dir()
    with pytest.raises(ValueError, match=r"^--json: '.*' is a folder; expected a file path"):
        _io.output_file("--json", tmp_path)
    (tmp_path / "f").write_text("x")
    with pytest.raises(ValueError, match=r"^--json: '.*f' exists and is not a folder"):
        _io.output_file("--json", tmp_path / "f" / "r.json")


def test_cch_mi_json_file_checked_before_work(tmp_path, capsys):
    import json

    from cch_jax import cli

    rng = np.random.default_rng(0)
    np.save(tmp_path / "x.npy", rng.standard_normal((50, 2)))
    np.save(tmp_path / "y.npy", rng.standard_normal(50))
    args = ["mi", str(tmp_path / "x.npy"), str(tmp_path / "y.npy")]
    assert cli.main([*args, "--json", str(tmp_path / "out" / "r.json")]) == 0
    assert json.loads((tmp_path / "out" / "r.json").read_text())["estimator"] == "ksg"
    capsys.readouterr()
    (tmp_path / "f").write_text("x")
    # the bad --json path is reported even though y is also bad: outputs are checked first
    bad = [*args[:2], str(tmp_path / "missing.npy"), "--json", str(tmp_path / "f" / "r.json")]
    assert cli.main(bad) == 2
    assert capsys.readouterr().err.startswith("cch mi: error: --json: ")


def test_open_array_maps_a_validated_npy_and_loads_npz_members(tmp_path):
    a = np.arange(12.0, dtype=np.float32).reshape(4, 3)
    np.save(tmp_path / "a.npy", a)
    np.savez(tmp_path / "b.npz", feats=a)
    mapped = _io.open_array("--student", tmp_path / "a.npy", ndims=(1, 2))
    assert isinstance(mapped, np.memmap) and mapped.mode == "r"
    np.testing.assert_array_equal(mapped, a)
    member = _io.open_array("--student", f"{tmp_path}/b.npz:feats", ndims=(1, 2))
    assert not isinstance(member, np.memmap)
    np.testing.assert_array_equal(member, a)
    # validated from the header alone, with the argument's name first
    np.save(tmp_path / "cube.npy", np.zeros((2, 2, 2), np.float32))
    with pytest.raises(
        ValueError, match=r"^--student: expected 1 or 2 dimensions, got shape \(2, 2, 2\)"
    ):
        _io.open_array("--student", tmp_path / "cube.npy", ndims=(1, 2))
    np.save(tmp_path / "none.npy", np.zeros((3, 0), np.float32))
    with pytest.raises(ValueError, match=r"^--labels: '.*none.npy' is empty \(shape \(3, 0\)\)"):
        _io.open_array("--labels", tmp_path / "none.npy", ndims=(1, 2))
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match=r"^--labels: '.*obj.npy' holds Python objects"):
        _io.open_array("--labels", tmp_path / "obj.npy")


def test_the_one_progress_display():
    import io

    from cch_jax import _progress

    assert _progress.bar(0, 4, width=8) == "[--------]"
    assert _progress.bar(3, 4, width=8) == "[######--]"
    assert _progress.bar(9, 4, width=8) == "[########]"  # clipped
    assert _progress.bar(0, 0, width=4) == "[----]"

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    term = Terminal()
    line = _progress.ProgressLine(term, prefix="p: ", width=4)
    line.update(1, 2, "half")
    line.update(2, 2, "done")
    assert term.getvalue() == "\r\033[Kp: [##--] 1/2 half\r\033[Kp: [####] 2/2 done\n"
    pipe = io.StringIO()
    line = _progress.ProgressLine(pipe, prefix="p: ")
    line.message("[1/2] half")
    line.message("a note")
    assert pipe.getvalue() == "p: [1/2] half\np: a note\n"


def test_version_comes_from_the_installed_distribution():
    import importlib.metadata

    import cch_jax
    from cch_jax import _version

    assert (
        cch_jax.__version__ == importlib.metadata.version("cch-jax") == _version.package_version()
    )


def test_version_of_an_uninstalled_tree(monkeypatch):
    import importlib.metadata

    from cch_jax import _version

    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    assert _version.package_version() == _version.UNINSTALLED_VERSION == "0+unknown"


def test_kd_progress_uses_the_same_display(capsys):
    from cch_jax import kd

    metrics = kd.Metrics(*[0.25] * len(kd.Metrics._fields))
    kd.print_progress(kd.Progress(epoch=2, epochs=5, metrics=metrics, seconds=1.5))
    err = capsys.readouterr().err  # not a terminal: one plain line, no control characters
    assert err == "[2/5] epochs  loss 0.2500  kd 0.2500  score 0.2500  agree 0.2500  1.5s\n"
