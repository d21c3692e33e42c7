"""Predictors of "will knowledge distillation help?", behind one interface and one registry.

Every predictor reads a :class:`PredictorInputs` (what a user has before training a KD student:
teacher and probe-student representations on held-out rows, labels, the KD settings and, where
available, logits, accuracies and a pilot run) and returns a :class:`Prediction` (``call`` in
``"distill" | "dont" | "abstain"``, ``score`` with higher = more in favour of distilling,
``cost_s``, ``details``). ``REGISTRY`` maps names to :class:`Predictor` records; ``predict`` runs
several, filling absent logits once with a cross-fitted linear probe (:func:`linear_probe_logits`)
and charging that cost to the predictors that use it.

Registered (``names()``): ``cch_ksg``, ``cch_ksg_sign``, ``cch_latent``, ``cch_latent_sign``,
``cch_mine``, ``cch_mine_sign`` (the CCH gap via ``cch_jax.criterion.check``, score = point gap in
nats), ``teacher_better``, ``always``, ``never``, ``agreement_top1``, ``agreement_kl`` (Stanton et
al. 2021; "fitted"), ``hscore_gap``, ``logme_gap`` (transferability of the student's features to
the teacher's soft labels minus to the labels), ``grace`` (Panigrahi et al. 2026 ported to logit
KD; "fitted"), ``theory_risk`` (Theorem 1's risk formula with plug-in moments: it knows n_train
and the KD weight) and ``pilot``.

Continuous targets (``num_classes=None``): ``cch_*``, ``logme_gap``, ``theory_risk``, ``always``,
``never`` and ``pilot`` handle them; the others need ``"classes"``.

GRACE's direction: the paper reads a low trace as a good teacher, so the score is -raw. Measured on
the classification version of the theory's family (benchmarks/predictors_direction.py, figures in
its docstring), see :data:`GRACE_DIRECTION_NOTE`.
"""

from cch_jax.predictors._baselines import prediction_kl as prediction_kl
from cch_jax.predictors._defaults import DEFAULT_THRESHOLDS as DEFAULT_THRESHOLDS
from cch_jax.predictors._fill import fill_missing as fill_missing
from cch_jax.predictors._grace import grace_raw as grace_raw
from cch_jax.predictors._grace import head_gradient_logits as head_gradient_logits
from cch_jax.predictors._grace import split_trace as split_trace
from cch_jax.predictors._inputs import CALLS as CALLS
from cch_jax.predictors._inputs import NEEDS as NEEDS
from cch_jax.predictors._inputs import Prediction as Prediction
from cch_jax.predictors._inputs import Predictor as Predictor
from cch_jax.predictors._inputs import PredictorInputs as PredictorInputs
from cch_jax.predictors._probe import linear_probe_logits as linear_probe_logits
from cch_jax.predictors._registry import REGISTRY as REGISTRY
from cch_jax.predictors._registry import cch_predictor as cch_predictor
from cch_jax.predictors._registry import get as get
from cch_jax.predictors._registry import make_predictor as make_predictor
from cch_jax.predictors._registry import names as names
from cch_jax.predictors._registry import predict as predict
from cch_jax.predictors._registry import predictor_key as predictor_key
from cch_jax.predictors._theory import plugin_moments as plugin_moments
from cch_jax.predictors._transfer import hscore as hscore
from cch_jax.predictors._transfer import logme as logme
