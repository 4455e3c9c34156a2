"""`PruneLowMagnitude`: magnitude pruning of a Keras 3 layer (tfmot's wrapper, backend-agnostic).

tensorflow-model-optimization's pruning runs on Keras 2 (`tf_keras`) only. This is its
semantics on Keras 3, with `keras.ops`, so it trains on TensorFlow and JAX: a wrapper holds a
0/1 mask per prunable weight (non-trainable variables) and a step counter; in training calls,
at the steps the schedule names, the masks are recomputed from the weights' magnitudes; every
call computes with `weight * mask`. Gradients reach the masked weights' variables as in tfmot
(the optimizer may move a pruned weight; the next call masks it again), and
`UpdatePruningStep` writes the masks into the variables at each epoch end, so saved weights
are pruned.
"""

import keras
from keras import ops

from tfmodels.optimization.sparsity import masks
from tfmodels.optimization.sparsity.schedule import ConstantSparsity, PruningSchedule

# The attributes a layer (or an RNN layer's cell) keeps its prunable weights in.
_PRUNABLE_ATTRIBUTES = ("kernel", "recurrent_kernel", "depthwise_kernel", "pointwise_kernel",
                        "embeddings")


class PrunableLayer:
    """Mixin for custom layers: `get_prunable_weights()` returns the variables to prune.

    Layers without it are pruned on their `kernel`, `recurrent_kernel`, `depthwise_kernel`,
    `pointwise_kernel` and `embeddings` variables (an RNN layer's: its cell's).
    """

    def get_prunable_weights(self):
        raise NotImplementedError(f"{type(self).__name__} must implement get_prunable_weights")


def prunable_weights(layer):
    """The variables `PruneLowMagnitude` prunes in `layer` (built), in a fixed order."""
    if isinstance(layer, PrunableLayer) or hasattr(layer, "get_prunable_weights"):
        return list(layer.get_prunable_weights())
    owners = [layer]
    cell = getattr(layer, "cell", None)
    if cell is not None:
        owners = list(getattr(cell, "cells", None) or [cell])
    found = []
    for owner in owners:
        for attribute in _PRUNABLE_ATTRIBUTES:
            value = getattr(owner, attribute, None)
            if isinstance(value, keras.Variable) and all(value is not w for w in found):
                found.append(value)
    return found


@keras.saving.register_keras_serializable("tfmodels")
class PruneLowMagnitude(keras.layers.Wrapper):
    """Prunes the wrapped layer's weights to the schedule's sparsity by magnitude.

    Use `prune_low_magnitude` to wrap the layers of a model, `UpdatePruningStep` in `fit`, and
    `strip_pruning` before export.

    Args:
        layer: the layer to prune (Dense, Conv*, Embedding, RNN layers, the tfmodels Quant
            layers and RNN cells, or a `PrunableLayer`).
        pruning_schedule: a `PruningSchedule` (default `ConstantSparsity(0.5, 0)`), or any
            callable `step -> (should_prune, sparsity)` (a tfmot schedule, on TensorFlow).
        block_size: `(rows, columns)` blocks pruned together (rank-2 weights only).
        block_pooling_type: `"AVG"` or `"MAX"`, how a block's magnitudes are scored.
        sparsity_m_by_n: `(n, m)`: keep `n` of every `m` consecutive weights along the input
            channels (2:4 structured sparsity); overrides the schedule's sparsity, not its
            timing.

    Example:
    >>> layer = PruneLowMagnitude(keras.layers.Dense(4), ConstantSparsity(0.75, 0))
    >>> _ = layer(np.ones((2, 8), "float32"), training=True)
    >>> float(np.mean(keras.ops.convert_to_numpy(layer.layer.kernel) == 0))
    0.75
    """

    def __init__(self, layer, pruning_schedule=None, block_size=(1, 1),
                 block_pooling_type="AVG", sparsity_m_by_n=None, **kwargs):
        if not isinstance(layer, keras.layers.Layer):
            raise ValueError(f"layer must be a Keras layer; got {type(layer).__name__}")
        if isinstance(layer, PruneLowMagnitude):
            raise ValueError(f"layer {layer.name!r} is already wrapped by PruneLowMagnitude")
        if isinstance(layer, keras.Model):
            raise ValueError(f"{layer.name!r} is a model: pass it to prune_low_magnitude, which "
                             "wraps its layers")
        kwargs.setdefault("name", f"prune_low_magnitude_{layer.name}")
        super().__init__(layer, **kwargs)
        if pruning_schedule is None:
            pruning_schedule = ConstantSparsity(0.5, begin_step=0)
        if not callable(pruning_schedule):
            raise ValueError("pruning_schedule must be a PruningSchedule or a callable "
                             f"step -> (should_prune, sparsity); got {pruning_schedule!r}")
        block_size = tuple(block_size)
        if len(block_size) != 2 or not all(isinstance(b, int) and b >= 1 for b in block_size):
            raise ValueError(f"block_size must be two positive integers; got {block_size!r}")
        if block_pooling_type not in masks.POOLING_TYPES:
            raise ValueError(f"block_pooling_type must be one of {masks.POOLING_TYPES}; got "
                             f"{block_pooling_type!r}")
        if sparsity_m_by_n is not None:
            sparsity_m_by_n = tuple(sparsity_m_by_n)
            if (len(sparsity_m_by_n) != 2 or not all(isinstance(v, int) for v in sparsity_m_by_n)
                    or not 0 < sparsity_m_by_n[0] < sparsity_m_by_n[1]):
                raise ValueError("sparsity_m_by_n must be (n, m) with 0 < n < m, e.g. (2, 4); "
                                 f"got {sparsity_m_by_n!r}")
            if block_size != (1, 1):
                raise ValueError("sparsity_m_by_n and block_size cannot be combined")
        self.pruning_schedule = pruning_schedule
        self.block_size = block_size
        self.block_pooling_type = block_pooling_type
        self.sparsity_m_by_n = sparsity_m_by_n

    def build(self, input_shape=None):
        if not self.layer.built:
            self.layer.build(input_shape)
        weights = prunable_weights(self.layer)
        if not weights:
            raise ValueError(
                f"layer {self.layer.name!r} ({type(self.layer).__name__}) has no prunable "
                "weights: make it a PrunableLayer (get_prunable_weights) or do not prune it"
            )
        for weight in weights:
            if self.block_size != (1, 1) and len(weight.shape) != 2:
                raise ValueError(f"block_size {self.block_size} needs rank-2 weights; "
                                 f"{weight.path} has shape {tuple(weight.shape)}")
            if self.sparsity_m_by_n is not None:
                axis = self._input_axis(weight)
                if weight.shape[axis] % self.sparsity_m_by_n[1]:
                    raise ValueError(
                        f"sparsity_m_by_n {self.sparsity_m_by_n}: {weight.path} has "
                        f"{weight.shape[axis]} input channels, not a multiple of "
                        f"{self.sparsity_m_by_n[1]}")
        self._pruned = weights
        self.masks = [
            self.add_weight(name=f"mask_{i}", shape=w.shape, initializer="ones",
                            trainable=False, dtype="float32")
            for i, w in enumerate(weights)
        ]
        self.pruning_step = self.add_weight(name="pruning_step", shape=(), initializer="zeros",
                                            trainable=False, dtype="int32")
        self.built = True

    @property
    def pruned_weights(self):
        """The wrapped layer's variables this wrapper prunes (same order as `masks`)."""
        return list(self._pruned)

    def _input_axis(self, weight):
        # Kernels keep input channels on axis -2, except transposed convolutions' (h, w, out,
        # in) and embeddings (one row per token: prune along the embedding).
        if isinstance(self.layer, keras.layers.Conv2DTranspose) or len(weight.shape) < 2:
            return -1
        if isinstance(self.layer, keras.layers.Embedding):
            return -1
        return -2

    def _new_mask(self, weight, sparsity):
        if self.sparsity_m_by_n is not None:
            return masks.m_by_n_mask(weight, self.sparsity_m_by_n, self._input_axis(weight))
        return masks.magnitude_mask(weight, sparsity, self.block_size, self.block_pooling_type)

    def call(self, inputs, training=None, **kwargs):
        if training:
            step = self.pruning_step.value
            should_prune, sparsity = self.pruning_schedule(step)
            should_prune = ops.convert_to_tensor(should_prune)
            for weight, mask in zip(self._pruned, self.masks):
                # Default arguments bind this iteration's weight and mask.
                mask.assign(ops.cond(
                    should_prune,
                    lambda w=weight, s=sparsity: self._new_mask(w.value, s),
                    lambda m=mask: m.value,
                ))
            self.pruning_step.assign(step + 1)
        self.apply_masks()
        if training is not None:
            kwargs["training"] = training
        return self.layer(inputs, **kwargs)

    def apply_masks(self):
        """Multiplies the pruned weights by their masks (in place)."""
        for weight, mask in zip(self._pruned, self.masks):
            weight.assign(weight.value * ops.cast(mask.value, weight.dtype))

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def compute_mask(self, inputs, mask=None):
        return self.layer.compute_mask(inputs, mask)

    def get_config(self):
        schedule = self.pruning_schedule
        if not isinstance(schedule, PruningSchedule):
            raise ValueError(f"{self.name}: a {type(schedule).__name__} schedule cannot be "
                             "saved; use tfmodels' ConstantSparsity or PolynomialDecay")
        return {
            **super().get_config(),
            "pruning_schedule": keras.saving.serialize_keras_object(schedule),
            "block_size": self.block_size,
            "block_pooling_type": self.block_pooling_type,
            "sparsity_m_by_n": self.sparsity_m_by_n,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        config["layer"] = keras.saving.deserialize_keras_object(config["layer"],
                                                                custom_objects=custom_objects)
        config["pruning_schedule"] = keras.saving.deserialize_keras_object(
            config["pruning_schedule"], custom_objects=custom_objects)
        return cls(**config)
