"""Knowledge distillation: per-example KD losses, nnx models and one functional trainer.

The trainer is a set of pure functions over an explicit :class:`TrainState`; a sweep over seeds x
kd_weights x temperatures (x teacher variants) is one vmapped, device-sharded program (:func:`fit`),
or spans the processes and hosts of a ``jax.distributed`` job (:func:`fit_distributed`).

Importing this package changes no process-wide setting. :func:`use_fast_cpu_convolutions` is the
explicit opt-in to XLA:CPU's faster convolutions for the CNN (call it before JAX starts; the ``cch``
command does).
"""

from cch_jax._xla_cpu import use_fast_cpu_convolutions as use_fast_cpu_convolutions
from cch_jax.kd._checkpoint import Checkpointer as Checkpointer
from cch_jax.kd._config import KDConfig as KDConfig
from cch_jax.kd._config import ModelConfig as ModelConfig
from cch_jax.kd._config import SweepConfig as SweepConfig
from cch_jax.kd._config import TrainConfig as TrainConfig
from cch_jax.kd._data import KDData as KDData
from cch_jax.kd._data import kd_data as kd_data
from cch_jax.kd._data import prepare_data as prepare_data
from cch_jax.kd._data import teacher_outputs as teacher_outputs
from cch_jax.kd._distributed import fit_distributed as fit_distributed
from cch_jax.kd._fit import FitResult as FitResult
from cch_jax.kd._fit import Progress as Progress
from cch_jax.kd._fit import fit as fit
from cch_jax.kd._fit import print_progress as print_progress
from cch_jax.kd._fit import sweep_grid as sweep_grid
from cch_jax.kd._linear import linear_trainer_solver as linear_trainer_solver
from cch_jax.kd._losses import LossTerms as LossTerms
from cch_jax.kd._losses import batch_classification_kd_terms as batch_classification_kd_terms
from cch_jax.kd._losses import batch_regression_kd_terms as batch_regression_kd_terms
from cch_jax.kd._losses import classification_kd_loss as classification_kd_loss
from cch_jax.kd._losses import classification_kd_terms as classification_kd_terms
from cch_jax.kd._losses import cross_entropy as cross_entropy
from cch_jax.kd._losses import regression_kd_loss as regression_kd_loss
from cch_jax.kd._losses import regression_kd_terms as regression_kd_terms
from cch_jax.kd._losses import tempered_kl as tempered_kl
from cch_jax.kd._models import Model as Model
from cch_jax.kd._models import count_params as count_params
from cch_jax.kd._models import make_model as make_model
from cch_jax.kd._runs import RunSpec as RunSpec
from cch_jax.kd._runs import StopConfig as StopConfig
from cch_jax.kd._runs import TrainData as TrainData
from cch_jax.kd._runs import Trained as Trained
from cch_jax.kd._runs import apply_runs as apply_runs
from cch_jax.kd._runs import batch_size_for as batch_size_for
from cch_jax.kd._runs import run_spec as run_spec
from cch_jax.kd._runs import train_runs as train_runs
from cch_jax.kd._supervised import SupervisedResult as SupervisedResult
from cch_jax.kd._supervised import fit_supervised as fit_supervised
from cch_jax.kd._trainer import Batch as Batch
from cch_jax.kd._trainer import HParams as HParams
from cch_jax.kd._trainer import Metrics as Metrics
from cch_jax.kd._trainer import Trainer as Trainer
from cch_jax.kd._trainer import TrainState as TrainState
from cch_jax.kd._trainer import make_optimizer as make_optimizer
from cch_jax.kd._trainer import make_trainer as make_trainer
