"""Known-answer tasks for MI estimators (public namespace ``cch_jax.mi.tasks``).

Each task has ``name``, ``dim_x``, ``dim_y``, ``sample(key=key, n=n) -> (x [n, dim_x],
y [n, dim_y])`` (keyword-only) and ``mutual_information() -> float`` (exact, nats). Two families:

- continuous pairs (X, Y) after the bmi benchmark (``cch_jax/mi/_tasks_pairs.py``): multivariate
  normal, independent, Student-t, monotone transforms and orthogonal embeddings;
- labelled tasks (``cch_jax/mi/_tasks_labels.py``): ``mixture_labels`` samples
  ``(h [n, dim], labels [n])``; ``cch_triple`` samples ``(teacher, student, labels)`` with a known
  gap I(H_t; H_s) - I(H_s; Y).
"""

from cch_jax.mi._tasks_common import Task as Task
from cch_jax.mi._tasks_labels import CCHTriple as CCHTriple
from cch_jax.mi._tasks_labels import MixtureLabels as MixtureLabels
from cch_jax.mi._tasks_labels import cch_triple as cch_triple
from cch_jax.mi._tasks_labels import mixture_label_mi as mixture_label_mi
from cch_jax.mi._tasks_labels import mixture_labels as mixture_labels
from cch_jax.mi._tasks_pairs import MONOTONE_MAPS as MONOTONE_MAPS
from cch_jax.mi._tasks_pairs import Embedded as Embedded
from cch_jax.mi._tasks_pairs import Multinormal as Multinormal
from cch_jax.mi._tasks_pairs import StudentT as StudentT
from cch_jax.mi._tasks_pairs import Transformed as Transformed
from cch_jax.mi._tasks_pairs import correlated_gaussian as correlated_gaussian
from cch_jax.mi._tasks_pairs import embedded as embedded
from cch_jax.mi._tasks_pairs import independent as independent
from cch_jax.mi._tasks_pairs import multinormal as multinormal
from cch_jax.mi._tasks_pairs import student_t as student_t
from cch_jax.mi._tasks_pairs import student_t_mi_correction as student_t_mi_correction
from cch_jax.mi._tasks_pairs import transformed as transformed
