"""Mutual-information estimators, all in nats unless a function says otherwise.

Closed form (Gaussian) MI is re-exported from ``cch_jax.theory`` so that every estimator is here.
"""

from cch_jax.mi import tasks as tasks
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
from cch_jax.theory import correlation_mi as correlation_mi
from cch_jax.theory import gaussian_mi as gaussian_mi
from cch_jax.theory import nats_to_bits as nats_to_bits
