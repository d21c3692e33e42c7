"""The estimator interface and registry: one list of names that every layer validates against."""

import jax
import numpy as np
import pytest
from _shared_configs import MINE_SMALL, N_DRAW

from cch_jax import criterion, mi
from cch_jax.mi import tasks

TRUTH = tasks.correlated_gaussian(1, 1, 0.8)  # I = -0.5 log(1 - 0.64) = 0.5108 nats


def _pair(n=1999, seed=0):
    """The first n of N_DRAW rows drawn (rows are independent): the sampler compiles for one shape,
    the one of the 1 + 1 draws of tests/test_ksg.py and tests/test_tasks.py."""
    x, y = TRUTH.sample(key=jax.random.key(seed), n=N_DRAW)
    return np.asarray(x)[:n], np.asarray(y)[:n]


def test_registry_kinds_and_names():
    assert mi.estimator_names() == tuple(mi.ESTIMATORS)
    assert set(mi.estimator_names("pair")) == {"ksg", "mine", "latent"}
    assert set(mi.estimator_names("labels")) == {"ross", "probe"}
    for name, est in mi.ESTIMATORS.items():
        assert est.name == name
        assert est.estimates == ("I(X;Y)" if est.kind == "pair" else "I(H;labels)")
    with pytest.raises(TypeError):
        mi.ESTIMATORS["new"] = mi.ESTIMATORS["ksg"]  # read-only mapping


def test_uniform_call_equals_the_direct_function():
    # 1999 rows: below the 2 000 from which KSG's "auto" search picks "sorted" for 1 + 1 columns
    # (same values bit for bit, a 4 s compilation; its choice and values are tested in
    # tests/test_ksg_sorted.py); same key, so nearly the same rows: 0.0216 nats from the truth
    # (0.0218 with 2 000 rows)
    x, y = _pair()
    got = mi.get_estimator("ksg")(x, y, k=5)
    assert isinstance(got, mi.MIEstimate) and got.diagnostics == {}
    np.testing.assert_allclose(float(got.estimate), float(mi.ksg(x, y, k=5)), rtol=0, atol=0)
    assert abs(float(got.estimate) - float(TRUTH.mutual_information())) < 0.05

    # Ross on 1000 rows of 1 column, k = 3: the program of the raw estimates of
    # tests/test_ksg_labels.py's test_tied_h_is_jittered_or_refused (the equality holds for any n)
    h = x[:1000]
    labels = (h[:, 0] > 0).astype(np.int32)
    ross = mi.get_estimator("ross")(h, labels)
    np.testing.assert_allclose(float(ross.estimate), float(mi.ksg_labels(h, labels)))

    # MINE's program at the shapes and config of tests/test_mine.py (SMALL on 1000 rows of 5 + 5
    # columns): compiled once for both files (the equality holds for any data and config)
    cfg = MINE_SMALL
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1000, 5)).astype(np.float32)
    y = (0.6 * x + 0.8 * rng.normal(size=(1000, 5))).astype(np.float32)
    m = mi.get_estimator("mine")(x, y, key=jax.random.key(1), config=cfg)
    direct = mi.mine(x, y, key=jax.random.key(1), config=cfg)
    np.testing.assert_allclose(float(m.estimate), float(direct.estimate), rtol=1e-6)
    assert set(m.diagnostics) == set(direct._fields) - {"estimate"}


def test_uniform_call_is_jittable_and_vmappable():
    x, y = _pair(n=600)
    ksg = mi.get_estimator("ksg")
    eager = float(ksg(x, y).estimate)
    jitted = float(jax.jit(lambda a, b: ksg(a, b).estimate)(x, y))
    assert eager == pytest.approx(jitted, abs=1e-6)
    batched = jax.vmap(lambda a, b: ksg(a, b).estimate)(np.stack([x, x]), np.stack([y, y[::-1]]))
    assert batched[0] == pytest.approx(eager, abs=1e-6)
    assert abs(float(batched[1])) < 0.1  # rows of y reversed: independent pairs


def test_call_errors_name_the_argument():
    x, y = _pair(n=200)
    with pytest.raises(ValueError, match="^key: estimator 'mine'"):
        mi.get_estimator("mine")(x, y)
    with pytest.raises(ValueError, match="^config: estimator 'mine' expects a MINEConfig"):
        mi.get_estimator("mine")(x, y, key=jax.random.key(0), config=mi.ProbeConfig())
    with pytest.raises(ValueError, match="^config: estimator 'ksg' takes no config"):
        mi.get_estimator("ksg")(x, y, config=mi.MINEConfig())
    with pytest.raises(ValueError, match="^estimator: unknown estimator 'nope'; registered: ksg"):
        mi.get_estimator("nope")
    with pytest.raises(ValueError, match="^kind: expected one of"):
        mi.estimator_names("both")


def test_check_names():
    assert mi.check_names("est", ["ksg", "mine"], kind="pair") == ("ksg", "mine")
    with pytest.raises(ValueError, match="^est: unknown estimator 'probe'; pair estimators"):
        mi.check_names("est", ("probe",), kind="pair")
    with pytest.raises(ValueError, match="^est: expected a tuple of estimator names"):
        mi.check_names("est", "ksg")
    with pytest.raises(ValueError, match="^est: an estimator is named twice"):
        mi.check_names("est", ("ksg", "ksg"))
    with pytest.raises(ValueError, match="^est: expected at least one"):
        mi.check_names("est", ())


def test_every_layer_reads_the_registry():
    assert criterion.ESTIMATORS == mi.estimator_names("pair")
    assert set(criterion.LABEL_ESTIMATORS) == {"auto", *mi.estimator_names()}
    with pytest.raises(ValueError, match="^estimators: unknown estimator 'ross'"):
        criterion.check(
            np.zeros((10, 2)),
            np.zeros(10, np.int32),
            {"t": np.zeros((10, 2))},
            key=jax.random.key(0),
            estimators=("ross",),
        )
    with pytest.raises(ValueError, match="^label_estimator: expected one of"):
        criterion.CheckConfig(label_estimator="nope")
    with pytest.raises(ValueError, match="^label_estimator: 'probe' needs class labels"):
        criterion.CheckConfig(label_estimator="probe").resolved_label_estimator("continuous")


def test_cli_choices_come_from_the_registry(capsys):
    from cch_jax import cli

    with pytest.raises(SystemExit):
        cli.main(["check", "--help"])
    out = " ".join(capsys.readouterr().out.split())  # argparse wraps the help lines
    assert "ksg, mine, latent" in out and "ross, probe" in out
