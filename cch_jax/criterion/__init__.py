"""``cch check``: should I distill from this teacher? The CCH as a decision tool.

``check(student, labels, teachers, key=...)`` estimates, for each candidate teacher, the gap
I(H_t; H_s) - I(H_s; Y) of the cross-modal complementarity hypothesis with intervals, gives a verdict
(holds / fails / undecided) and ranks the teachers. Also available as ``cch_jax.check``.
"""

from cch_jax.criterion._check import MIN_ROWS_PER_CLASS as MIN_ROWS_PER_CLASS
from cch_jax.criterion._check import UNIT_SPREAD as UNIT_SPREAD
from cch_jax.criterion._check import check as check
from cch_jax.criterion._config import ESTIMATORS as ESTIMATORS
from cch_jax.criterion._config import LABEL_ESTIMATORS as LABEL_ESTIMATORS
from cch_jax.criterion._config import LABEL_KINDS as LABEL_KINDS
from cch_jax.criterion._config import CheckConfig as CheckConfig
from cch_jax.criterion._result import ROW_FIELDS as ROW_FIELDS
from cch_jax.criterion._result import SCHEMA as SCHEMA
from cch_jax.criterion._result import CheckResult as CheckResult
