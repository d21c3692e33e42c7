"""Figure 1 of the paper: the student's risk with and without KD across the MI gap, the theory's
formula against a simulation of the one-parameter Gaussian family (``cch figure1``).

``_simulate.py`` holds the family's draws, the student solvers and the one compiled simulation;
``_plot.py`` draws the three panels and writes the CSV (matplotlib is imported only there).
"""

from cch_jax.figure1._plot import plot_figure1 as plot_figure1
from cch_jax.figure1._plot import write_figure1_csv as write_figure1_csv
from cch_jax.figure1._simulate import CSV_COLUMNS as CSV_COLUMNS
from cch_jax.figure1._simulate import SOLVERS as SOLVERS
from cch_jax.figure1._simulate import Draws as Draws
from cch_jax.figure1._simulate import Figure1Config as Figure1Config
from cch_jax.figure1._simulate import Figure1Result as Figure1Result
from cch_jax.figure1._simulate import agreement as agreement
from cch_jax.figure1._simulate import draw as draw
from cch_jax.figure1._simulate import figure1_table as figure1_table
from cch_jax.figure1._simulate import lstsq_solver as lstsq_solver
from cch_jax.figure1._simulate import run_figure1 as run_figure1
from cch_jax.figure1._simulate import simulate_risks as simulate_risks
from cch_jax.figure1._simulate import theory_risks as theory_risks
