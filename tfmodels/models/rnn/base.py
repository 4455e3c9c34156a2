"""What every quantized RNN here shares: quantize the cell's weights once per layer call.

A cell with quantized weights (`QuantLSTMCell`, `HMLSTMCell`, or one of your own) computes its
weights with `quantized_weights(training)`. Quantizing at every step would redraw stochastic
quantizers inside the backend's loop (JAX's `scan` forbids that) and repeat the same work for
deterministic ones; so the layer quantizes once before the loop, the steps read the cached
values, and the cache is cleared after the loop:

- `WeightCachingCell`: the cache (`cache_quantized_weights`, `clear_quantized_weights`,
  `cached_or_quantized_weights`) for a cell that defines `quantized_weights(training)`;
- `WeightCachingRNN`: a `keras.layers.RNN` that fills and clears the cache around its loop and
  keeps the cell's arguments in its own flat config (so `from_config(get_config())` rebuilds
  the cell from the layer's arguments).

Example (a custom cell):
    >>> class MyCell(WeightCachingCell, keras.layers.Layer):
    ...     def quantized_weights(self, training=False):
    ...         return {"kernel": self.kernel}
    ...     def call(self, inputs, states, training=False):
    ...         kernel = self.cached_or_quantized_weights(training)["kernel"]
    ...         ...
"""

import keras


class WeightCachingCell:
    """Mixin for a cell whose `quantized_weights(training)` a layer computes once per call."""

    _cached_weights = None

    def quantized_weights(self, training=False):
        raise NotImplementedError(f"{type(self).__name__} must define quantized_weights()")

    def cache_quantized_weights(self, training=False):
        """Quantizes once for the coming loop (the layer calls this, and `clear_...` after it)."""
        self._cached_weights = self.quantized_weights(training)

    def clear_quantized_weights(self):
        self._cached_weights = None

    def cached_or_quantized_weights(self, training=False):
        """The cached weights inside a layer's loop, else freshly quantized ones."""
        if self._cached_weights is not None:
            return self._cached_weights
        return self.quantized_weights(training)


class WeightCachingRNN(keras.layers.RNN):
    """`keras.layers.RNN` around a `WeightCachingCell`: one quantization per call, flat config.

    Subclasses build their cell from their own arguments in `__init__`; `get_config` returns the
    layer's arguments merged with the cell's (less the cell's name, dtype and trainable, which
    are the layer's), and `from_config` passes them all back to `__init__`.
    """

    def call(self, sequences, initial_state=None, mask=None, training=False):
        self.cell.cache_quantized_weights(training)
        try:
            return super().call(
                sequences, initial_state=initial_state, mask=mask, training=training
            )
        finally:
            self.cell.clear_quantized_weights()

    def get_config(self):
        config = super().get_config()
        del config["cell"]
        cell_config = self.cell.get_config()
        for k in ("name", "dtype", "trainable"):
            cell_config.pop(k, None)
        return {**config, **cell_config}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
