"""A benchmark of knowledge-distillation outcomes: settings, converged students, random-control
teachers, and the table on which predictors of "does KD help?" are scored.

For every setting (dataset, teacher view + degradation level, student view, kd_weight,
temperature) students are trained to convergence (early stopping on a validation split) without
KD, with KD, and with KD from a control teacher whose outputs are permuted across rows, paired by
seed; Δ_KD and Δ_transfer are tested with the exact sign-flip test. Predictor inputs (teacher and
probe-student representations and logits on held-out criterion rows, a pilot run) are cached and
scored in a separate phase. See ``_run.py`` for the phases, ``_students.py`` for the runs.

A user's paired ``.npz`` (the file layout of ``cch trial``) is benchmarked the same way:
``BenchConfig(dataset=NAME, data=PATH)`` (``cch bench --data FILE.npz``); its view teachers are
trained, its logits teachers used as given (``_settings.py``, ``_datasets.py``).

:func:`trial` (``cch trial``) is the same measurement on a user's own data file, seeds added until a
sequential paired test decides (``_trial.py``, ``_sequential.py``).
"""

from cch_jax.bench._board import LEADERBOARD_COLUMNS as LEADERBOARD_COLUMNS
from cch_jax.bench._board import leaderboard as leaderboard
from cch_jax.bench._board_files import make_records as make_records
from cch_jax.bench._board_files import read_settings as read_settings
from cch_jax.bench._board_files import write_leaderboard as write_leaderboard
from cch_jax.bench._board_report import leaderboard_markdown as leaderboard_markdown
from cch_jax.bench._board_report import validated_summary as validated_summary
from cch_jax.bench._datasets import Source as Source
from cch_jax.bench._plan import Plan as Plan
from cch_jax.bench._plan import prepare as prepare
from cch_jax.bench._run import PHASES as PHASES
from cch_jax.bench._run import BenchResult as BenchResult
from cch_jax.bench._run import run_bench as run_bench
from cch_jax.bench._sequential import PairedT as PairedT
from cch_jax.bench._sequential import SequentialRule as SequentialRule
from cch_jax.bench._sequential import look_schedule as look_schedule
from cch_jax.bench._sequential import paired_t as paired_t
from cch_jax.bench._sequential import sequential_rule as sequential_rule
from cch_jax.bench._settings import DATASET_NAMES as DATASET_NAMES
from cch_jax.bench._settings import SIZES as SIZES
from cch_jax.bench._settings import BenchConfig as BenchConfig
from cch_jax.bench._settings import DatasetSpec as DatasetSpec
from cch_jax.bench._settings import Setting as Setting
from cch_jax.bench._settings import Student as Student
from cch_jax.bench._settings import Teacher as Teacher
from cch_jax.bench._settings import dataset_spec as dataset_spec
from cch_jax.bench._settings import enumerate_settings as enumerate_settings
from cch_jax.bench._stats import min_detectable_effect as min_detectable_effect
from cch_jax.bench._stats import outcome as outcome
from cch_jax.bench._stats import paired_sign_flip as paired_sign_flip
from cch_jax.bench._table import SETTING_COLUMNS as SETTING_COLUMNS
from cch_jax.bench._table import write_combined as write_combined
from cch_jax.bench._trial import TrialConfig as TrialConfig
from cch_jax.bench._trial import trial as trial
from cch_jax.bench._trial_result import TeacherTrial as TeacherTrial
from cch_jax.bench._trial_result import TrialResult as TrialResult
