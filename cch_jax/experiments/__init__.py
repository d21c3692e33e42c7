"""The paper's experiments, as library functions that thin CLI commands call."""

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
from cch_jax.experiments._image import ImageExperimentConfig as ImageExperimentConfig
from cch_jax.experiments._image import ImageResult as ImageResult
from cch_jax.experiments._image import image_table as image_table
from cch_jax.experiments._image import run_image as run_image
from cch_jax.experiments._image import write_image as write_image
