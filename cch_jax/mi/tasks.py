"""Known-answer tasks for MI estimators (public namespace ``cch_jax.mi.tasks``).

Each task has ``name``, ``dim_x``, ``dim_y``, ``sample(key=key, n=n) -> (x [n, dim_x],
y [n, dim_y])`` (keyword-only) and ``mutual_information() -> float`` (exact, nats). Label tasks (``mixture_labels``) sample
``(h [n, dim], labels [n])``; CCH triples (``cch_triple``) sample ``(teacher, student, labels)`` with
a known gap I(H_t; H_s) - I(H_s; Y). See ``cch_jax/mi/_tasks.py`` for the definitions.
"""

from cch_jax.mi._tasks import MONOTONE_MAPS as MONOTONE_MAPS
from cch_jax.mi._tasks import CCHTriple as CCHTriple
from cch_jax.mi._tasks import Embedded as Embedded
from cch_jax.mi._tasks import MixtureLabels as MixtureLabels
from cch_jax.mi._tasks import Multinormal as Multinormal
from cch_jax.mi._tasks import StudentT as StudentT
from cch_jax.mi._tasks import Task as Task
from cch_jax.mi._tasks import Transformed as Transformed
from cch_jax.mi._tasks import cch_triple as cch_triple
from cch_jax.mi._tasks import correlated_gaussian as correlated_gaussian
from cch_jax.mi._tasks import embedded as embedded
from cch_jax.mi._tasks import independent as independent
from cch_jax.mi._tasks import mixture_label_mi as mixture_label_mi
from cch_jax.mi._tasks import mixture_labels as mixture_labels
from cch_jax.mi._tasks import multinormal as multinormal
from cch_jax.mi._tasks import student_t as student_t
from cch_jax.mi._tasks import student_t_mi_correction as student_t_mi_correction
from cch_jax.mi._tasks import transformed as transformed
