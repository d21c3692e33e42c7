"""Distillation data: student inputs, labels and the frozen teacher outputs of the same examples.

Cross-modal KD reads two input fields of one example: the teacher sees ``teacher_input`` (e.g.
the colour image, or x1), the student sees ``student_input`` (e.g. the grey image, or x2). The
teacher is run once, here, without gradients or dropout; the trainer only ever sees its outputs,
so the teacher can neither be updated nor end up in a student checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from cch_jax import _checks


class KDData(NamedTuple):
    """On-device arrays for one training (or evaluation) set of n examples.

    Attributes:
      student_input: ``[n, *input_shape]`` what the student reads.
      label: ``[n]`` integer classes (classification) or floats (regression).
      teacher_output: ``[V, n, k]`` frozen teacher logits, or ``[V, n]`` teacher predictions for
        regression, for V >= 1 teacher variants (a sweep trains every student against each).
    """

    student_input: jax.Array
    label: jax.Array
    teacher_output: jax.Array

    @property
    def num_examples(self) -> int:
        return int(self.label.shape[0])

    @property
    def num_teachers(self) -> int:
        return int(self.teacher_output.shape[0])


def kd_data(student_input, label, teacher_output, *, task: str, variants: bool = False) -> KDData:
    """Validates arrays and packs them into :class:`KDData`.

    Args:
      student_input: ``[n, ...]`` finite floats.
      label: ``[n]`` integers >= 0 (classification) or finite floats (regression).
      teacher_output: ``[n, k]`` logits / ``[n]`` predictions, or with a leading variants axis
        ``[V, n, k]`` / ``[V, n]`` when ``variants`` is True.
      task: 'classification' or 'regression'.
      variants: whether ``teacher_output`` carries a leading axis of teacher variants.

    Returns:
      :class:`KDData` with the teacher outputs as ``[V, n, ...]`` (V = 1 without variants).
    """
    _checks.check_choice("task", task, ("classification", "regression"))
    variants = _checks.check_bool("variants", variants)
    x = _checks.as_float_array("student_input", student_input)
    if x.ndim < 2:
        raise ValueError(f"student_input: expected [n, ...] with n examples, got shape {x.shape}")
    if 0 in x.shape[1:]:
        raise ValueError(f"student_input: each example needs at least one value, got {x.shape}")
    t = _checks.as_float_array("teacher_output", teacher_output)
    if not variants:
        t = t[None]
    want = 3 if task == "classification" else 2
    if t.ndim != want:
        shape = "[V, n, k]" if task == "classification" else "[V, n]"
        raise ValueError(
            f"teacher_output: expected {shape} after adding the variants axis, got {t.shape}"
        )
    if task == "classification" and t.shape[-1] < 2:
        raise ValueError(f"teacher_output: expected >= 2 logits per example, got shape {t.shape}")
    y_np = np.asarray(label)
    if y_np.ndim != 1:
        raise ValueError(f"label: expected [n], got shape {y_np.shape}")
    if task == "classification":
        if not np.issubdtype(y_np.dtype, np.integer):
            raise ValueError(f"label: classification needs integer classes, got dtype {y_np.dtype}")
        k = t.shape[-1]
        if y_np.size and (y_np.min() < 0 or y_np.max() >= k):
            raise ValueError(
                f"label: classes must lie in [0, {k}) (the teacher's {k} logits), got range "
                f"[{y_np.min()}, {y_np.max()}]"
            )
        y = jnp.asarray(y_np, dtype=jnp.int32)
    else:
        y = _checks.as_float_array("label", y_np)
    _checks.check_same_rows(student_input=x, label=y, teacher_output=t[0])
    if y.shape[0] < 1:
        raise ValueError("student_input: needs at least one example")
    return KDData(student_input=x, label=y, teacher_output=t)


def teacher_outputs(
    apply: Callable[[Any, jax.Array], jax.Array],
    params,
    teacher_input,
    *,
    chunk_size: int = 4096,
) -> jax.Array:
    """Runs a frozen teacher once over its inputs, in chunks, without gradients.

    Args:
      apply: ``(params, x [b, ...]) -> outputs [b, k]`` (deterministic: no dropout).
      params: the teacher's parameters.
      teacher_input: ``[n, ...]`` what the teacher reads.
      chunk_size: examples per call (bounds memory).

    Returns:
      ``[n, k]`` outputs wrapped in ``stop_gradient``.
    """
    x = _checks.as_float_array("teacher_input", teacher_input)
    _checks.check_positive_int("chunk_size", chunk_size)
    fn = jax.jit(apply)
    parts = [fn(params, x[i : i + chunk_size]) for i in range(0, x.shape[0], chunk_size)]
    return jax.lax.stop_gradient(jnp.concatenate(parts, axis=0))


def prepare_data(
    examples: Mapping[str, Any],
    *,
    task: str,
    teacher_apply: Callable[[Any, jax.Array], jax.Array],
    teacher_params: Any | Sequence[Any],
    variants: bool = False,
) -> KDData:
    """Builds :class:`KDData` from a batch dict of examples and a frozen teacher.

    Args:
      examples: a mapping with ``'teacher_input'`` ``[n, ...]``, ``'student_input'``
        ``[n, ...]`` and ``'label'`` ``[n]`` (two input fields of the same n examples).
      task: 'classification' or 'regression'.
      teacher_apply: ``(params, x) -> [b, k]`` logits (``[b, 1]`` or ``[b]`` for regression).
      teacher_params: the teacher's parameters, or a sequence of them when ``variants`` is True.
      variants: train against several teachers (stacked along a leading axis).

    Returns:
      :class:`KDData`; the teacher itself is not kept.
    """
    for field in ("teacher_input", "student_input", "label"):
        if field not in examples:
            raise ValueError(f"examples: missing the field {field!r} (have {sorted(examples)})")
    plist = list(teacher_params) if variants else [teacher_params]
    if not plist:
        raise ValueError("teacher_params: expected at least one teacher")
    outs = []
    for p in plist:
        out = teacher_outputs(teacher_apply, p, examples["teacher_input"])
        if task == "regression" and out.ndim == 2 and out.shape[1] == 1:
            out = out[:, 0]
        outs.append(out)
    return kd_data(
        examples["student_input"], examples["label"], jnp.stack(outs), task=task, variants=True
    )
