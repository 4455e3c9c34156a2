"""Streaming step models: stepping from zero states reproduces the sequence model."""

import keras
import numpy as np
import pytest

from tfmodels.models.rnn import QuantLSTM, char_lm, quantizers, step_model, zero_states
from tfmodels.models.rnn.step import state_names

pytestmark = pytest.mark.multibackend


def _step_over(model, ids):
    step = step_model(model)
    states = zero_states(model, ids.shape[0])
    outputs = []
    for t in range(ids.shape[1]):
        out = step({"x": ids[:, t], **states})
        outputs.append(keras.ops.convert_to_numpy(out["y"]))
        states = {name: keras.ops.convert_to_numpy(out[name]) for name in states}
    return np.stack(outputs, axis=1)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_stepping_reproduces_two_layer_char_lm(cell):
    model = char_lm(11, cell=cell, units=6, num_layers=2, embedding_dim=4, seed=2,
                    input_batch_norm=(cell == "gru"), **quantizers("ternary"))
    if cell == "gru":
        # Non-trivial batch-norm statistics, so the step model must apply them.
        norm = model.get_layer("gru_0").input_norm
        norm.moving_mean.assign(np.full(4, 0.1, "float32"))
        norm.moving_variance.assign(np.full(4, 2.0, "float32"))
    ids = np.random.default_rng(0).integers(0, 11, (2, 6)).astype("int32")
    expected = keras.ops.convert_to_numpy(model(ids))
    np.testing.assert_allclose(_step_over(model, ids), expected, atol=1e-5)


def test_state_names_and_last_output_classifier():
    inputs = keras.Input((5, 3))
    h = QuantLSTM(4, return_sequences=True, name="a")(inputs)
    h = QuantLSTM(4, name="b")(h)
    model = keras.Model(inputs, keras.layers.Dense(2)(h))
    assert state_names(model) == [("a_h", 4), ("a_c", 4), ("b_h", 4), ("b_c", 4)]
    x = np.random.default_rng(1).normal(size=(2, 5, 3)).astype("float32")
    stepped = _step_over(model, x)
    np.testing.assert_allclose(stepped[:, -1], keras.ops.convert_to_numpy(model(x)), atol=1e-5)


def test_non_chain_models_are_refused():
    inputs = keras.Input((5, 3))
    a = QuantLSTM(4, return_sequences=True)(inputs)
    b = keras.layers.Dense(4)(inputs)
    model = keras.Model(inputs, keras.layers.Add()([a, b]))
    with pytest.raises(ValueError, match="chain"):
        step_model(model)
    with pytest.raises(ValueError, match="no RNN layer"):
        step_model(keras.Sequential([keras.Input((5, 3)), keras.layers.Dense(2)]))


# char_lm has no test file of its own (BUILD lists one py_test per file); its step model is
# tested above, its arguments here.
def test_char_lm_quantizes_the_head_kernel_only_with_head_kernel_quantizer():
    from tfmodels.quantization import Ternary

    model = char_lm(9, cell="rnn", units=4, embedding_dim=3, seed=0,
                    head_kernel_quantizer=Ternary(scale=0.5))
    head = model.get_layer("logits")
    assert isinstance(head.kernel_quantizer, Ternary)
    kernel = keras.ops.convert_to_numpy(head.quantized_kernel())
    assert set(np.unique(kernel).tolist()) <= {-0.5, 0.0, 0.5} and kernel.shape == (4, 9)
    assert model.get_layer("rnn_0").cell.kernel_quantizer is None
    assert char_lm(9, cell="rnn", units=4).get_layer("logits").kernel_quantizer is None
    with pytest.raises(ValueError, match="vocabulary_size"):
        char_lm(0)
