"""The paper's experiments, as library functions that thin CLI commands call."""

from cch_jax.experiments._analysis import analyse as analyse
from cch_jax.experiments._analysis import compare_predictors as compare_predictors
from cch_jax.experiments._analysis import paired_test as paired_test
from cch_jax.experiments._analysis import spearman as spearman
from cch_jax.experiments._analysis import summarize as summarize
from cch_jax.experiments._analysis import teacher_selection as teacher_selection
from cch_jax.experiments._pipeline import ExperimentConfig as ExperimentConfig
from cch_jax.experiments._pipeline import Students as Students
from cch_jax.experiments._pipeline import Teachers as Teachers
from cch_jax.experiments._pipeline import degrade_view as degrade_view
from cch_jax.experiments._pipeline import estimate_criterion as estimate_criterion
from cch_jax.experiments._pipeline import standardize as standardize
from cch_jax.experiments._pipeline import student_representations as student_representations
from cch_jax.experiments._pipeline import train_students as train_students
from cch_jax.experiments._pipeline import train_teachers as train_teachers
from cch_jax.experiments._report import load_summary as load_summary
from cch_jax.experiments._report import markdown as markdown
from cch_jax.experiments._report import plot_delta_vs_gap as plot_delta_vs_gap
from cch_jax.experiments._report import write_report as write_report
from cch_jax.experiments._run import ExperimentResult as ExperimentResult
from cch_jax.experiments._run import run_experiment as run_experiment
from cch_jax.experiments._splits import RANDOM_SPLIT as RANDOM_SPLIT
from cch_jax.experiments._splits import default_student_noise as default_student_noise
from cch_jax.experiments._splits import merge_splits as merge_splits
from cch_jax.experiments._splits import run_splits as run_splits
from cch_jax.experiments._splits import split_teacher_name as split_teacher_name
