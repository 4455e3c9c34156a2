"""`quantize_model`: the QAT twin of a float Keras model, with the float weights copied in."""

import keras
from keras.src.models.functional import Functional

from tfmodels.quantization.layers import (
    QuantConv2D,
    QuantConv2DTranspose,
    QuantDense,
)
from tfmodels.quantization.quantizers import Uniform, copy_quantizer

# Float layer -> (quantized twin, default int8 kernel quantizer). Per-channel kernels for Conv2D
# (TFLite folds them with BatchNorm); per-tensor for Dense and Conv2DTranspose, whose
# per-channel fake-quant the converter rejects ("mismatched quantized axes", TF 2.21).
_TWINS = {
    keras.layers.Dense: (QuantDense, lambda: Uniform(per_channel=False)),
    keras.layers.Conv2D: (QuantConv2D, lambda: Uniform(per_channel=True)),
    keras.layers.Conv2DTranspose: (QuantConv2DTranspose, lambda: Uniform(per_channel=False)),
}


def _activation_default():
    return Uniform(bits=8, symmetric=False, narrow_range=False)


def quantize_model(model, kernel_quantizer=None, input_quantizer="int8", name=None):
    """Returns the quantization-aware twin of a Sequential or functional Keras model.

    Every `Dense`, `Conv2D` and `Conv2DTranspose` layer (exact classes, not subclasses) becomes
    `QuantDense`, `QuantConv2D`, `QuantConv2DTranspose` with the same configuration and weights;
    every other layer is cloned with its weights. Fine-tune the result with `model.fit` (QAT),
    then export it with `tfmodels.export.export_tflite(model, path, mode="int8", ...)`.

    Args:
        model: a built `keras.Sequential` or functional `keras.Model` (subclassed models cannot
            be rebuilt layer by layer: build them with their `quantize=` option instead).
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
    # Functional covers keras-hub style model classes that build a graph in __init__.
    if not isinstance(model, (keras.Sequential, Functional)):
        raise ValueError(
            f"model {model.name!r} is a subclassed {type(model).__name__}: quantize_model needs "
            "a Sequential or functional model (use the model builder's quantize= option)"
        )
    if input_quantizer == "int8":
        input_quantizer = _activation_default()

    def clone(layer):
        twin = _TWINS.get(type(layer))
        if twin is None:
            return layer.__class__.from_config(layer.get_config())
        quant_class, default_kernel_quantizer = twin
        config = layer.get_config()
        config.pop("quantization_config", None)
        return quant_class.from_config(
            {
                **config,
                "kernel_quantizer": copy_quantizer(kernel_quantizer) or default_kernel_quantizer(),
                "input_quantizer": copy_quantizer(input_quantizer),
            }
        )

    qat = keras.models.clone_model(model, clone_function=clone)
    qat.name = name or f"{model.name}_qat"
    for old, new in zip(model.layers, qat.layers):
        if type(old) in _TWINS:
            new.kernel.assign(old.kernel)
            if old.use_bias:
                new.bias.assign(old.bias)
        elif old.weights:
            new.set_weights(old.get_weights())
    return qat
