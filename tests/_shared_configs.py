"""Configurations that tests of several files use, so that their compiled programs are one: the
suite's persistent compilation cache (tests/conftest.py) compiles a program once for every test
that builds it with the same shapes and configuration."""

from cch_jax import mi
from cch_jax.criterion import CheckConfig

# Rows per draw of a task's sampler: tests/test_tasks.py's plug-in checks, tests/test_ksg.py's
# datasets (cut from one draw) and tests/test_mi_interface.py's pair, so that the sampling programs
# of equal widths are compiled once for the three files.
N_DRAW = 50_000

# MINE on 1000 rows of 5 + 5 columns: tests/test_mine.py and tests/test_mi_interface.py.
MINE_SMALL = mi.MINEConfig(
    hidden=(16, 16), steps=200, batch_size=64, eval_every=50, learning_rate=1e-2
)

# The criterion's trained terms (MINE for I(Ht;Hs), the probe for I(Hs;Y)) on 1200 rows in 4
# classes: tests/test_criterion_parts.py and tests/test_compile_cache.py.
TRAINED_CHECK = CheckConfig(
    repeats=2,
    label_estimator="probe",
    probe_pca_dim=4,
    mine=mi.MINEConfig(steps=300, batch_size=128),
)
