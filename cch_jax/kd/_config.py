"""Frozen, keyword-only configuration of the KD trainer, validated at construction.

Static choices (model, widths, epochs, batch size, optimizer) live here; the swept quantities
(seeds, the KD weight lam and the temperature T) become traced arrays through :class:`SweepConfig`,
so that a whole grid is one compiled program.
"""

from __future__ import annotations

import dataclasses
import math

MODEL_NAMES = ("linear", "mlp", "cnn")
TASKS = ("classification", "regression")
OPTIMIZERS = ("sgd", "momentum", "adam")
SCHEDULES = ("constant", "cosine")
CONV_IMPLS = ("auto", "lax", "patches")

_DEFAULT_HIDDEN = {"linear": (), "mlp": (128,), "cnn": (32, 64, 128)}


def _check_choice(name: str, value, choices) -> None:
    if value not in choices:
        raise ValueError(f"{name}: unknown value {value!r}; expected one of {', '.join(choices)}")


def _check_int(name: str, value, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name}: expected an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name}: must be >= {minimum}, got {value}")


def _check_real(name: str, value, *, low=None, high=None, low_open=False) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name}: expected a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name}: must be finite, got {value}")
    if low is not None and (value <= low if low_open else value < low):
        raise ValueError(f"{name}: must be {'>' if low_open else '>='} {low}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name}: must be <= {high}, got {value}")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ModelConfig:
    """Which student (or teacher) network to build.

    Attributes:
      name: 'linear', 'mlp' or 'cnn'.
      input_shape: one example's shape, e.g. (28, 28, 1), (32, 32, 3) or (d,).
      num_outputs: classes (logits) or 1 for regression.
      hidden: MLP widths, or the CNN's (conv1 channels, conv2 channels, dense width); () picks the
        default ((128,) for the MLP, (32, 64, 128) for the CNN). Must be () for 'linear'.
      use_bias: whether the linear model has an intercept (the theory's students have none).
      conv: the CNN's convolution kernel: 'lax' (XLA's convolution), 'patches' (shifted copies and
        one matmul, fast inside XLA:CPU loops) or 'auto' (patches on CPU, lax elsewhere).
    """

    name: str
    input_shape: tuple[int, ...]
    num_outputs: int
    hidden: tuple[int, ...] = ()
    use_bias: bool = True
    conv: str = "auto"

    def __post_init__(self):
        _check_choice("name", self.name, MODEL_NAMES)
        _check_choice("conv", self.conv, CONV_IMPLS)
        shape = tuple(self.input_shape)
        if not shape or any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in shape):
            raise ValueError(f"input_shape: expected positive integers, got {self.input_shape!r}")
        object.__setattr__(self, "input_shape", shape)
        _check_int("num_outputs", self.num_outputs)
        hidden = tuple(self.hidden) or _DEFAULT_HIDDEN[self.name]
        for h in hidden:
            _check_int("hidden", h)
        if self.name == "linear" and hidden:
            raise ValueError(f"hidden: the linear model has no hidden layers, got {hidden}")
        if self.name == "cnn":
            if len(hidden) != 3:
                raise ValueError(
                    f"hidden: the CNN takes (conv1, conv2, dense) widths, got {hidden}"
                )
            if len(shape) != 3 or shape[0] < 4 or shape[1] < 4:
                raise ValueError(
                    f"input_shape: the CNN needs (height, width, channels) images of at least "
                    f"4x4, got {shape}"
                )
        object.__setattr__(self, "hidden", hidden)


@dataclasses.dataclass(frozen=True, kw_only=True)
class KDConfig:
    """The distillation loss.

    Attributes:
      task: 'classification' ((1-lam) CE + lam T^2 KL) or 'regression' ((1-mu)(y-yhat)^2 +
        mu (t-yhat)^2).
      kd_weight: lam (or mu) in [0, 1], the weight on the KD term (paper: 0.5).
      temperature: T > 0 (paper: 3); unused for regression.
    """

    task: str = "classification"
    kd_weight: float = 0.5
    temperature: float = 3.0

    def __post_init__(self):
        _check_choice("task", self.task, TASKS)
        _check_real("kd_weight", self.kd_weight, low=0.0, high=1.0)
        _check_real("temperature", self.temperature, low=0.0, low_open=True)


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """Everything static about a training run.

    Attributes:
      model: the student :class:`ModelConfig`.
      loss: the :class:`KDConfig` (its kd_weight/temperature are the defaults of a sweep).
      epochs: passes over the training set, >= 1.
      batch_size: examples per step, >= 1 and <= the number of examples (the last partial batch of
        an epoch is dropped; each epoch reshuffles with the run's key).
      optimizer: 'sgd', 'momentum' (heavy ball; Nesterov) or 'adam' (optax).
      learning_rate: peak step size, > 0.
      momentum: for 'momentum', in [0, 1).
      schedule: 'constant' or 'cosine' (decay to 0 over all steps).
      chunk_epochs: epochs per compiled chunk; progress is reported and checkpoints may be written
        between chunks. >= 1.
      shuffle: reshuffle the examples every epoch with the run's key (True), or take minibatches
        in order. With ``batch_size`` = n and no shuffling an epoch is one full-batch gradient
        step on the data as stored (no copy), i.e. plain (momentum) gradient descent.
    """

    model: ModelConfig
    loss: KDConfig = KDConfig()
    epochs: int = 10
    batch_size: int = 128
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.9
    schedule: str = "constant"
    chunk_epochs: int = 1
    shuffle: bool = True

    def __post_init__(self):
        if not isinstance(self.model, ModelConfig):
            raise ValueError(f"model: expected a ModelConfig, got {type(self.model).__name__}")
        if not isinstance(self.loss, KDConfig):
            raise ValueError(f"loss: expected a KDConfig, got {type(self.loss).__name__}")
        _check_int("epochs", self.epochs)
        _check_int("batch_size", self.batch_size)
        _check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _check_real("learning_rate", self.learning_rate, low=0.0, low_open=True)
        _check_real("momentum", self.momentum, low=0.0)
        if self.momentum >= 1.0:
            raise ValueError(f"momentum: must be < 1, got {self.momentum}")
        _check_choice("schedule", self.schedule, SCHEDULES)
        _check_int("chunk_epochs", self.chunk_epochs)
        if not isinstance(self.shuffle, bool):
            raise ValueError(f"shuffle: expected True or False, got {self.shuffle!r}")
        if self.loss.task == "regression" and self.model.num_outputs != 1:
            raise ValueError(
                f"model.num_outputs: regression needs 1 output, got {self.model.num_outputs}"
            )
        if self.loss.task == "classification" and self.model.num_outputs < 2:
            raise ValueError(
                f"model.num_outputs: classification needs >= 2 classes, got "
                f"{self.model.num_outputs}"
            )


@dataclasses.dataclass(frozen=True, kw_only=True)
class SweepConfig:
    """The grid trained in one compiled program: seeds x kd_weights x temperatures (x teachers).

    Attributes:
      seeds: integer seeds (each gives the student's init and shuffling key).
      kd_weights: values of lam in [0, 1].
      temperatures: values of T > 0.
    """

    seeds: tuple[int, ...] = (0,)
    kd_weights: tuple[float, ...] = (0.5,)
    temperatures: tuple[float, ...] = (3.0,)

    def __post_init__(self):
        for name in ("seeds", "kd_weights", "temperatures"):
            values = tuple(getattr(self, name))
            if not values:
                raise ValueError(f"{name}: expected at least one value")
            object.__setattr__(self, name, values)
        for s in self.seeds:
            _check_int("seeds", s, minimum=0)
        for lam in self.kd_weights:
            _check_real("kd_weights", lam, low=0.0, high=1.0)
        for t in self.temperatures:
            _check_real("temperatures", t, low=0.0, low_open=True)

    @property
    def size(self) -> int:
        """Runs per teacher variant: len(seeds) * len(kd_weights) * len(temperatures)."""
        return len(self.seeds) * len(self.kd_weights) * len(self.temperatures)
