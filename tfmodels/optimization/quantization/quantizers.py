"""tfmot's quantizer interface (`tfmot.quantization.keras.quantizers`) on tfmodels' quantizers.

A tfmot `Quantizer` is stateless: `build(tensor_shape, name, layer)` creates its variables on
the layer that owns it (a `QuantizeWrapper`) and returns them in a dict; `__call__(inputs,
training, weights)` quantizes with them. `LastValueQuantizer`, `MovingAverageQuantizer` and
`AllValuesQuantizer` are tfmot's standard ones, computed by `tfmodels.quantization` (`Uniform`,
and the range tracker of `ActivationQuantizer`): one QAT mechanism, two APIs. A `QuantizeConfig` may also return any
`tfmodels.quantization` quantizer (`Uniform()`, `Ternary()`, ...); `as_tfmot_quantizer` gives
it this interface.
"""

import abc

import keras

from tfmodels.quantization.layers import (
    RANGE_MOMENTUM,
    add_range_variables,
    quantize_to_tracked_range,
)
from tfmodels.quantization.quantizers import Uniform, copy_quantizer, get_quantizer

# tfmot's MovingAvgQuantize decays its ranges with 0.999 per training step.
_TFMOT_EMA_DECAY = 0.999


class Quantizer(abc.ABC):
    """tfmot's quantizer interface: subclass it for a custom quantizer in a `QuantizeConfig`.

    Porting a tfmot quantizer: `tf.*` / `tf.keras.backend.*` ops become `keras.ops`, and
    variables are read with `.value` inside `keras.ops` calls (JAX refuses a Keras variable
    there). `layer.add_weight` takes `shape` first in Keras 3, but `QuantizeWrapper.add_weight`
    also accepts tf_keras's `add_weight(name, ...)` (shape `()` by default), so `build` ports
    unchanged.

    Example:
    >>> class FixedRangeQuantizer(Quantizer):
    ...     def build(self, tensor_shape, name, layer):
    ...         return {"range": layer.add_weight(name=name + "_range", shape=(),
    ...                                           initializer=keras.initializers.Constant(6.0),
    ...                                           trainable=False)}
    ...     def __call__(self, inputs, training, weights, **kwargs):
    ...         return keras.ops.clip(inputs, 0.0, weights["range"].value)
    ...     def get_config(self):
    ...         return {}
    """

    @abc.abstractmethod
    def build(self, tensor_shape, name, layer):
        """Creates the quantizer's variables on `layer`; returns them as a dict."""

    @abc.abstractmethod
    def __call__(self, inputs, training, weights, **kwargs):
        """Returns `inputs` quantized (float values), using the variables `build` returned."""

    @abc.abstractmethod
    def get_config(self):
        """The constructor arguments."""

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __eq__(self, other):
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __ne__(self, other):
        return not self == other


def _check_uniform_args(num_bits, per_axis, symmetric, narrow_range):
    if not isinstance(num_bits, int) or isinstance(num_bits, bool) or not 2 <= num_bits <= 16:
        raise ValueError(f"num_bits must be an integer in [2, 16]; got {num_bits!r}")
    for name, value in (("per_axis", per_axis), ("symmetric", symmetric),
                        ("narrow_range", narrow_range)):
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be a bool; got {value!r}")
    return Uniform(bits=num_bits, symmetric=symmetric, per_channel=per_axis,
                   narrow_range=narrow_range)


@keras.saving.register_keras_serializable("tfmodels")
class LastValueQuantizer(Quantizer):
    """tfmot's weight quantizer: uniform fake quantization to the range of the tensor itself.

    Computed by `tfmodels.quantization.Uniform` (`per_axis` = `per_channel`, along the last
    axis). Unlike tfmot, which stores the range of the last training step and reuses it at
    inference, the range is the current value's at every call (the same in training; at
    inference it is the trained weights' own range). It creates no variables. For activations
    use `MovingAverageQuantizer`.

    Args:
        num_bits: 2 to 16.
        per_axis: one range per output channel (last axis).
        symmetric: range `[-max|x|, max|x|]` (zero point 0, what TFLite wants for weights).
        narrow_range: `2^bits - 1` levels (int8: -127..127).
    """

    def __init__(self, num_bits, per_axis, symmetric, narrow_range):
        self.quantizer = _check_uniform_args(num_bits, per_axis, symmetric, narrow_range)

    def build(self, tensor_shape, name, layer):
        return {}

    def __call__(self, inputs, training, weights, **kwargs):
        return self.quantizer(inputs)

    def get_config(self):
        q = self.quantizer
        return {"num_bits": q.bits, "per_axis": q.per_channel, "symmetric": q.symmetric,
                "narrow_range": q.narrow_range}


@keras.saving.register_keras_serializable("tfmodels")
class MovingAverageQuantizer(Quantizer):
    """tfmot's activation quantizer: uniform fake quantization to a moving-average range.

    The range variables and their update are `ActivationQuantizer`'s
    (`tfmodels.quantization.layers.quantize_to_tracked_range`): updated in training calls
    (decay 0.999 per step, tfmot's; the first batch sets the range, where tfmot starts from
    `[-6, 6]`), used as stored at inference, which is the range the TFLite converter bakes in.

    Args:
        num_bits: 2 to 16.
        per_axis: must be False (activation ranges are per tensor).
        symmetric, narrow_range: as for `LastValueQuantizer` (activations: both False).
    """

    def __init__(self, num_bits, per_axis, symmetric, narrow_range):
        if per_axis:
            raise ValueError(f"{type(self).__name__}: per_axis=True is not supported "
                             "(activation ranges are per tensor)")
        self.quantizer = _check_uniform_args(num_bits, per_axis, symmetric, narrow_range)

    def build(self, tensor_shape, name, layer):
        lo, hi, seen = add_range_variables(layer, prefix=f"{name}_")
        return {"min_var": lo, "max_var": hi, "initialized": seen}

    def __call__(self, inputs, training, weights, **kwargs):
        variables = (weights["min_var"], weights["max_var"], weights["initialized"])
        return quantize_to_tracked_range(self.quantizer, inputs, variables, _TFMOT_EMA_DECAY,
                                         training)

    def get_config(self):
        q = self.quantizer
        return {"num_bits": q.bits, "per_axis": False, "symmetric": q.symmetric,
                "narrow_range": q.narrow_range}


@keras.saving.register_keras_serializable("tfmodels")
class AllValuesQuantizer(MovingAverageQuantizer):
    """tfmot's quantizer with the range of all values seen in training (running min and max).

    Same variables and arguments as `MovingAverageQuantizer`; the range only grows.
    """

    def __call__(self, inputs, training, weights, **kwargs):
        variables = (weights["min_var"], weights["max_var"], weights["initialized"])
        return quantize_to_tracked_range(self.quantizer, inputs, variables, None, training)


class _WeightQuantizer(Quantizer):
    """A `tfmodels.quantization` quantizer on a weight: applied as the Quant layers apply it."""

    def __init__(self, quantizer):
        self.quantizer = copy_quantizer(quantizer)

    @property
    def stochastic(self):
        return self.quantizer.stochastic

    def build(self, tensor_shape, name, layer):
        return {}

    def __call__(self, inputs, training, weights, seed=None, channel_axis=-1, **kwargs):
        return self.quantizer(inputs, training=bool(training), seed=seed,
                              channel_axis=channel_axis)

    def get_config(self):
        return {"quantizer": keras.saving.serialize_keras_object(self.quantizer)}


class _ActivationQuantizer(_WeightQuantizer):
    """A `tfmodels.quantization` quantizer on an activation: as `ActivationQuantizer` applies
    it (a `Uniform` range tracked with its default momentum, others applied directly)."""

    def build(self, tensor_shape, name, layer):
        if not isinstance(self.quantizer, Uniform):
            return {}
        if self.quantizer.per_channel:
            raise ValueError(f"{name}: activation quantizers must be per tensor; got "
                             f"{self.quantizer!r}")
        lo, hi, seen = add_range_variables(layer, prefix=f"{name}_")
        return {"min_var": lo, "max_var": hi, "initialized": seen}

    def __call__(self, inputs, training, weights, seed=None, **kwargs):
        if not weights:
            return super().__call__(inputs, training, weights, seed=seed)
        variables = (weights["min_var"], weights["max_var"], weights["initialized"])
        return quantize_to_tracked_range(self.quantizer, inputs, variables, RANGE_MOMENTUM,
                                         training)


def as_tfmot_quantizer(quantizer, kind, where):
    """`quantizer` with tfmot's `Quantizer` interface.

    Args:
        quantizer: a `Quantizer` (returned as is) or a `tfmodels.quantization` quantizer.
        kind: `"weight"` (applied to the value) or `"activation"` (`Uniform` ranges tracked).
        where: what returned it, for the error message.
    """
    if isinstance(quantizer, Quantizer):
        return quantizer
    try:
        quantizer = get_quantizer(quantizer, where)
    except ValueError:
        quantizer = None
    if quantizer is None:
        raise ValueError(
            f"{where} must be a tfmodels.optimization.quantization.quantizers.Quantizer "
            "(LastValueQuantizer, MovingAverageQuantizer or a subclass) or a "
            "tfmodels.quantization quantizer (Uniform(), Ternary(), ...)")
    return _WeightQuantizer(quantizer) if kind == "weight" else _ActivationQuantizer(quantizer)
