"""`prune_low_magnitude` and `strip_pruning`: tfmot's pruning entry points for Keras 3 models."""

import keras
import numpy as np

from tfmodels.optimization.sparsity.prune_low_magnitude import PruneLowMagnitude, prunable_weights


def prune_low_magnitude(to_prune, pruning_schedule=None, block_size=(1, 1),
                        block_pooling_type="AVG", sparsity_m_by_n=None):
    """Wraps a layer, or every prunable layer of a model, in `PruneLowMagnitude`.

    A layer comes back wrapped. A Sequential or functional model comes back as a new model of
    the same kind whose layers with prunable weights (Dense, Conv*, Embedding, RNN layers, the
    tfmodels Quant layers, `PrunableLayer`s) are wrapped and hold the original weights; other
    layers are copies. The input is unchanged. Train with `UpdatePruningStep` among the
    callbacks, then `strip_pruning` for export.

    Args:
        to_prune: a built Keras layer, Sequential or functional model.
        pruning_schedule, block_size, block_pooling_type, sparsity_m_by_n: as for
            `PruneLowMagnitude` (one value for every wrapped layer).

    Returns:
        The wrapped layer or the new model.

    Example:
    >>> model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, name="dense")])
    >>> pruned = prune_low_magnitude(model, ConstantSparsity(0.5, 0))
    >>> pruned.layers[0].name
    'prune_low_magnitude_dense'
    """
    options = dict(pruning_schedule=pruning_schedule, block_size=block_size,
                   block_pooling_type=block_pooling_type, sparsity_m_by_n=sparsity_m_by_n)
    if not isinstance(to_prune, keras.Model):
        if not isinstance(to_prune, keras.layers.Layer):
            raise ValueError("to_prune must be a Keras layer or a Sequential/functional model; "
                             f"got {type(to_prune).__name__}")
        return PruneLowMagnitude(to_prune, **options)
    _check_graph_model(to_prune, "prune_low_magnitude")
    if any(isinstance(layer, PruneLowMagnitude) for layer in to_prune.layers):
        raise ValueError(f"model {to_prune.name!r} is already pruned (it has PruneLowMagnitude "
                         "layers); strip_pruning it first")

    def clone(layer):
        if isinstance(layer, keras.Model):
            raise ValueError(f"nested model {layer.name!r}: prune_low_magnitude wraps layers, "
                             "not models; prune the inner model before nesting it")
        copy = layer.__class__.from_config(layer.get_config())
        if not layer.weights or not prunable_weights(layer):
            return copy
        return PruneLowMagnitude(copy, **options)

    pruned = keras.models.clone_model(to_prune, clone_function=clone)
    for layer in pruned.layers:
        inner = layer.layer if isinstance(layer, PruneLowMagnitude) else layer
        if inner.weights:
            inner.set_weights(to_prune.get_layer(inner.name).get_weights())
    return pruned


def strip_pruning(model):
    """The model without its pruning wrappers, with the masks applied to the weights.

    What export takes: the layers are the original classes again and pruned weights are
    exactly zero. A single `PruneLowMagnitude` layer gives back its wrapped layer.
    """
    if isinstance(model, PruneLowMagnitude):
        model.apply_masks()
        return model.layer
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a Keras model or a PruneLowMagnitude layer; got "
                         f"{type(model).__name__}")
    _check_graph_model(model, "strip_pruning")
    for layer in model.layers:
        if isinstance(layer, PruneLowMagnitude):
            layer.apply_masks()

    def clone(layer):
        inner = layer.layer if isinstance(layer, PruneLowMagnitude) else layer
        return inner.__class__.from_config(inner.get_config())

    stripped = keras.models.clone_model(model, clone_function=clone)
    for layer in model.layers:
        inner = layer.layer if isinstance(layer, PruneLowMagnitude) else layer
        if inner.weights:
            stripped.get_layer(inner.name).set_weights(inner.get_weights())
    return stripped


def pruning_summary(model):
    """`{weight path: fraction of zeros}` for every weight a `PruneLowMagnitude` layer of
    `model` prunes (what `PruningSummaries` logs)."""
    layers = [model] if isinstance(model, PruneLowMagnitude) else model.layers
    summary = {}
    for layer in layers:
        if isinstance(layer, PruneLowMagnitude):
            for weight, mask in zip(layer.pruned_weights, layer.masks):
                summary[weight.path] = float(1.0 - np.mean(keras.ops.convert_to_numpy(mask)))
    return summary


def _check_graph_model(model, function):
    if isinstance(model, keras.Sequential):
        return
    if not any(cls.__name__ == "Functional" and cls.__module__.startswith("keras.")
               for cls in type(model).__mro__):
        raise ValueError(
            f"{function}: model {model.name!r} is a subclassed {type(model).__name__}; it takes "
            "Sequential and functional models (wrap the layers of a subclassed model with "
            "prune_low_magnitude(layer) inside it)")
