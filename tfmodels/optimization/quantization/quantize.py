"""tfmot's QAT entry points on Keras 3: annotate layers, then apply quantization.

    model = quantize_annotate_model(keras.Sequential([
        quantize_annotate_layer(CustomLayer(20), CustomConfig()),  # custom config
        keras.layers.Dense(10),                                   # tfmodels' default
    ]))
    with quantize_scope({"CustomConfig": CustomConfig, "CustomLayer": CustomLayer}):
        qat = quantize_apply(model)

Layers with tfmodels' default config become the layers `tfmodels.quantization.quantize_model`
makes (`QuantDense`, `QuantConv2D`, `QuantConv2DTranspose`, same names, weights copied), so
`quantize_apply(quantize_annotate_model(model))` is `quantize_model(model)` layer for layer;
layers with any other config become `QuantizeWrapper`s named `"quant_" + name`.
"""

import keras

from tfmodels.optimization.quantization.quantize_annotate import QuantizeAnnotate
from tfmodels.optimization.quantization.quantize_config import (
    Default8BitQuantizeConfig,
    QuantizeConfig,
    default_quantize_config,
)
from tfmodels.optimization.quantization.quantize_wrapper import QuantizeWrapper
from tfmodels.optimization.quantization.quantizers import (
    AllValuesQuantizer,
    LastValueQuantizer,
    MovingAverageQuantizer,
    Quantizer,
)
from tfmodels.quantization.qat import copy_float_weights, is_graph_model, quantized_twin


def quantize_annotate_layer(to_annotate, quantize_config=None):
    """Marks a layer for `quantize_apply`, with `quantize_config` (None: tfmodels' default).

    Use it while building a Sequential or functional model; `quantize_annotate_model` keeps
    these annotations.

    Example:
    >>> model = keras.Sequential([keras.Input((4,)), quantize_annotate_layer(keras.layers.Dense(2))])
    >>> type(quantize_apply(model).layers[0]).__name__
    'QuantDense'
    """
    return QuantizeAnnotate(to_annotate, quantize_config)


def quantize_annotate_model(to_annotate):
    """A copy of a Sequential or functional model with every layer tfmodels quantizes by
    default (Dense, Conv2D, Conv2DTranspose) annotated; layers annotated already keep their
    annotation and config; the others stay float, as in `quantize_model`. Weights are copied.

    Unlike tfmot, a layer without a default config is left float, not an error; annotate it
    with `quantize_annotate_layer(layer, config)` to quantize it.
    """
    _check_model(to_annotate, "quantize_annotate_model", "to_annotate")

    def clone(layer):
        _check_not_nested(layer, "quantize_annotate_model")
        if isinstance(layer, QuantizeAnnotate):
            return QuantizeAnnotate(_copy(layer.layer), layer.quantize_config, name=layer.name)
        if default_quantize_config(layer) is not None:
            return QuantizeAnnotate(_copy(layer))
        return _copy(layer)

    annotated = keras.models.clone_model(to_annotate, clone_function=clone)
    sources = {_inner(layer).name: _inner(layer) for layer in to_annotate.layers}
    for layer in annotated.layers:
        if layer.weights:
            _inner(layer).set_weights(sources[_inner(layer).name].get_weights())
    return annotated


def quantize_apply(model, quantized_layer_name_prefix="quant_"):
    """The QAT model of an annotated Sequential or functional model, weights copied.

    Annotated layers with tfmodels' default config (`Default8BitQuantizeConfig`, or None on a
    Dense, Conv2D or Conv2DTranspose) become `quantize_model`'s layers (`QuantDense`, ...,
    same name); annotated layers with another config become
    `QuantizeWrapper(layer, config)` named `quantized_layer_name_prefix + name`; the rest are
    copies. The input model is unchanged.

    Custom classes need no `quantize_scope` here (layers and configs are copied as objects);
    loading the saved model does.

    Raises:
        ValueError: a model that is not Sequential/functional or not built, no annotated
            layer, or a layer annotated without config that tfmodels has no default for.
    """
    _check_model(model, "quantize_apply", "model")
    annotations = [layer for layer in model.layers if isinstance(layer, QuantizeAnnotate)]
    if not annotations:
        raise ValueError(f"quantize_apply: model {model.name!r} has no annotated layer; "
                         "use quantize_annotate_model or quantize_annotate_layer first")
    for annotation in annotations:
        inner = annotation.layer
        if annotation.quantize_config is None and default_quantize_config(inner) is None:
            raise ValueError(
                f"quantize_apply: layer {inner.name!r} ({type(inner).__name__}) has no default "
                "QuantizeConfig; annotate it with quantize_annotate_layer(layer, quantize_config)")
    sources = {}

    def clone(layer):
        _check_not_nested(layer, "quantize_apply")
        if not isinstance(layer, QuantizeAnnotate):
            new = _copy(layer)
        else:
            inner, config = layer.layer, layer.quantize_config
            if config is None or (type(config) is Default8BitQuantizeConfig
                                  and default_quantize_config(inner) is not None):
                new = quantized_twin(inner)
            else:
                new = QuantizeWrapper(_copy(inner), config,
                                      name=f"{quantized_layer_name_prefix}{inner.name}")
        sources[new.name] = _inner(layer)
        return new

    qat = keras.models.clone_model(model, clone_function=clone)
    for layer in qat.layers:
        if layer.weights:
            source = sources[layer.name]
            copy_float_weights(source, layer.layer if isinstance(layer, QuantizeWrapper)
                               else layer)
    return qat


def quantize_scope(*args):
    """A `keras.saving.CustomObjectScope` with tfmodels' QAT classes and the dicts in `args`
    (`{"MyConfig": MyConfig, "MyLayer": MyLayer}`): load a saved QAT model within it.

    Example:
    >>> with quantize_scope():
    ...     pass
    """
    objects = {cls.__name__: cls for cls in (
        QuantizeAnnotate, QuantizeWrapper, QuantizeConfig, Default8BitQuantizeConfig,
        Quantizer, LastValueQuantizer, MovingAverageQuantizer, AllValuesQuantizer)}
    for i, arg in enumerate(args):
        if not isinstance(arg, dict):
            raise ValueError(f"quantize_scope: argument {i} must be a dict {{name: class}}; got "
                             f"{type(arg).__name__}")
        objects.update(arg)
    return keras.saving.CustomObjectScope(objects)


def _copy(layer):
    return layer.__class__.from_config(layer.get_config())


def _inner(layer):
    return layer.layer if isinstance(layer, (QuantizeAnnotate, QuantizeWrapper)) else layer


def _check_model(model, function, argument):
    if not isinstance(model, keras.Model) or not is_graph_model(model):
        raise ValueError(f"{function}: {argument} must be a Sequential or functional "
                         f"keras.Model; got {type(model).__name__}")
    if not model.built:
        raise ValueError(f"{function}: model {model.name!r} is not built: call it on data or "
                         "build it first")


def _check_not_nested(layer, function):
    if isinstance(layer, keras.Model):
        raise ValueError(f"{function}: nested model {layer.name!r}; quantize the inner model's "
                         "layers before nesting it")
