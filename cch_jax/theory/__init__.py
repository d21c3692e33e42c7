"""The joint-Gaussian teacher/student model, its closed-form MI and the KD risk (Theorem 1).

Every equation is derived in ``theory/derivation.md``; MI is in nats throughout.
"""

from cch_jax.theory._family import family_a as family_a
from cch_jax.theory._family import family_b as family_b
from cch_jax.theory._family import family_gap as family_gap
from cch_jax.theory._family import family_min_gap as family_min_gap
from cch_jax.theory._family import family_model as family_model
from cch_jax.theory._family import family_moments as family_moments
from cch_jax.theory._family import family_sample as family_sample
from cch_jax.theory._gaussian_mi import NATS_PER_BIT as NATS_PER_BIT
from cch_jax.theory._gaussian_mi import correlation_mi as correlation_mi
from cch_jax.theory._gaussian_mi import gaussian_mi as gaussian_mi
from cch_jax.theory._gaussian_mi import nats_to_bits as nats_to_bits
from cch_jax.theory._model import GaussianModel as GaussianModel
from cch_jax.theory._model import joint_covariance as joint_covariance
from cch_jax.theory._model import make_gaussian_model as make_gaussian_model
from cch_jax.theory._model import model_from_covariance as model_from_covariance
from cch_jax.theory._model import optimal_student as optimal_student
from cch_jax.theory._model import predictions as predictions
from cch_jax.theory._model import random_model as random_model
from cch_jax.theory._model import sample as sample
from cch_jax.theory._risk import CCHReport as CCHReport
from cch_jax.theory._risk import Moments as Moments
from cch_jax.theory._risk import asymptotic_f as asymptotic_f
from cch_jax.theory._risk import best_weight as best_weight
from cch_jax.theory._risk import cch_report as cch_report
from cch_jax.theory._risk import finite_f as finite_f
from cch_jax.theory._risk import kd_window as kd_window
from cch_jax.theory._risk import moments as moments
from cch_jax.theory._risk import penalty_to_kd_weight as penalty_to_kd_weight
from cch_jax.theory._risk import risk as risk
from cch_jax.theory._risk import risk0 as risk0
