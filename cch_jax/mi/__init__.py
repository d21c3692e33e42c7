"""Mutual-information estimators, all in nats unless a function says otherwise.

Every estimator is also registered under one name in :data:`ESTIMATORS` (an :class:`Estimator`
with a uniform call returning an :class:`MIEstimate`); the criterion, the CLI and the predictors
take their estimator names from that registry. Closed form (Gaussian) MI is re-exported from
``cch_jax.theory`` so that every estimator is here.
"""

from cch_jax.mi import tasks as tasks
from cch_jax.mi._interface import Estimator as Estimator
from cch_jax.mi._interface import MIEstimate as MIEstimate
from cch_jax.mi._ksg import ksg as ksg
from cch_jax.mi._ksg_labels import ksg_labels as ksg_labels
from cch_jax.mi._latent import LatentMIConfig as LatentMIConfig
from cch_jax.mi._latent import LatentMIResult as LatentMIResult
from cch_jax.mi._latent import latent_mi as latent_mi
from cch_jax.mi._mine import MINEConfig as MINEConfig
from cch_jax.mi._mine import MINEResult as MINEResult
from cch_jax.mi._mine import mine as mine
from cch_jax.mi._probe import ProbeConfig as ProbeConfig
from cch_jax.mi._probe import ProbeResult as ProbeResult
from cch_jax.mi._probe import probe_labels as probe_labels
from cch_jax.mi._registry import ESTIMATORS as ESTIMATORS
from cch_jax.mi._registry import check_names as check_names
from cch_jax.mi._registry import estimator_names as estimator_names
from cch_jax.mi._registry import get_estimator as get_estimator
from cch_jax.theory import correlation_mi as correlation_mi
from cch_jax.theory import gaussian_mi as gaussian_mi
from cch_jax.theory import nats_to_bits as nats_to_bits
