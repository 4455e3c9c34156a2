"""Quantized cells: Keras-equivalence without quantizers, quantized forward pass, scales, seeds."""

import math

import keras
import numpy as np
import pytest

from tests import testing_utils
from tfmodels.models.rnn import QuantGRUCell, QuantLSTMCell, QuantSimpleRNNCell
from tfmodels.quantization import Binary, Exponential, Pow2Ternary, Ternary

pytestmark = pytest.mark.multibackend

CELLS = [
    (QuantSimpleRNNCell, keras.layers.SimpleRNNCell, {}),
    (QuantGRUCell, keras.layers.GRUCell, {}),
    (QuantGRUCell, keras.layers.GRUCell, {"reset_after": False}),
    (QuantLSTMCell, keras.layers.LSTMCell, {}),
]
IDS = ["simple_rnn", "gru", "gru_reset_before", "lstm"]


def _inputs(shape=(3, 6, 5), seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def _np(x):
    return keras.ops.convert_to_numpy(x)


@pytest.mark.parametrize("quant_cls, keras_cls, kwargs", CELLS, ids=IDS)
def test_float_cell_matches_keras_cell(quant_cls, keras_cls, kwargs):
    x = _inputs()
    ours = keras.layers.RNN(quant_cls(7, **kwargs), return_sequences=True)
    theirs = keras.layers.RNN(keras_cls(7, **kwargs), return_sequences=True)
    ours.build(x.shape)
    theirs.build(x.shape)
    rng = np.random.default_rng(1)
    weights = [rng.normal(scale=0.5, size=w.shape).astype("float32") for w in theirs.get_weights()]
    ours.set_weights(weights)
    theirs.set_weights(weights)
    np.testing.assert_allclose(_np(ours(x)), _np(theirs(x)), atol=1e-6)


@pytest.mark.parametrize("quant_cls, keras_cls, kwargs", CELLS, ids=IDS)
def test_forward_pass_uses_quantized_weights(quant_cls, keras_cls, kwargs):
    """A ternary cell computes what Keras's float cell computes with the ternarized weights."""
    x = _inputs()
    q = Ternary()
    ours = keras.layers.RNN(
        quant_cls(7, kernel_quantizer=q, recurrent_quantizer=q, bias_quantizer=q, **kwargs),
        return_sequences=True,
    )
    ours.build(x.shape)
    rng = np.random.default_rng(2)
    ours.set_weights([rng.normal(scale=0.4, size=w.shape).astype("float32") for w in ours.weights])
    quantized = [_np(w) for w in ours.cell.quantized_weights()]
    theirs = keras.layers.RNN(keras_cls(7, **kwargs), return_sequences=True)
    theirs.build(x.shape)
    theirs.set_weights(quantized)
    np.testing.assert_allclose(_np(ours(x)), _np(theirs(x)), atol=1e-5)
    # The quantized weights differ from the shadow weights, so this is not float equivalence.
    assert not np.allclose(quantized[0], _np(ours.cell.kernel))


@testing_utils.tensorflow_only
def test_glorot_scales_are_per_matrix_bounds():
    cell = QuantLSTMCell(8, kernel_quantizer=Ternary(), recurrent_quantizer=Ternary(),
                         bias_quantizer=Ternary())
    cell.build((None, 5))
    rng = np.random.default_rng(3)
    for w in (cell.kernel, cell.recurrent_kernel, cell.bias):
        w.assign(rng.normal(size=w.shape).astype("float32"))
    kernel, recurrent, bias = (_np(w) for w in cell.quantized_weights())
    w_in, w_rec = math.sqrt(6 / (5 + 8)), math.sqrt(6 / 16)
    np.testing.assert_allclose(np.unique(np.abs(kernel)), [0, w_in], rtol=1e-6)
    np.testing.assert_allclose(np.unique(np.abs(recurrent)), [0, w_rec], rtol=1e-6)
    np.testing.assert_allclose(np.unique(np.abs(bias)), [0, w_rec], rtol=1e-6)
    # The dead zone is half the bound (the authors' threshold).
    shadow = _np(cell.kernel)
    np.testing.assert_array_equal(kernel != 0, (shadow > w_in / 2) | (shadow <= -w_in / 2))


@pytest.mark.parametrize(
    "quantizer, levels",
    [(Pow2Ternary(), {-0.5, 0.0, 0.5}), (Exponential(bits=2), {-1.0, -0.5, 0.5, 1.0})],
)
def test_fixed_level_quantizers_keep_their_levels(quantizer, levels):
    cell = QuantGRUCell(6, kernel_quantizer=quantizer, recurrent_quantizer=quantizer)
    cell.build((None, 4))
    cell.kernel.assign(np.random.default_rng(4).normal(size=cell.kernel.shape))
    kernel, recurrent, _ = cell.quantized_weights()
    assert set(np.unique(_np(kernel)).tolist()) <= levels
    assert set(np.unique(_np(recurrent)).tolist()) <= levels


def test_stochastic_sampling_only_in_training_and_seeded():
    def make(seed):
        cell = QuantSimpleRNNCell(16, kernel_quantizer=Ternary(stochastic=True), seed=seed,
                                  kernel_initializer=keras.initializers.GlorotUniform(0))
        cell.build((None, 16))
        return cell

    cell = make(5)
    a, b = (_np(cell.quantized_weights(training=True)[0]) for _ in range(2))
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(_np(cell.quantized_weights()[0]), _np(cell.quantized_weights()[0]))
    np.testing.assert_array_equal(_np(make(5).quantized_weights(training=True)[0]), a)


def test_binary_recurrent_weights_are_two_valued():
    cell = QuantSimpleRNNCell(5, recurrent_quantizer=Binary(scale="glorot"))
    cell.build((None, 3))
    _, recurrent, _ = cell.quantized_weights()
    np.testing.assert_allclose(np.unique(np.abs(_np(recurrent))), [math.sqrt(6 / 10)], rtol=1e-6)


def test_bad_quantizer_is_rejected():
    with pytest.raises(ValueError, match="recurrent_quantizer"):
        QuantLSTMCell(4, recurrent_quantizer="ternary")


def _rnn_of(cell_cls, units=3, **cell_kwargs):
    """A layer factory for Keras's harness: the cell (with the same dtype) in keras.layers.RNN."""

    def make(dtype=None, **rnn_kwargs):
        return keras.layers.RNN(cell_cls(units, dtype=dtype, **cell_kwargs), dtype=dtype,
                                **rnn_kwargs)

    return make


# Every cell with deterministic quantizers; stochastic ones once (LSTM): their sampling is the
# shared mixin's (`get_dropout_mask`), and every cell trains with them in
# test_stochastic_cell_trains_in_a_plain_keras_rnn below. On JAX the GRU (deterministic) and
# the LSTM (stochastic, so its deterministic path too); every cell's own equations run on JAX
# in the tests above and below.
@pytest.mark.parametrize(
    "quant_cls, keras_cls, kwargs, stochastic",
    [pytest.param(*cell, False, id=f"deterministic-{i}") if i == "gru"
     else testing_utils.on_tensorflow_only(*cell, False, id=f"deterministic-{i}")
     for cell, i in zip(CELLS, IDS)]
    + [pytest.param(*CELLS[-1], True, id=f"stochastic-{IDS[-1]}")],
)
def test_keras_layer_conformance_with_mixed_precision(quant_cls, keras_cls, kwargs, stochastic):
    from tests import testing_utils

    quantizers = dict(
        kernel_quantizer=Ternary(stochastic=stochastic),
        recurrent_quantizer=Binary(stochastic=stochastic, scale="glorot"),
        bias_quantizer=Pow2Ternary(stochastic=stochastic),
    )
    testing_utils.run_layer_test(
        _rnn_of(quant_cls, **kwargs, **quantizers),
        {"return_sequences": True},
        input_shape=(2, 3, 2),
        expected_output_shape=(2, 3, 3),
    )


@pytest.mark.parametrize("quant_cls, keras_cls, kwargs", CELLS, ids=IDS)
def test_stochastic_cell_trains_in_a_plain_keras_rnn(quant_cls, keras_cls, kwargs):
    # On JAX the loop is a `scan`: a sample drawn inside it leaked the seed generator's traced
    # state (UnexpectedTracerError). The cell now draws before the loop, once per sequence.
    cell = quant_cls(
        4, kernel_quantizer=Ternary(stochastic=True),
        recurrent_quantizer=Binary(stochastic=True, scale="glorot"), dropout=0.2, seed=3,
        **kwargs,
    )
    model = keras.Sequential([keras.Input((5, 3)), keras.layers.RNN(cell), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    before = _np(cell.kernel).copy()
    history = model.fit(_inputs((4, 5, 3)), np.ones((4, 1), "float32"), batch_size=4, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert not np.array_equal(before, _np(cell.kernel))
    # The sample is dropped after the sequence, with Keras's dropout masks.
    assert cell._sampled_weights is None


def test_stochastic_cell_reuses_the_sample_drawn_before_the_loop():
    cell = QuantSimpleRNNCell(6, kernel_quantizer=Ternary(stochastic=True), seed=0)
    x = _inputs((2, 5))
    state = [np.zeros((2, 6), "float32")]
    cell.build(x.shape)
    cell.get_dropout_mask(x)  # what keras.layers.RNN calls before its loop
    steps = [_np(cell(x, state, training=True)[0]) for _ in range(3)]
    for step in steps[1:]:
        np.testing.assert_array_equal(step, steps[0])
    cell.reset_dropout_mask()  # and after it
    fresh = [_np(cell(x, state, training=True)[0]) for _ in range(3)]
    assert any(not np.array_equal(f, steps[0]) for f in fresh)
