"""Pruning schedules: when to update the masks, and to what sparsity (tfmot's semantics).

A schedule maps the training step to `(should_prune, sparsity)`: the masks are recomputed at
steps `begin_step, begin_step + frequency, ...` up to `end_step` (-1: never stop), and hold in
between. Written with `keras.ops`, so the same schedule runs inside TensorFlow and JAX training
steps; a tensorflow-model-optimization schedule object (any callable with that contract) can be
given to `prune_low_magnitude` too, on the TensorFlow backend.
"""

import keras
from keras import ops


class PruningSchedule:
    """Base class: `__call__(step) -> (should_prune, sparsity)` as backend tensors."""

    def __call__(self, step):
        raise NotImplementedError

    def get_config(self):
        raise NotImplementedError

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _check(name, value, low, high, high_open=False):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number; got {value!r}")
    if not (low <= value < high if high_open else low <= value <= high):
        bracket = ")" if high_open else "]"
        raise ValueError(f"{name} must be in [{low}, {high}{bracket}; got {value!r}")


def _check_steps(begin_step, end_step, frequency):
    for name, value in (("begin_step", begin_step), ("end_step", end_step),
                        ("frequency", frequency)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{name} must be an integer; got {value!r}")
    if begin_step < 0:
        raise ValueError(f"begin_step must be >= 0; got {begin_step}")
    if end_step != -1 and end_step < begin_step:
        raise ValueError(f"end_step must be -1 or >= begin_step ({begin_step}); got {end_step}")
    if frequency < 1:
        raise ValueError(f"frequency must be >= 1; got {frequency}")


def should_prune_in_step(step, begin_step, end_step, frequency):
    """True (as a tensor) at `begin_step + k * frequency` within `[begin_step, end_step]`."""
    step = ops.cast(step, "int32")
    in_range = step >= begin_step
    if end_step != -1:
        in_range = ops.logical_and(in_range, step <= end_step)
    on_turn = ops.equal(ops.mod(step - begin_step, frequency), 0)
    return ops.logical_and(in_range, on_turn)


@keras.saving.register_keras_serializable("tfmodels")
class ConstantSparsity(PruningSchedule):
    """Prunes to `target_sparsity` at every update step from `begin_step` on.

    Args:
        target_sparsity: fraction of weights set to zero, in [0, 1).
        begin_step: first step that prunes.
        end_step: last step that may prune (-1: to the end of training).
        frequency: steps between mask updates.

    Example:
    >>> should_prune, sparsity = ConstantSparsity(0.5, begin_step=10, frequency=5)(15)
    >>> bool(should_prune), float(sparsity)
    (True, 0.5)
    """

    def __init__(self, target_sparsity, begin_step, end_step=-1, frequency=100):
        _check("target_sparsity", target_sparsity, 0.0, 1.0, high_open=True)
        _check_steps(begin_step, end_step, frequency)
        self.target_sparsity = float(target_sparsity)
        self.begin_step = begin_step
        self.end_step = end_step
        self.frequency = frequency

    def __call__(self, step):
        return (should_prune_in_step(step, self.begin_step, self.end_step, self.frequency),
                ops.convert_to_tensor(self.target_sparsity, "float32"))

    def get_config(self):
        return {"target_sparsity": self.target_sparsity, "begin_step": self.begin_step,
                "end_step": self.end_step, "frequency": self.frequency}


@keras.saving.register_keras_serializable("tfmodels")
class PolynomialDecay(PruningSchedule):
    """Sparsity rising from `initial_sparsity` to `final_sparsity` between `begin_step` and
    `end_step` along `final + (initial - final) * (1 - p) ** power`, `p` the fraction of the
    way (Zhu & Gupta, arXiv:1710.01878, as tfmot implements it).

    Args:
        initial_sparsity, final_sparsity: in [0, 1).
        begin_step, end_step: the ramp (end_step is required and > begin_step).
        power: the curve's exponent (3 prunes fast early, slowly late).
        frequency: steps between mask updates.

    Example:
    >>> schedule = PolynomialDecay(0.0, 0.8, begin_step=0, end_step=100, power=1, frequency=10)
    >>> round(float(schedule(50)[1]), 3)
    0.4
    """

    def __init__(self, initial_sparsity, final_sparsity, begin_step, end_step, power=3,
                 frequency=100):
        _check("initial_sparsity", initial_sparsity, 0.0, 1.0, high_open=True)
        _check("final_sparsity", final_sparsity, 0.0, 1.0, high_open=True)
        _check_steps(begin_step, end_step, frequency)
        if end_step == -1 or end_step <= begin_step:
            raise ValueError(f"end_step must be > begin_step ({begin_step}); got {end_step}")
        _check("power", power, 0.0, float("inf"))
        self.initial_sparsity = float(initial_sparsity)
        self.final_sparsity = float(final_sparsity)
        self.begin_step = begin_step
        self.end_step = end_step
        self.power = power
        self.frequency = frequency

    def __call__(self, step):
        fraction = (ops.cast(step, "float32") - self.begin_step) / (self.end_step - self.begin_step)
        fraction = ops.clip(fraction, 0.0, 1.0)
        sparsity = self.final_sparsity + (self.initial_sparsity - self.final_sparsity) * ops.power(
            1.0 - fraction, float(self.power))
        return (should_prune_in_step(step, self.begin_step, self.end_step, self.frequency),
                ops.cast(sparsity, "float32"))

    def get_config(self):
        return {"initial_sparsity": self.initial_sparsity, "final_sparsity": self.final_sparsity,
                "begin_step": self.begin_step, "end_step": self.end_step, "power": self.power,
                "frequency": self.frequency}
