"""Fuzz pass over the public API and the CLI with bad or edge inputs (run by hand, not by pytest).

    .venv/bin/python tests/_fuzz.py [--verbose]

Each case calls one public function (or ``cch`` command) with one bad argument and the rest valid,
and is classified:

- ``clear``: ``ValueError`` whose message starts with the name of the bad argument (CLI: exit code
  2 and one stderr line ``cch <cmd>: error: <name>: ...``, or argparse's own usage error naming the
  flag);
- ``clear-other-name``: ``ValueError`` naming another argument first (e.g. a derived quantity);
- ``handled``: a result with a documented ``InputWarning``/``DivergenceWarning`` (e.g. tied columns
  jittered);
- ``valid-ok``: an edge input that is valid (name ``""``) and returned a result (e.g. data of
  magnitude 1e30, a blur of gamma 1000 on 8x8 images: these used to give nonsense or hang);
- ``other-exception``: any other exception (a traceback for a user);
- ``silent``: a result without complaint (acceptable only for inputs that are in fact valid);
- ``timeout``: no answer within ``TIMEOUT_S`` seconds (a hang).

The counts per class are printed at the end, followed by every case outside ``clear``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import pickle
import re
import signal
import sys
import tempfile
import time
import warnings
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from cch_jax import DivergenceWarning, InputWarning, cli, data, figure1, kd, mi, theory
from cch_jax.mi import tasks

TIMEOUT_S = 30


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout()


RNG = np.random.default_rng(0)
X = RNG.standard_normal((60, 2)).astype(np.float32)
Y = (X[:, :1] + RNG.standard_normal((60, 1))).astype(np.float32)
LABELS = np.arange(60) % 3
KEY = jax.random.key(0)

BAD_INTS = [0, -1, 2.5, "3", None, True, np.array([3]), float("nan")]
BAD_REALS = [-1.0, float("nan"), float("inf"), "a", None, True, [0.5], 1e308]
BAD_CHOICES = ["nope", 3, None, "", ["max"]]
BAD_BOOLS = [1, "yes", None]
BAD_KEYS = [0, None, np.uint32([1, 2, 3]), jnp.zeros(3), jax.random.split(KEY, 2), "key"]
BAD_TUPLES = [32, (), (0,), (2.5,), "32", None]


def _bad_arrays(n=60, d=2):
    """Bad or edge arrays of n rows: (label, array, expected outcome hint)."""
    return [
        ("None", None),
        ("string", "abc"),
        ("ragged", [[1.0, 2.0], [3.0]]),
        ("3-D", np.zeros((n, d, 2))),
        ("object", np.array([None] * n, dtype=object)),
        ("complex", np.ones((n, d), complex)),
        ("bool", np.ones((n, d), bool)),
        ("NaN", np.where(np.eye(n, d) > 0, np.nan, 0.5)),
        ("inf", np.full((n, d), np.inf)),
        ("empty rows", np.zeros((0, d))),
        ("no columns", np.zeros((n, 0))),
        ("wrong rows", np.zeros((n - 1, d))),
        ("1e39 float64", np.full((n, d), 1e39)),
    ]


# edge inputs that are valid but used to give nonsense: they must be handled (warning) or exact
EDGE_ARRAYS = [
    ("constant", np.ones((60, 1)), np.full((60, 1), 2.0)),
    ("integer codes", (np.arange(60) % 4)[:, None].astype(float), RNG.standard_normal((60, 1))),
]


CASES: list[tuple[str, str, object]] = []  # (description, expected arg name, thunk)


def case(desc: str, name: str):
    def register(fn):
        CASES.append((desc, name, fn))
        return fn

    return register


def add(desc: str, name: str, fn) -> None:
    CASES.append((desc, name, fn))


# --- mi.ksg / mi.ksg_labels --------------------------------------------------------------------
for label, bad in _bad_arrays():
    add(f"ksg x={label}", "x", lambda bad=bad: mi.ksg(bad, Y))
    add(f"ksg y={label}", "y", lambda bad=bad: mi.ksg(X, bad))
    add(f"ksg_labels h={label}", "h", lambda bad=bad: mi.ksg_labels(bad, LABELS))
for v in BAD_INTS + [60, 1000]:
    add(f"ksg k={v!r}", "k", lambda v=v: mi.ksg(X, Y, k=v))
    add(f"ksg_labels k={v!r}", "k", lambda v=v: mi.ksg_labels(X, LABELS, k=v))
for v in BAD_CHOICES:
    add(f"ksg metric={v!r}", "metric", lambda v=v: mi.ksg(X, Y, metric=v))
    add(f"ksg search={v!r}", "search", lambda v=v: mi.ksg(X, Y, search=v))
    add(f"ksg ties={v!r}", "ties", lambda v=v: mi.ksg(X, Y, ties=v))
    add(f"ksg_labels metric={v!r}", "metric", lambda v=v: mi.ksg_labels(X, LABELS, metric=v))
for v in BAD_BOOLS:
    add(f"ksg standardize={v!r}", "standardize", lambda v=v: mi.ksg(X, Y, standardize=v))
for v in [0, -3, 2.5, "8"]:
    add(f"ksg block={v!r}", "block", lambda v=v: mi.ksg(X, Y, block=v))
for bad in [LABELS.astype(float), LABELS[:50], np.arange(60), LABELS[None, None], None, "abc"]:
    add(f"ksg_labels labels={type(bad).__name__}{np.shape(bad)}", "labels",
        lambda bad=bad: mi.ksg_labels(X, bad))  # fmt: skip
for label, x_e, y_e in EDGE_ARRAYS:
    add(f"ksg edge {label}", "x", lambda x_e=x_e, y_e=y_e: mi.ksg(x_e, y_e))
    add(
        f"ksg edge {label} ties=error", "x", lambda x_e=x_e, y_e=y_e: mi.ksg(x_e, y_e, ties="error")
    )
    add(f"ksg_labels edge {label}", "h", lambda x_e=x_e: mi.ksg_labels(x_e, LABELS))

for scale in (1e30, 1e-30):
    add(f"ksg edge scale {scale:g} (valid)", "", lambda s=scale: mi.ksg(X * s, Y * s))
    add(
        f"ksg_labels edge scale {scale:g} (valid)", "", lambda s=scale: mi.ksg_labels(X * s, LABELS)
    )

# --- mi.mine / mi.latent_mi --------------------------------------------------------------------
SMALL_MINE = mi.MINEConfig(hidden=(8,), steps=20, batch_size=16, eval_every=10)
SMALL_LATENT = mi.LatentMIConfig(hidden=(8,), latent_dim=2, batch_size=8, max_epochs=3)
for label, bad in _bad_arrays():
    add(f"mine x={label}", "x", lambda bad=bad: mi.mine(bad, Y, key=KEY, config=SMALL_MINE))
    add(f"latent_mi y={label}", "y",
        lambda bad=bad: mi.latent_mi(X, bad, key=KEY, config=SMALL_LATENT))  # fmt: skip
for v in BAD_KEYS:
    add(f"mine key={type(v).__name__}", "key", lambda v=v: mi.mine(X, Y, key=v, config=SMALL_MINE))
    add(f"latent_mi key={type(v).__name__}", "key",
        lambda v=v: mi.latent_mi(X, Y, key=v, config=SMALL_LATENT))  # fmt: skip
for field, values in {
    "steps": BAD_INTS,
    "batch_size": BAD_INTS + [1, 10_000],
    "learning_rate": BAD_REALS + [0.0],
    "ema_rate": [0.0, 1.5, "x"],
    "heldout_fraction": [0.0, 1.0, 2.0],
    "eval_every": [0, 7, 2.0],
    "bound": BAD_CHOICES,
    "activation": BAD_CHOICES,
    "preprocess": BAD_CHOICES,
    "hidden": BAD_TUPLES,
}.items():
    for v in values:
        add(f"MINEConfig {field}={v!r}", field,
            lambda field=field, v=v: mi.mine(X, Y, key=KEY, config=SMALL_MINE, **{field: v}))  # fmt: skip
for field, values in {
    "latent_dim": BAD_INTS,
    "hidden": BAD_TUPLES,
    "dropout": [1.0, -0.1, "a"],
    "ksg_fraction": [0.0, 1.0],
    "patience": [0, 1.5],
    "learning_rate": [0.0, float("inf")],
}.items():
    for v in values:
        add(f"LatentMIConfig {field}={v!r}", field,
            lambda field=field, v=v: mi.latent_mi(X, Y, key=KEY, config=SMALL_LATENT, **{field: v}))  # fmt: skip
add("mine config=dict", "config", lambda: mi.mine(X, Y, key=KEY, config={"steps": 10}))
add("mine unknown override", "stepz", lambda: mi.mine(X, Y, key=KEY, config=SMALL_MINE, stepz=3))
add("mine lr=100 (diverges)", "learning_rate",
    lambda: mi.mine(X, Y, key=KEY, config=SMALL_MINE, learning_rate=100.0))  # fmt: skip
add("latent_mi units=bytes", "units",
    lambda: mi.latent_mi(X, Y, key=KEY, config=SMALL_LATENT, units="bytes"))  # fmt: skip

# --- mi.tasks -----------------------------------------------------------------------------------
for v in BAD_INTS:
    add(
        f"correlated_gaussian dim_x={v!r}",
        "dim_x",
        lambda v=v: tasks.correlated_gaussian(v, 2, 0.5),
    )
    add(f"task.sample n={v!r}", "n", lambda v=v: tasks.independent(1, 1).sample(key=KEY, n=v))
for v in BAD_REALS + [1.0, -1.0]:
    add(f"correlated_gaussian rho={v!r}", "rho", lambda v=v: tasks.correlated_gaussian(2, 2, v))
for v in BAD_KEYS:
    add(f"task.sample key={type(v).__name__}", "key",
        lambda v=v: tasks.independent(1, 1).sample(key=v, n=5))  # fmt: skip
add("multinormal non-SPD", "cov", lambda: tasks.multinormal(np.ones((3, 3)), 1))
add("student_t dof=0", "dof", lambda: tasks.student_t(np.eye(2), 1, 0.0))
add("transformed x_map", "x_map", lambda: tasks.transformed(tasks.independent(1, 1), x_map="sq"))

# --- theory -------------------------------------------------------------------------------------
MODEL = theory.random_model(2, 3, key=KEY)
MOM = theory.family_moments(1.2, 1.0)
for v in BAD_REALS + [1.5]:
    add(f"risk kd_weight={v!r}", "kd_weight", lambda v=v: theory.risk(MOM, v, 1.0))
    add(f"risk f={v!r}", "f", lambda v=v: theory.risk(MOM, 0.5, v if v != 1.5 else 0.0))
    add(f"family_gap a={v!r}", "a", lambda v=v: theory.family_gap(v if v != 1.5 else 3.0, 1.0))
    add(
        f"family_gap sigma2={v!r}",
        "sigma2",
        lambda v=v: theory.family_gap(1.0, v if v != 1.5 else 0.0),
    )
for v in [-1.0, float("nan"), "a"]:
    add(f"penalty_to_kd_weight {v!r}", "penalty", lambda v=v: theory.penalty_to_kd_weight(v))
    add(f"asymptotic_f {v!r}", "alpha", lambda v=v: theory.asymptotic_f(v))
for v in BAD_INTS:
    add(f"random_model d1={v!r}", "d1", lambda v=v: theory.random_model(v, 3, key=KEY))
    add(f"theory.sample n={v!r}", "n", lambda v=v: theory.sample(MODEL, key=KEY, n=v))
    add(f"family_model d={v!r}", "d", lambda v=v: theory.family_model(1.0, 1.0, v))
for v in BAD_KEYS:
    add(
        f"theory.sample key={type(v).__name__}", "key", lambda v=v: theory.sample(MODEL, key=v, n=5)
    )
for field in ("sigma2", "var_y", "tau2", "bias", "var_t", "var_s"):
    add(f"hand-built Moments {field}=-1", "m",
        lambda field=field: theory.risk(MOM._replace(**{field: jnp.asarray(-1.0)}), 0.5, 1.0))  # fmt: skip
for field, bad in [
    ("var_y", -1.0),
    ("s22", -np.eye(3)),
    ("s12", np.zeros((3, 2))),
    ("s11", np.zeros((0, 0))),
]:
    add(f"hand-built GaussianModel {field}", "model",
        lambda field=field, bad=bad: theory.cch_report(MODEL._replace(**{field: jnp.asarray(bad)})))  # fmt: skip
add("make_gaussian_model d=0", "s22", lambda: theory.make_gaussian_model(
    s11=np.eye(1), s22=np.zeros((0, 0)), s12=np.zeros((1, 0)), s1y=np.zeros(1), s2y=np.zeros(0),
    var_y=1.0, w1=np.ones(1)))  # fmt: skip
add(
    "gaussian_mi non-SPD",
    "cov",
    lambda: theory.gaussian_mi(np.ones((2, 2)) * 2 - np.eye(2) * 0.5, 1),
)
add("correlation_mi rho=1", "rho", lambda: theory.correlation_mi(1.0))

# --- kd -----------------------------------------------------------------------------------------
S3, T3 = jnp.array([1.0, -0.5, 2.0]), jnp.array([0.3, 0.8, -1.2])
for v in BAD_REALS + [1.5]:
    add(f"classification_kd_loss kd_weight={v!r}", "kd_weight",
        lambda v=v: kd.classification_kd_loss(S3, T3, 1, kd_weight=v, temperature=3.0))  # fmt: skip
    add(f"classification_kd_loss temperature={v!r}", "temperature",
        lambda v=v: kd.classification_kd_loss(S3, T3, 1, kd_weight=0.5, temperature=v if v != 1.5 else 0.0))  # fmt: skip
for v in [3, -1, 1.0, np.array([1]), 10**9]:
    add(f"classification_kd_loss label={v!r}", "label",
        lambda v=v: kd.classification_kd_loss(S3, T3, v))  # fmt: skip
for bad in [jnp.array([jnp.nan, 0.0, 1.0]), jnp.zeros(4), jnp.zeros((1, 3))]:
    add(f"classification_kd_loss teacher={bad.shape}", "teacher_logits",
        lambda bad=bad: kd.classification_kd_loss(S3, bad, 1))  # fmt: skip
add(
    "regression_kd_loss kd_weight=2",
    "kd_weight",
    lambda: kd.regression_kd_loss(1.0, 0.0, 1.0, kd_weight=2.0),
)
for field, values in {"name": BAD_CHOICES, "input_shape": BAD_TUPLES, "num_outputs": BAD_INTS,
                      "hidden": [32, (0,), (2.5,), "32"], "use_bias": BAD_BOOLS}.items():  # fmt: skip
    for v in values:
        kw = dict(name="mlp", input_shape=(3,), num_outputs=2)
        kw[field] = v
        add(f"ModelConfig {field}={v!r}", field, lambda kw=kw: kd.ModelConfig(**kw))
for field, values in {"kd_weight": BAD_REALS + [1.5], "temperature": BAD_REALS + [0.0],
                      "task": BAD_CHOICES}.items():  # fmt: skip
    for v in values:
        add(f"KDConfig {field}={v!r}", field, lambda field=field, v=v: kd.KDConfig(**{field: v}))
MC = kd.ModelConfig(name="linear", input_shape=(3,), num_outputs=2)
for field, values in {"epochs": BAD_INTS, "batch_size": BAD_INTS, "learning_rate": BAD_REALS,
                      "momentum": [1.0, -0.5], "optimizer": BAD_CHOICES, "shuffle": BAD_BOOLS,
                      "model": [None, "mlp"], "loss": [None, {}]}.items():  # fmt: skip
    for v in values:
        add(f"TrainConfig {field}={v!r}", field,
            lambda field=field, v=v: kd.TrainConfig(**{"model": MC, field: v}))  # fmt: skip
for field, values in {"seeds": BAD_TUPLES + [(-1,)], "kd_weights": [0.5, (1.5,), ()],
                      "temperatures": [3.0, (0.0,), ("a",)]}.items():  # fmt: skip
    for v in values:
        add(
            f"SweepConfig {field}={v!r}",
            field,
            lambda field=field, v=v: kd.SweepConfig(**{field: v}),
        )

XD = RNG.standard_normal((20, 3)).astype(np.float32)
YD = np.arange(20) % 3
TD = RNG.standard_normal((20, 3)).astype(np.float32)
for v in BAD_CHOICES:
    add(f"kd_data task={v!r}", "task", lambda v=v: kd.kd_data(XD, YD, TD, task=v))
for label, bad in _bad_arrays(20, 3):
    add(f"kd_data student_input={label}", "student_input",
        lambda bad=bad: kd.kd_data(bad, YD, TD, task="classification"))  # fmt: skip
    add(f"kd_data teacher_output={label}", "teacher_output",
        lambda bad=bad: kd.kd_data(XD, YD, bad, task="classification"))  # fmt: skip
for bad in [YD + 5, YD.astype(float), YD[:10], -YD - 1]:
    add(f"kd_data label={bad.dtype}{bad.shape}", "label",
        lambda bad=bad: kd.kd_data(XD, bad, TD, task="classification"))  # fmt: skip
for v in [None, "linear", {}]:
    add(f"kd.make_model {v!r}", "config", lambda v=v: kd.make_model(v))
DATA = kd.kd_data(XD, YD, TD, task="classification")
for v in [None, "x", {}]:
    add(f"kd.fit config={v!r}", "config", lambda v=v: kd.fit(v, DATA, progress=False))
add("kd.fit lr=1e6 (diverges)", "learning_rate", lambda: kd.fit(
    kd.TrainConfig(model=dataclasses.replace(MC, num_outputs=3), epochs=2, batch_size=5,
                   optimizer="sgd", learning_rate=1e6), DATA,
    progress=False))  # fmt: skip

# --- data ---------------------------------------------------------------------------------------
IMG = RNG.uniform(size=(2, 8, 8, 1)).astype(np.float32)
for v in [-1.0, float("nan"), "a", None]:
    add(f"gaussian_blur gamma={v!r}", "gamma", lambda v=v: data.gaussian_blur(IMG, v))
    add(
        f"add_gaussian_noise sigma={v!r}",
        "sigma",
        lambda v=v: data.add_gaussian_noise(IMG, v, key=KEY),
    )
add("gaussian_blur gamma=1000 on 8x8 (hung before)", "", lambda: data.gaussian_blur(IMG, 1000.0))
add("gaussian_blur 2-D images", "images", lambda: data.gaussian_blur(np.zeros((4, 4)), 1.0))
for v in BAD_KEYS:
    add(f"add_gaussian_noise key={type(v).__name__}", "key",
        lambda v=v: data.add_gaussian_noise(IMG, 0.1, key=v))  # fmt: skip
    add(f"blur_views key={type(v).__name__}", "key",
        lambda v=v: data.blur_views(IMG, np.array([0, 1]), key=v))  # fmt: skip
for v in BAD_CHOICES:
    add(f"data.load name={v!r}", "name", lambda v=v: data.load(v, "train", data_dir="/nonexistent"))
    add(f"load_digits split={v!r}", "split", lambda v=v: data.load_digits(v))
for v in [0, -1, 2.5, "3"]:
    add(f"load_digits max_examples={v!r}", "max_examples",
        lambda v=v: data.load_digits("train", max_examples=v))  # fmt: skip
add(
    "blur_views float labels", "labels", lambda: data.blur_views(IMG, np.array([0.0, 1.0]), key=KEY)
)

# --- figure1 --------------------------------------------------------------------------------------
for field, values in {"num_seeds": BAD_INTS + [1], "kd_weight": BAD_REALS + [1.5],
                      "num_gaps": [1, 2.5], "sigma2": [0.0, -1.0], "solver": BAD_CHOICES,
                      "gap_max": [-10.0, float("nan")], "n": [10, 2.5]}.items():  # fmt: skip
    for v in values:
        add(f"Figure1Config {field}={v!r}", field,
            lambda field=field, v=v: figure1.Figure1Config(**{"d": 10, field: v} if field != "n" else {"d": 10, "n": v}))  # fmt: skip
add("run_figure1 config=dict", "config", lambda: figure1.run_figure1({}))

# --- CLI ----------------------------------------------------------------------------------------
TMP = Path(tempfile.mkdtemp(prefix="cch_fuzz_"))
np.save(TMP / "x.npy", X)
np.save(TMP / "y.npy", Y)
np.save(TMP / "labels.npy", LABELS)
np.save(TMP / "cube.npy", np.zeros((60, 2, 2)))
np.save(TMP / "obj.npy", np.array([None] * 60, dtype=object))
np.save(TMP / "str.npy", np.array(["a"] * 60))
np.save(TMP / "nan.npy", np.full((60, 1), np.nan))
np.save(TMP / "short.npy", np.zeros((59, 1)))
np.save(TMP / "norows.npy", np.zeros((0, 1)))
np.savez(TMP / "pair.npz", a=X, b=Y)
(TMP / "empty.npy").write_bytes(b"")
(TMP / "pk.npy").write_bytes(pickle.dumps(X))
(TMP / "text.csv").write_text("1,2\n3,4\n")
(TMP / "trunc.npy").write_bytes((TMP / "x.npy").read_bytes()[:-30])
(TMP / "afile").write_text("x")
(TMP / "adir").mkdir()


def cli_case(desc: str, name: str, argv: list[str]) -> None:
    CASES.append((desc, name, ("cli", argv)))


for f in ["missing.npy", "cube.npy", "obj.npy", "str.npy", "nan.npy", "short.npy", "norows.npy",
          "empty.npy", "pk.npy", "text.csv", "trunc.npy", "adir", "pair.npz", "pair.npz:zz",
          "x.npy:key"]:  # fmt: skip
    cli_case(f"cch mi y={f}", "y", ["mi", str(TMP / "x.npy"), str(TMP / f)])
cli_case("cch mi x=pair.npz:a y=pair.npz:b", "", ["mi", f"{TMP}/pair.npz:a", f"{TMP}/pair.npz:b"])
for flag, v, name in [("--k", "0", "k"), ("--k", "2.5", "--k"), ("--k", "100", "k"),
                      ("--metric", "euclid", "metric"), ("--ties", "x", "--ties")]:  # fmt: skip
    cli_case(f"cch mi {flag} {v}", name, ["mi", str(TMP / "x.npy"), str(TMP / "y.npy"), flag, v])
cli_case("cch mi --labels float labels", "labels",
         ["mi", str(TMP / "x.npy"), str(TMP / "y.npy"), "--labels"])  # fmt: skip
TINY = ["--num-seeds", "2", "--gaps", "2", "--n", "30", "--d", "10", "--num-kd-weights", "2"]
for flag, v, name in [("--num-seeds", "1", "num_seeds"), ("--num-seeds", "x", "--num-seeds"),
                      ("--kd-weight", "1.5", "kd_weight"), ("--kd-weight", "nan", "kd_weight"),
                      ("--gaps", "1", "num_gaps"), ("--n", "5", "n"), ("--sigma2", "0", "sigma2"),
                      ("--gap-max", "-9", "gap_max"), ("--solver", "newton", "--solver"),
                      ("--mu", "0.5", "--mu"), ("--seeds", "3", "--seeds")]:  # fmt: skip
    cli_case(f"cch figure1 {flag} {v}", name, ["figure1", *TINY, "--out", str(TMP / "o"), flag, v])
for out in ["afile", "afile/sub", "/proc/nope"]:
    cli_case(
        f"cch figure1 --out {out}",
        "--out",
        ["figure1", *TINY, "--out", str(TMP / out) if not out.startswith("/") else out],
    )


def _names(msg: str, name: str) -> bool:
    """The message starts with the argument's name (or one of its fields/elements: m.sigma2, x[0])."""
    return any(msg.startswith(name + sep) for sep in (":", "[", "."))


def run_cli(argv):
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        try:
            rc = cli.main(argv)
        except SystemExit as e:  # argparse usage errors
            rc = e.code
    return rc, err.getvalue()


def classify(name: str, thunk) -> tuple[str, str]:
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(TIMEOUT_S)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if isinstance(thunk, tuple):
                rc, err = run_cli(thunk[1])
                lines = [line for line in err.splitlines() if line.strip()]
                notes = [line for line in lines if ": note: " in line]
                errors = [line for line in lines if ": note: " not in line]
                if rc == 0:
                    if notes:
                        return "handled", notes[0]
                    return ("valid-ok" if not name else "silent"), "exit 0"
                if "Traceback" in err or "pickle" in err.lower():
                    return "other-exception", err.strip().splitlines()[-1]
                last = errors[-1] if errors else ""
                m = re.match(r"cch(?: \S+)?: error: (.*)", last)
                if rc == 2 and m and len([e for e in errors if "error:" in e]) == 1:
                    msg = m.group(1)
                    if name and (_names(msg, name) or msg.startswith(f"argument {name}")
                                 or msg.startswith("unrecognized arguments: " + name)):  # fmt: skip
                        return "clear", msg
                    return "clear-other-name", msg
                return "other-exception", f"rc={rc} {last}"
            result = thunk()
            jax.block_until_ready(result) if result is not None else None
        flagged = [w for w in caught if issubclass(w.category, InputWarning | DivergenceWarning)]
        if flagged:
            return "handled", str(flagged[0].message)[:100]
        return ("valid-ok" if not name else "silent"), repr(result)[:80].replace("\n", " ")
    except _Timeout:
        return "timeout", f"> {TIMEOUT_S} s"
    except ValueError as err:
        msg = str(err)
        if name and _names(msg, name):
            return "clear", msg
        return "clear-other-name", msg
    except Exception as err:  # noqa: BLE001
        return "other-exception", f"{type(err).__name__}: {str(err)[:120]}"
    finally:
        signal.alarm(0)


def main() -> int:
    verbose = "--verbose" in sys.argv
    start = time.perf_counter()
    counts: dict[str, int] = {}
    others = []
    for desc, name, thunk in CASES:
        t0 = time.perf_counter()
        kind, detail = classify(name, thunk)
        counts[kind] = counts.get(kind, 0) + 1
        if kind != "clear" or verbose:
            others.append((kind, desc, detail, time.perf_counter() - t0))
    total = sum(counts.values())
    print(f"{total} cases in {time.perf_counter() - start:.0f} s")
    kinds = (
        "clear",
        "clear-other-name",
        "handled",
        "valid-ok",
        "silent",
        "other-exception",
        "timeout",
    )
    for kind in kinds:
        print(f"  {kind:18s} {counts.get(kind, 0)}")
    for kind, desc, detail, secs in sorted(others):
        print(f"[{kind}] {desc} ({secs:.1f} s): {detail}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    sys.exit(main())
