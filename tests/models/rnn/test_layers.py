"""Quantized RNN layers: Keras semantics (sequences, states, stateful, masking), config, saving."""

import keras
import numpy as np
import pytest

from tests import testing_utils
from tests.testing_utils import check_layer
from tfmodels.models.rnn import QuantGRU, QuantLSTM, QuantSimpleRNN
from tfmodels.quantization import Exponential, Pow2Ternary, Ternary

pytestmark = pytest.mark.multibackend

LAYERS = [(QuantSimpleRNN, keras.layers.SimpleRNN), (QuantGRU, keras.layers.GRU),
          (QuantLSTM, keras.layers.LSTM)]
IDS = ["simple_rnn", "gru", "lstm"]
# The per-layer harness cases on JAX for the LSTM only: the three layers share one RNN wrapper
# (`WeightCachingRNN`), and each cell runs on JAX in tests/models/rnn/test_cells.py.
LAYER_CASES = [pytest.param(*layer, id=i) if i == "lstm"
               else testing_utils.on_tensorflow_only(*layer, id=i)
               for layer, i in zip(LAYERS, IDS)]


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _x(shape=(2, 5, 3), seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


@pytest.mark.parametrize("quant_cls, keras_cls", LAYER_CASES)
def test_layer_check_with_ternary_weights(quant_cls, keras_cls, tmp_path):
    check_layer(
        lambda: quant_cls(
            8,
            kernel_quantizer=Ternary(),
            recurrent_quantizer=Ternary(),
            bias_quantizer=Pow2Ternary(),
            return_sequences=True,
        ),
        (2, 5, 3),
        tmp_path,
    )


@pytest.mark.parametrize("quant_cls, keras_cls", LAYERS, ids=IDS)
def test_float_layer_matches_keras_layer_with_states(quant_cls, keras_cls):
    x = _x()
    ours = quant_cls(6, return_sequences=True, return_state=True)
    theirs = keras_cls(6, return_sequences=True, return_state=True)
    ours.build(x.shape)
    theirs.build(x.shape)
    ours.set_weights(theirs.get_weights())
    for a, b in zip(ours(x), theirs(x)):
        np.testing.assert_allclose(_np(a), _np(b), atol=1e-6)


def test_stateful_layer_continues_across_calls():
    x = _x((2, 6, 3))
    q = Exponential(bits=4)
    whole = QuantLSTM(5, kernel_quantizer=q, recurrent_quantizer=q, return_sequences=True)
    stateful = QuantLSTM(5, kernel_quantizer=q, recurrent_quantizer=q, return_sequences=True,
                         stateful=True)
    whole.build(x.shape)
    stateful.build(x.shape)
    stateful.set_weights(whole.get_weights())
    expected = _np(whole(x))
    halves = np.concatenate([_np(stateful(x[:, :3])), _np(stateful(x[:, 3:]))], axis=1)
    np.testing.assert_allclose(halves, expected, atol=1e-5)
    stateful.reset_state()
    np.testing.assert_allclose(_np(stateful(x[:, :3])), expected[:, :3], atol=1e-5)


def test_masked_steps_are_skipped():
    x = _x((2, 6, 3))
    x[0, 4:] = 0.0
    inputs = keras.Input((None, 3))
    layer = QuantGRU(4, kernel_quantizer=Ternary(), recurrent_quantizer=Ternary())
    model = keras.Model(inputs, layer(keras.layers.Masking(0.0)(inputs)))
    expected = _np(layer(x[:, :4]))[0]
    np.testing.assert_allclose(_np(model(x))[0], expected, atol=1e-6)
    assert not np.allclose(_np(layer(x))[0], expected, atol=1e-3)


def test_initial_state_is_used():
    x = _x()
    layer = QuantSimpleRNN(4, kernel_quantizer=Ternary())
    zero = _np(layer(x))
    state = np.ones((2, 4), "float32")
    assert not np.allclose(_np(layer(x, initial_state=[state])), zero)


def test_input_batch_norm_normalizes_inputs(tmp_path):
    model = check_layer(
        lambda: QuantGRU(4, kernel_quantizer=Pow2Ternary(), input_batch_norm=True),
        (4, 5, 3),
        tmp_path,
    )
    layer = model.layers[-1]
    assert layer.input_norm is not None and len(layer.weights) == 3 + 4
    # With inference statistics (mean 0, variance 1 after init), the input is unchanged, so a
    # layer without batch norm and the same cell weights gives the same output.
    plain = QuantGRU(4, kernel_quantizer=Pow2Ternary())
    x = _x((4, 5, 3))
    fresh = QuantGRU(4, kernel_quantizer=Pow2Ternary(), input_batch_norm=True)
    fresh.build(x.shape)
    plain.build(x.shape)
    plain.set_weights(fresh.cell.get_weights())
    np.testing.assert_allclose(_np(fresh(x)), _np(plain(x)), atol=1e-3)
    assert not np.allclose(_np(fresh(3 * x + 1, training=True)), _np(plain(3 * x + 1)), atol=1e-2)


def test_config_round_trip_keeps_quantizers():
    layer = QuantLSTM(3, kernel_quantizer=Ternary(stochastic=True), dropout=0.1, unroll=True,
                      input_batch_norm=True, name="rnn")
    clone = QuantLSTM.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert isinstance(clone.cell.kernel_quantizer, Ternary) and clone.cell.kernel_quantizer.stochastic
    assert clone.cell.dropout == 0.1 and clone.unroll


@pytest.mark.parametrize("quant_cls, keras_cls", LAYER_CASES)
def test_keras_layer_conformance_with_mixed_precision(quant_cls, keras_cls):
    from tests import testing_utils

    testing_utils.run_layer_test(
        quant_cls,
        dict(units=3, kernel_quantizer=Ternary(stochastic=True),
             recurrent_quantizer=Pow2Ternary(), input_batch_norm=True, return_sequences=True),
        input_shape=(2, 3, 2),
        expected_output_shape=(2, 3, 3),
    )


@pytest.mark.parametrize("cell", [testing_utils.on_tensorflow_only("gru", id="gru"), "lstm"])
def test_char_lm_conformance_with_mixed_precision(cell):
    from tests import testing_utils
    from tfmodels.models.rnn import char_lm

    testing_utils.run_layer_test(
        char_lm,
        dict(vocabulary_size=5, cell=cell, units=3, embedding_dim=2,
             kernel_quantizer=Ternary(), head_kernel_quantizer=Pow2Ternary(), seed=0),
        input_data=np.array([[1, 2, 3], [4, 0, 1]], "int32"),
        expected_output_shape=(2, 3, 5),
    )
