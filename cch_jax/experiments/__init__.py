"""The paper's experiments, as library functions that thin CLI commands call."""

from cch_jax.experiments._analysis import analyse as analyse
from cch_jax.experiments._analysis import compare_predictors as compare_predictors
from cch_jax.experiments._analysis import paired_test as paired_test
from cch_jax.experiments._analysis import spearman as spearman
from cch_jax.experiments._analysis import summarize as summarize
from cch_jax.experiments._analysis import teacher_selection as teacher_selection
from cch_jax.experiments._figure1 import CSV_COLUMNS as CSV_COLUMNS
from cch_jax.experiments._figure1 import SOLVERS as SOLVERS
from cch_jax.experiments._figure1 import Draws as Draws
from cch_jax.experiments._figure1 import Figure1Config as Figure1Config
from cch_jax.experiments._figure1 import Figure1Result as Figure1Result
from cch_jax.experiments._figure1 import agreement as agreement
from cch_jax.experiments._figure1 import draw as draw
from cch_jax.experiments._figure1 import lstsq_solver as lstsq_solver
from cch_jax.experiments._figure1 import run as run_figure1  # noqa: F401 (public re-export)
from cch_jax.experiments._figure1 import simulate_risks as simulate_risks
from cch_jax.experiments._figure1 import table as figure1_table  # noqa: F401 (public re-export)
from cch_jax.experiments._figure1 import theory_risks as theory_risks
from cch_jax.experiments._pipeline import ExperimentConfig as ExperimentConfig
from cch_jax.experiments._pipeline import ExperimentResult as ExperimentResult
from cch_jax.experiments._pipeline import Students as Students
from cch_jax.experiments._pipeline import Teachers as Teachers
from cch_jax.experiments._pipeline import degrade as degrade
from cch_jax.experiments._pipeline import estimate_criterion as estimate_criterion
from cch_jax.experiments._pipeline import run_experiment as run_experiment
from cch_jax.experiments._pipeline import standardize as standardize
from cch_jax.experiments._pipeline import student_representations as student_representations
from cch_jax.experiments._pipeline import train_students as train_students
from cch_jax.experiments._pipeline import train_teachers as train_teachers
from cch_jax.experiments._report import markdown as markdown
from cch_jax.experiments._report import plot_delta_vs_gap as plot_delta_vs_gap
from cch_jax.experiments._report import write_report as write_report
