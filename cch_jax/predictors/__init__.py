"""Predictors of "will knowledge distillation help?", behind one interface and one registry.

Every predictor reads a :class:`PredictorInputs` (what a user has before training a KD student:
teacher and probe-student representations on held-out rows, labels, the KD settings and, where
available, logits, accuracies and a pilot run) and returns a :class:`Prediction` (``call`` in
``"distill" | "dont" | "abstain"``, ``score`` with higher = more in favour of distilling,
``cost_s``, ``details``). ``REGISTRY`` maps names to :class:`Predictor` records; ``predict`` runs
several, filling absent logits once with a cross-fitted linear probe (:func:`linear_probe_logits`)
and charging that cost to the predictors that use it.

``load_records`` reads the KD-outcome benchmark's measured records (``records.json``, shipped beside
this package); ``advise`` turns them into a recommendation per teacher: the call of a *validated*
predictor (one that beat "never distill" on the paired McNemar test and on the dataset bootstrap),
or, when none is validated, one line saying so and pointing to ``cch trial``.

Registered (``names()``); score convention: higher = more in favour of distilling.

| name | score | call |
|---|---|---|
| ``cch_ksg``, ``cch_latent``, ``cch_mine`` | point gap I(H_t;H_s) - I(H_s;Y), nats (``criterion.check``, one estimator) | interval verdict: holds -> distill, fails -> dont, undecided -> abstain |
| ``cch_ksg_sign``, ``cch_latent_sign``, ``cch_mine_sign`` | the same check's point gap (one key under ``predict``) | distill iff gap > 0 |
| ``teacher_better`` | teacher_accuracy - student_accuracy | distill iff > 0 |
| ``always`` / ``never`` | +1 / -1 | distill / dont |
| ``agreement_top1`` | fraction of rows where teacher and probe-student argmax agree (Stanton et al. 2021) | fitted; default > 0.5 |
| ``agreement_kl`` | -mean KL(teacher_T || student_T) at the input T, nats | fitted; default > -0.1 |
| ``hscore_gap`` | H-score(H_s -> softmax(z_t / T)) - H-score(H_s -> labels) | distill iff > 0 |
| ``logme_gap`` | LogME(H_s -> soft labels) - LogME(H_s -> labels), nats per row (continuous: teacher predictions vs target) | distill iff > 0 |
| ``grace`` | -raw, raw = mean tr(K_train^-1 K_test) of projected KD-loss head gradients (Panigrahi et al. 2026) | fitted; default > -1326 |
| ``theory_risk`` | (R0 - R(kd_weight)) / R0 from Theorem 1 with plug-in moments (knows n_train and the KD weight) | distill iff > 0 |
| ``pilot`` | mean(pilot_delta) / (sd / sqrt(S) + 1e-9) | distill iff mean > 0; cost = pilot_cost_s |

Continuous targets (``num_classes=None``): ``cch_*``, ``logme_gap``, ``theory_risk``, ``always``,
``never`` and ``pilot`` handle them; the others list ``"classes"`` in ``needs``.

Directions: every score is oriented so that higher favours distilling. The orientation is
measured by ``benchmarks/predictors_direction.py`` (a classification version of the theory's
family, 12 teachers x 3 training-set sizes, KD benefit of trained students paired over 8 seeds:
Spearman(score, benefit) per predictor and size; its output is the record), and on the theory's
own (regression) family ``theory_risk``'s score is checked against the true (R0 - R) / R0 in
``tests/test_predictors.py``.
"""

from cch_jax.predictors._advise import OPT_IN as OPT_IN
from cch_jax.predictors._advise import PLANNED as PLANNED
from cch_jax.predictors._advise import Advice as Advice
from cch_jax.predictors._advise import PredictorCall as PredictorCall
from cch_jax.predictors._advise import TeacherAdvice as TeacherAdvice
from cch_jax.predictors._advise import advise as advise
from cch_jax.predictors._advise import describe_record as describe_record
from cch_jax.predictors._advise import representation_predictors as representation_predictors
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
from cch_jax.predictors._records import RECORDS_SCHEMA as RECORDS_SCHEMA
from cch_jax.predictors._records import VALIDATION_ALPHA as VALIDATION_ALPHA
from cch_jax.predictors._records import best_predictor as best_predictor
from cch_jax.predictors._records import is_validated as is_validated
from cch_jax.predictors._records import load_records as load_records
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
