"""The shared once-per-call weight cache of the quantized RNNs (`tfmodels.models.rnn.base`)."""

import keras
import numpy as np
import pytest
from keras import ops

from tfmodels.models.rnn import WeightCachingCell, WeightCachingRNN

pytestmark = pytest.mark.multibackend


class _CountingCell(WeightCachingCell, keras.layers.Layer):
    """A linear recurrence whose kernel is "quantized" (rounded); counts the quantizations."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units
        self.quantizations = 0

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")

    def quantized_weights(self, training=False):
        self.quantizations += 1
        return {"kernel": ops.round(self.kernel)}

    def call(self, inputs, states, training=False):
        kernel = self.cached_or_quantized_weights(training)["kernel"]
        h = states[0] + ops.matmul(inputs, kernel)
        return h, [h]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class _CountingRNN(WeightCachingRNN):
    def __init__(self, units, **kwargs):
        super().__init__(_CountingCell(units, name="counting_cell"), **kwargs)


def test_layer_quantizes_once_per_call_and_clears_the_cache():
    rnn = _CountingRNN(3, return_sequences=True, unroll=True)
    x = np.random.default_rng(0).normal(size=(2, 5, 4)).astype("float32")
    rnn.build(x.shape)
    rnn.cell.quantizations = 0
    out = keras.ops.convert_to_numpy(rnn(x))
    assert rnn.cell.quantizations == 1  # five steps, one quantization
    assert rnn.cell._cached_weights is None
    kernel = np.round(keras.ops.convert_to_numpy(rnn.cell.kernel))
    np.testing.assert_allclose(out[:, -1], x.sum(axis=1) @ kernel, rtol=1e-5, atol=1e-5)


def test_cell_quantizes_per_step_outside_the_layer():
    cell = _CountingCell(3)
    rnn = keras.layers.RNN(cell, unroll=True)
    rnn(np.ones((1, 4, 2), "float32"))
    assert cell.quantizations == 4


def test_config_is_flat_and_round_trips():
    rnn = _CountingRNN(3, return_sequences=True, name="r")
    config = rnn.get_config()
    assert "cell" not in config and config["units"] == 3
    clone = _CountingRNN.from_config(config)
    assert clone.cell.units == 3 and clone.return_sequences
