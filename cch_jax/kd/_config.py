"""Frozen, keyword-only configuration of the KD trainer, validated at construction.

Static choices (model, widths, epochs, batch size, optimizer) live here; the swept quantities
(seeds, the KD weight kd_weight and the temperature T) become traced arrays through :class:`SweepConfig`,
so that a whole grid is one compiled program.
"""

from __future__ import annotations

import dataclasses

from cch_jax import _checks

MODEL_NAMES = ("linear", "mlp", "cnn")
TASKS = ("classification", "regression")
OPTIMIZERS = ("sgd", "momentum", "adam")
SCHEDULES = ("constant", "cosine")
CONV_IMPLS = ("auto", "lax", "patches")

_DEFAULT_HIDDEN = {"linear": (), "mlp": (128,), "cnn": (32, 64, 128)}


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
      conv: the CNN's convolution kernel: 'lax' (XLA's convolution; on CPU with a hand-written
        backward pass of plain convolutions, since autodiff's run ~100x slower inside XLA:CPU
        loops), 'patches' (shifted copies and one matmul) or 'auto' (= 'lax'). All compute the same
        function; under ``jax.vmap`` over parameters (seed sweeps) the CPU path uses patches.
    """

    name: str
    input_shape: tuple[int, ...]
    num_outputs: int
    hidden: tuple[int, ...] = ()
    use_bias: bool = True
    conv: str = "auto"

    def __post_init__(self):
        _checks.check_choice("name", self.name, MODEL_NAMES)
        _checks.check_choice("conv", self.conv, CONV_IMPLS)
        shape = _checks.check_int_tuple("input_shape", self.input_shape, minimum=1, min_length=1)
        object.__setattr__(self, "input_shape", shape)
        object.__setattr__(
            self, "num_outputs", _checks.check_int("num_outputs", self.num_outputs, minimum=1)
        )
        _checks.check_bool("use_bias", self.use_bias)
        hidden = (
            _checks.check_int_tuple("hidden", self.hidden, minimum=1) or _DEFAULT_HIDDEN[self.name]
        )
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
      task: 'classification' ((1 - kd_weight) CE + kd_weight T^2 KL) or 'regression'
        ((1 - kd_weight) (y - yhat)^2 + kd_weight (t - yhat)^2).
      kd_weight: in [0, 1], the weight on the KD term (paper: 0.5).
      temperature: T > 0 (paper: 3); unused for regression.
    """

    task: str = "classification"
    kd_weight: float = 0.5
    temperature: float = 3.0

    def __post_init__(self):
        _checks.check_choice("task", self.task, TASKS)
        _checks.check_real("kd_weight", self.kd_weight, low=0.0, high=1.0)
        _checks.check_real("temperature", self.temperature, low=0.0, low_open=True)


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
        _checks.check_instance("model", self.model, ModelConfig)
        _checks.check_instance("loss", self.loss, KDConfig)
        _checks.check_int("epochs", self.epochs, minimum=1)
        _checks.check_int("batch_size", self.batch_size, minimum=1)
        _checks.check_choice("optimizer", self.optimizer, OPTIMIZERS)
        _checks.check_real("learning_rate", self.learning_rate, low=0.0, low_open=True)
        _checks.check_real("momentum", self.momentum, low=0.0, high=1.0, high_open=True)
        _checks.check_choice("schedule", self.schedule, SCHEDULES)
        _checks.check_int("chunk_epochs", self.chunk_epochs, minimum=1)
        _checks.check_bool("shuffle", self.shuffle)
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
      kd_weights: values of kd_weight in [0, 1].
      temperatures: values of T > 0.
    """

    seeds: tuple[int, ...] = (0,)
    kd_weights: tuple[float, ...] = (0.5,)
    temperatures: tuple[float, ...] = (3.0,)

    def __post_init__(self):
        seeds = _checks.check_int_tuple("seeds", self.seeds, minimum=0, min_length=1)
        kd_weights = _checks.check_real_tuple(
            "kd_weights", self.kd_weights, low=0.0, high=1.0, min_length=1
        )
        temperatures = _checks.check_real_tuple(
            "temperatures", self.temperatures, low=0.0, low_open=True, min_length=1
        )
        object.__setattr__(self, "seeds", seeds)
        object.__setattr__(self, "kd_weights", kd_weights)
        object.__setattr__(self, "temperatures", temperatures)

    @property
    def size(self) -> int:
        """Runs per teacher variant: len(seeds) * len(kd_weights) * len(temperatures)."""
        return len(self.seeds) * len(self.kd_weights) * len(self.temperatures)
