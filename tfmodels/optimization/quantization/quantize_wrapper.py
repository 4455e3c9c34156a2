"""`QuantizeWrapper`: a layer quantized as its `QuantizeConfig` says (tfmot's wrapper, Keras 3).

Each call: the input quantizers (tfmodels extension) quantize the inputs; the weight
quantizers quantize the variables `get_weights_and_quantizers` named; `set_quantize_weights`
and `set_quantize_activations` assign the quantized weights and quantize-aware activations to
the layer, which then runs; the output quantizers quantize its outputs. The assignments last
for the call only (see `QuantizeConfig`), so the wrapped layer keeps its variables, its float
activation and its config. Quantizer state (activation ranges) lives in the wrapper; the
gradient reaches the wrapped layer's variables through the quantizers' straight-through
estimators. `keras.ops` only: it trains on TensorFlow and JAX.
"""

import contextlib

import keras
from keras import ops

from tfmodels.optimization.quantization.quantize_config import QuantizeConfig
from tfmodels.optimization.quantization.quantizers import as_tfmot_quantizer


class _Assignments:
    """Stands for the layer in `set_quantize_*`: reads go to the layer, assignments are kept."""

    def __init__(self, layer):
        object.__setattr__(self, "_layer", layer)
        object.__setattr__(self, "assigned", {})

    def __getattr__(self, name):
        assigned = object.__getattribute__(self, "assigned")
        if name in assigned:
            return assigned[name]
        return getattr(object.__getattribute__(self, "_layer"), name)

    def __setattr__(self, name, value):
        self.assigned[name] = value


def _storage(layer, name):
    """The instance attribute that holds `layer.<name>`: itself, or for a read-only property
    (Keras 3's `Dense.kernel`) the attribute holding the object the property returns."""
    attributes = vars(layer)
    if name in attributes:
        return name
    prop = getattr(type(layer), name, None)
    if prop is None:
        return name
    if isinstance(prop, property):
        current = getattr(layer, name)
        holders = [key for key, value in attributes.items() if value is current]
        if holders:
            return f"_{name}" if f"_{name}" in holders else holders[0]
    raise ValueError(
        f"set_quantize_weights/activations assigned {type(layer).__name__}.{name}, which is "
        "computed (not stored) on this layer; assign the attribute that stores it")


_MISSING = object()


@contextlib.contextmanager
def _swapped(layer, assigned):
    saved = []
    try:
        for name, value in assigned.items():
            attribute = _storage(layer, name)
            saved.append((attribute, vars(layer).get(attribute, _MISSING)))
            # object.__setattr__: a tensor held for one call is not state to track.
            object.__setattr__(layer, attribute, value)
        yield
    finally:
        for attribute, value in reversed(saved):
            if value is _MISSING:
                object.__delattr__(layer, attribute)
            else:
                object.__setattr__(layer, attribute, value)


class _QuantizeAwareActivation:
    """`quantizer(activation(x))`, tfmot's QuantizeAwareActivation for one call."""

    def __init__(self, activation, quantizer, weights, training, seed):
        self.activation = activation
        self.quantizer = quantizer
        self.weights = weights
        self.training = training
        self.seed = seed
        self.__name__ = getattr(activation, "__name__", "activation")

    def __call__(self, x):
        if self.activation is not None:
            x = self.activation(x)
        return _apply(self.quantizer, x, self.training, self.weights, self.seed)


def _apply(quantizer, x, training, weights, seed, **kwargs):
    if getattr(quantizer, "stochastic", None) is not None:  # tfmodels' adapters take a seed
        return quantizer(x, training, weights, seed=seed, **kwargs)
    return quantizer(x, training, weights)


@keras.saving.register_keras_serializable("tfmodels")
class QuantizeWrapper(keras.layers.Wrapper):
    """Quantizes `layer` as `quantize_config` says (tfmot's `QuantizeWrapper`, Keras 3).

    Usually made by `quantize_apply` from a layer annotated with `quantize_annotate_layer`.

    Args:
        layer: the Keras layer to quantize.
        quantize_config: a `QuantizeConfig`.
        seed: seed for stochastic tfmodels quantizers (`Ternary(stochastic=True)`, ...).
        **kwargs: layer arguments (`name` defaults to `"quant_" + layer.name`).

    Example:
    >>> from tfmodels.optimization.quantization import Default8BitQuantizeConfig
    >>> layer = QuantizeWrapper(keras.layers.Dense(3), Default8BitQuantizeConfig())
    >>> tuple(layer(keras.ops.ones((2, 4))).shape)
    (2, 3)
    """

    def __init__(self, layer, quantize_config, seed=None, **kwargs):
        if not isinstance(layer, keras.layers.Layer) or isinstance(layer, keras.Model):
            raise ValueError(f"layer must be a Keras layer (not a model); got {layer!r}")
        if isinstance(layer, QuantizeWrapper):
            raise ValueError(f"layer {layer.name!r} is already a QuantizeWrapper")
        if not isinstance(quantize_config, QuantizeConfig):
            raise ValueError(
                f"quantize_config of {layer.name!r} must be a "
                f"tfmodels.optimization.quantization.QuantizeConfig; got {quantize_config!r}")
        kwargs.setdefault("name", f"quant_{layer.name}")
        super().__init__(layer, **kwargs)
        self.quantize_config = quantize_config
        self.seed = seed

    def add_weight(self, *args, **kwargs):
        # tf_keras's add_weight(name, shape, ...) order, as tfmot quantizers call it; a str is
        # never a shape, so the Keras 3 order is untouched.
        if args and isinstance(args[0], str):
            kwargs["name"] = args[0]
            args = args[1:]
            if args:
                kwargs["shape"] = args[0]
                args = args[1:]
        kwargs.setdefault("shape", ())
        return super().add_weight(*args, **kwargs)

    def build(self, input_shape=None):
        if not self.layer.built:
            self.layer.build(input_shape)
        layer, config = self.layer, self.quantize_config
        where = f"{type(config).__name__} for layer {layer.name!r}"
        channel_axis = -2 if isinstance(layer, keras.layers.Conv2DTranspose) else -1

        plan = {"weights": [], "activations": [], "inputs": [], "outputs": [],
                "channel_axis": channel_axis}
        for i, (weight, quantizer) in enumerate(config.get_weights_and_quantizers(layer)):
            if not isinstance(weight, keras.Variable):
                raise ValueError(f"{where}: get_weights_and_quantizers must return variables; "
                                 f"item {i} is {type(weight).__name__}")
            quantizer = as_tfmot_quantizer(quantizer, "weight", where)
            name = weight.name
            plan["weights"].append((weight, quantizer, quantizer.build(weight.shape, name, self)))
        for i, (activation, quantizer) in enumerate(config.get_activations_and_quantizers(layer)):
            quantizer = as_tfmot_quantizer(quantizer, "activation", where)
            plan["activations"].append(
                (activation, quantizer, quantizer.build(None, f"activation_{i}", self)))
        input_quantizers = getattr(config, "get_input_quantizers", lambda _: [])(layer)
        for i, quantizer in enumerate(input_quantizers):
            quantizer = as_tfmot_quantizer(quantizer, "activation", where)
            plan["inputs"].append((quantizer, quantizer.build(input_shape, f"input_{i}", self)))
        output_shape = layer.compute_output_shape(input_shape)
        for i, quantizer in enumerate(config.get_output_quantizers(layer)):
            quantizer = as_tfmot_quantizer(quantizer, "activation", where)
            plan["outputs"].append((quantizer, quantizer.build(output_shape, f"output_{i}", self)))
        stochastic = any(getattr(q, "stochastic", False) for _, q, _ in plan["weights"])
        self.seed_generator = keras.random.SeedGenerator(self.seed) if stochastic else None
        # Not tracked: the variables belong to the wrapped layer, or are already the wrapper's.
        object.__setattr__(self, "_plan", plan)
        self.built = True

    def call(self, inputs, training=None, **kwargs):
        plan, seed = self._plan, self.seed_generator
        if plan["inputs"]:
            flat = keras.tree.flatten(inputs)
            if len(flat) != len(plan["inputs"]):
                raise ValueError(f"{self.name}: {len(plan['inputs'])} input quantizers for "
                                 f"{len(flat)} inputs")
            flat = [_apply(q, x, training, w, seed) for (q, w), x in zip(plan["inputs"], flat)]
            inputs = keras.tree.pack_sequence_as(inputs, flat)
        quantized = [
            self._compute_dtype_of(
                weight, _apply(q, weight.value, training, w, seed,
                               channel_axis=plan["channel_axis"]))
            for weight, q, w in plan["weights"]
        ]
        activations = [_QuantizeAwareActivation(fn, q, w, training, seed)
                       for fn, q, w in plan["activations"]]
        assignments = _Assignments(self.layer)
        self.quantize_config.set_quantize_weights(assignments, quantized)
        self.quantize_config.set_quantize_activations(assignments, activations)
        if training is not None:
            kwargs["training"] = training
        with _swapped(self.layer, assignments.assigned):
            outputs = self.layer(inputs, **kwargs)
        if plan["outputs"]:
            flat = keras.tree.flatten(outputs)
            if len(flat) != len(plan["outputs"]):
                raise ValueError(f"{self.name}: {len(plan['outputs'])} output quantizers for "
                                 f"{len(flat)} outputs")
            flat = [_apply(q, y, training, w, seed) for (q, w), y in zip(plan["outputs"], flat)]
            outputs = keras.tree.pack_sequence_as(outputs, flat)
        return outputs

    def _compute_dtype_of(self, weight, value):
        # Quantized from the float32 variable, used as the layer would read the variable:
        # autocast to its compute dtype under mixed precision.
        compute_dtype = self.layer.compute_dtype
        if ("float" in weight.dtype and "float" in compute_dtype
                and getattr(weight, "autocast", True) and compute_dtype != weight.dtype):
            return ops.cast(value, compute_dtype)
        return value

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "quantize_config": keras.saving.serialize_keras_object(self.quantize_config),
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["layer"] = keras.saving.deserialize_keras_object(config["layer"],
                                                                custom_objects=custom_objects)
        config["quantize_config"] = keras.saving.deserialize_keras_object(
            config["quantize_config"], custom_objects=custom_objects)
        return cls(**config)
