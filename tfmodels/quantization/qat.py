"""`quantize_model`: the QAT twin of a float Keras model, with the float weights copied in.

One mechanism makes every QAT twin: `quantize_graph` rebuilds a float graph with each `Dense`,
`Conv2D` and `Conv2DTranspose` replaced by its quantized layer. `quantize_model` applies it to
Sequential and functional models. A model class that builds its graph in `__init__`
(keras-hub style, e.g. `FCDenseNet`) takes part by accepting `quantize=` and calling
`quantize_graph` on its own graph when it is true: then `quantize_model` keeps the class, and
the twin's config (`quantize=True`) rebuilds it from a `.keras` file.
"""

import keras

from tfmodels.quantization.layers import QuantConv2D, QuantConv2DTranspose, QuantDense
from tfmodels.quantization.quantizers import Uniform, copy_quantizer

# Float layer -> (quantized twin, default int8 kernel quantizer). Per-channel kernels for Conv2D
# (TFLite folds them with BatchNorm); per-tensor for Dense and Conv2DTranspose, whose
# per-channel fake-quant the converter rejects ("mismatched quantized axes", TF 2.21).
_TWINS = {
    keras.layers.Dense: (QuantDense, lambda: Uniform(per_channel=False)),
    keras.layers.Conv2D: (QuantConv2D, lambda: Uniform(per_channel=True)),
    keras.layers.Conv2DTranspose: (QuantConv2DTranspose, lambda: Uniform(per_channel=False)),
}


def quantize_graph(
    inputs, outputs, kernel_quantizer=None, input_quantizer="int8", float_inputs=()
):
    """Returns `(inputs, outputs)` of the QAT twin of the functional graph `inputs -> outputs`.

    The twin has new layers (same names and configs, fresh weights): every `Dense`, `Conv2D` and
    `Conv2DTranspose` (exact classes, not subclasses) becomes `QuantDense`, `QuantConv2D`,
    `QuantConv2DTranspose`; every other layer is a copy. A model class that builds its graph
    in `__init__` calls this before `super().__init__(inputs, outputs)` when asked to
    quantize (see `FCDenseNet`); `quantize_model` calls it for functional models.

    Args:
        inputs, outputs: the graph's `keras.Input` tensors and output tensors (any structure).
        kernel_quantizer, input_quantizer: as for `quantize_model`.
        float_inputs: names of layers whose twins get no input quantizer; the converter then
            calibrates that input's int8 range from `representative_data`. Name the layers
            fed by a `Concatenate` (or by one of its operands): TFLite's int8 CONCATENATION
            gives its output and all its operands one scale, so a fake-quant range there would
            become the int8 grid of every tensor chained through the concatenations (see
            `FCDenseNet`), tensors the QAT graph never quantizes.

    Returns:
        `(new inputs, new outputs)` with the structures of `inputs` and `outputs`.

    Example:
    >>> x = keras.Input((8,))
    >>> new_x, y = quantize_graph(x, keras.layers.Dense(4, name="head")(x))
    >>> type(keras.Model(new_x, y).get_layer("head")).__name__
    'QuantDense'
    """
    graph = keras.Model(inputs, outputs)
    clone = _clone_function(kernel_quantizer, input_quantizer, float_inputs)
    unknown = sorted(set(float_inputs) - {layer.name for layer in graph.layers})
    if unknown:
        raise ValueError(f"float_inputs names layers that are not in the graph: {unknown}")
    twin = keras.models.clone_model(graph, clone_function=clone)
    return twin.input, twin.output


def quantize_model(model, kernel_quantizer=None, input_quantizer="int8", name=None):
    """Returns the quantization-aware twin of a Keras model, with the float weights copied in.

    - Sequential and functional models: every `Dense`, `Conv2D` and `Conv2DTranspose` layer
      (exact classes, not subclasses) becomes `QuantDense`, `QuantConv2D`,
      `QuantConv2DTranspose` with the same configuration (see `quantize_graph`); the twin is a
      Sequential or plain functional model.
    - Model classes that build a functional graph in `__init__` and take a `quantize=`
      argument (`FCDenseNet`): the twin is `type(model).from_config({**config,
      "quantize": True})`, so it keeps its class, its config and its `.keras` round trip. Such
      a class decides its quantizers (it calls `quantize_graph` with the defaults), so
      `kernel_quantizer` and `input_quantizer` must stay at their defaults.
    - Other functional subclasses become plain functional models (their class cannot be
      rebuilt from a config that does not describe the quantized graph).

    Layers of the same name get the float weights (kernels, biases, BatchNorm statistics);
    activation ranges start at `[-6, 6]` and are learned in the first QAT steps. Fine-tune the
    result with `model.fit`, then export it with
    `tfmodels.export.export_tflite(model, path, mode="int8", ...)`.

    Args:
        model: a built Keras model of one of the kinds above.
        kernel_quantizer: quantizer for every kernel (copied per layer); None = int8 defaults
            (`Uniform(per_channel=True)` for Conv2D, `Uniform()` per tensor for Dense and
            Conv2DTranspose).
        input_quantizer: quantizer for every quantized layer's input activations: `"int8"`
            (default: `Uniform(symmetric=False, narrow_range=False)`, range tracked by a moving
            average), a quantizer, or None to leave activations float (calibrate them at export).
        name: name of the new model (default: the old name + "_qat").

    Returns:
        A new, built model; the input model is unchanged.

    Example:
    >>> float_model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4)])
    >>> qat = quantize_model(float_model)
    >>> type(qat.layers[0]).__name__
    'QuantDense'
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a keras.Model; got {type(model).__name__}")
    if not model.built:
        raise ValueError(f"model {model.name!r} is not built: call it on data or build it first")
    name = name or f"{model.name}_qat"
    config = _class_config(model)
    if config is not None and "quantize" in config:
        if config["quantize"]:
            raise ValueError(f"model {model.name!r} is already quantization-aware")
        if kernel_quantizer is not None or input_quantizer != "int8":
            raise ValueError(
                f"{type(model).__name__} builds its own QAT graph (quantize=True): "
                "kernel_quantizer and input_quantizer must be left at their defaults"
            )
        qat = type(model).from_config({**config, "quantize": True, "name": name})
    elif is_graph_model(model):
        qat = keras.models.clone_model(
            model, clone_function=_clone_function(kernel_quantizer, input_quantizer)
        )
        qat.name = name
    else:
        raise ValueError(
            f"model {model.name!r} is a subclassed {type(model).__name__}: quantize_model needs "
            "a Sequential or functional model, or a model class that takes quantize= "
            "(see quantize_graph)"
        )
    _copy_weights(model, qat)
    return qat


def default_kernel_quantizer(layer):
    """The int8 kernel quantizer `quantize_model` gives `layer`, or None for a layer it leaves
    float (anything but an exact `Dense`, `Conv2D` or `Conv2DTranspose`)."""
    twin = _TWINS.get(type(layer))
    return None if twin is None else twin[1]()


def int8_activation_quantizer():
    """The quantizer of `quantize_model`'s default `input_quantizer="int8"`: TFLite's int8
    activations, asymmetric over the full range [-128, 127]."""
    return Uniform(bits=8, symmetric=False, narrow_range=False)


def quantized_twin(layer, kernel_quantizer=None, input_quantizer="int8"):
    """The QAT layer `quantize_model` puts in place of `layer`: a new, unbuilt layer of the same
    name and configuration (`QuantDense` for `Dense`, ...), or a copy of a layer it leaves float.

    Args:
        layer: a Keras layer.
        kernel_quantizer, input_quantizer: as for `quantize_model` (copied, not shared).
    """
    twin = _TWINS.get(type(layer))
    if twin is None:
        return layer.__class__.from_config(layer.get_config())
    if input_quantizer == "int8":
        input_quantizer = int8_activation_quantizer()
    config = layer.get_config()
    config.pop("quantization_config", None)
    return twin[0].from_config(
        {
            **config,
            "kernel_quantizer": copy_quantizer(kernel_quantizer) or twin[1](),
            "input_quantizer": copy_quantizer(input_quantizer),
        }
    )


def copy_float_weights(source, target):
    """Copies the weights of layer `source` into `target`, its copy or its `quantized_twin`
    (kernel and bias; the twin's activation ranges keep their initial values)."""
    if type(source) in _TWINS and isinstance(target, _TWINS[type(source)][0]):
        target.kernel.assign(source.kernel)
        if source.use_bias:
            target.bias.assign(source.bias)
    else:
        target.set_weights(source.get_weights())


def _clone_function(kernel_quantizer, input_quantizer, float_inputs=()):
    if isinstance(float_inputs, str):
        raise ValueError(f"float_inputs must be a collection of layer names; got {float_inputs!r}")
    float_inputs = frozenset(float_inputs)

    def clone(layer):
        return quantized_twin(
            layer, kernel_quantizer, None if layer.name in float_inputs else input_quantizer
        )

    return clone


def _class_config(model):
    """The config of a model class defined outside Keras, or None (Keras's own or none)."""
    if type(model).__module__.split(".")[0] == "keras":
        return None
    try:
        return model.get_config()
    except NotImplementedError:
        return None


def is_graph_model(model):
    """Whether `model` is a Sequential or functional model (what `quantize_model` clones)."""
    return isinstance(model, keras.Sequential) or _is_functional(model)


def _is_functional(model):
    # Keras exports no name for its Functional class; a graph model (keras.Model(inputs,
    # outputs) or a class building one in __init__) has it in its bases.
    return any(
        cls.__name__ == "Functional" and cls.__module__.startswith("keras.")
        for cls in type(model).__mro__
    )


def _copy_weights(model, qat):
    """Copies the weights of `model` into the layers of the same name in `qat`."""
    for old in model.layers:
        if old.weights:
            copy_float_weights(old, qat.get_layer(old.name))
