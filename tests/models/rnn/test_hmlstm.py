"""HM-LSTM (arXiv:1609.01704): hand-computed FLUSH / UPDATE / COPY steps, STE, annealing, saving."""

import math

import keras
import numpy as np
import pytest

from tests import testing_utils
from tfmodels.models.rnn import (
    HMLSTM,
    HMLSTMCell,
    HMLSTMOutput,
    SlopeAnnealing,
    boundary,
    hm_lstm_cells,
)
from tfmodels.quantization import Ternary

pytestmark = pytest.mark.multibackend

# Biases giving f = 0.5, i = 0.75, o = 0.5, g = 0.5 when every kernel is zero.
F, I, O, G = 0.5, 0.75, 0.5, 0.5
GATE_BIAS = [0.0, math.log(3.0), 0.0, math.atanh(0.5)]


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _tiny_cell(z_bias, input_dim=1):
    """A 2-layer cell, 1 unit per layer, zero kernels; `z_bias[l]` sets layer l's boundary."""
    cell = HMLSTMCell([1, 1], forget_bias=0.0)
    cell.build((None, input_dim))
    for l in range(2):
        for w in (cell.kernels[l], cell.recurrent_kernels[l]):
            w.assign(np.zeros(w.shape, "float32"))
        cell.biases[l].assign(np.array(GATE_BIAS + [z_bias[l]], "float32"))
    cell.topdown_kernels[0].assign(np.zeros((1, 5), "float32"))
    return cell


def _step(cell, states, x=None, training=False):
    x = np.ones((1, cell.kernels[0].shape[0]), "float32") if x is None else x
    states = [np.array([[v]], "float32") for v in states]
    out, new = cell(x, states, training=training)
    return _np(out)[0], [float(_np(s)[0, 0]) for s in new]


def test_flush_then_update_above():
    """Layer 1 ended a segment at t-1 (FLUSH: c = i g); its new boundary UPDATEs layer 2."""
    cell = _tiny_cell(z_bias=[1.0, -1.0])
    #          h1   c1   z1   h2   c2   z2
    before = [0.3, 0.9, 1.0, 0.2, 0.4, 0.0]
    _, (h1, c1, z1, h2, c2, z2) = _step(cell, before)
    assert c1 == pytest.approx(I * G)  # the old c1 = 0.9 is gone
    assert h1 == pytest.approx(O * math.tanh(I * G))
    assert z1 == 1.0
    assert c2 == pytest.approx(F * 0.4 + I * G)
    assert h2 == pytest.approx(O * math.tanh(F * 0.4 + I * G))
    assert z2 == 0.0


def test_update_then_copy_above():
    """No boundary in layer 1 at t: layer 1 UPDATEs (input is z^0 = 1), layer 2 COPYs exactly."""
    cell = _tiny_cell(z_bias=[-1.0, 1.0])
    before = [0.3, 0.9, 0.0, 0.2, 0.4, 0.0]
    _, (h1, c1, z1, h2, c2, z2) = _step(cell, before)
    assert c1 == pytest.approx(F * 0.9 + I * G)
    assert h1 == pytest.approx(O * math.tanh(F * 0.9 + I * G))
    assert z1 == 0.0
    assert (h2, c2) == (np.float32(0.2), np.float32(0.4))  # bit-exact copies
    # COPY keeps the previous boundary state of the layer, which the detector recomputes.
    assert z2 == 1.0


def test_flush_wins_over_copy():
    """z^l_{t-1} = 1 flushes layer l even when the layer below has no boundary."""
    cell = _tiny_cell(z_bias=[-1.0, -1.0])
    before = [0.3, 0.9, 0.0, 0.2, 0.4, 1.0]
    _, (_, _, z1, h2, c2, _) = _step(cell, before)
    assert z1 == 0.0
    assert c2 == pytest.approx(I * G)
    assert h2 == pytest.approx(O * math.tanh(I * G))


def _reference_step(x, states, weights, units):
    """The paper's Eq. 2-9 with explicit branches, per example, in float64."""
    n = len(units)
    out_states, hs, zs = [], [], []
    h_below, z_below = x.astype("float64"), 1.0
    for l, u in enumerate(units):
        h_prev, c_prev, z_prev = (np.asarray(states[3 * l + k], "float64") for k in range(3))
        s = weights[f"recurrent_kernel_{l}"].T @ h_prev + weights[f"bias_{l}"]
        s = s + z_below * (weights[f"kernel_{l}"].T @ h_below)
        if l + 1 < n:
            s = s + z_prev[0] * (weights[f"topdown_kernel_{l}"].T @ states[3 * (l + 1)])
        sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
        f, i, o, g = sig(s[:u]), sig(s[u:2 * u]), sig(s[2 * u:3 * u]), np.tanh(s[3 * u:4 * u])
        z = np.array([1.0 if s[4 * u] > 0 else 0.0])
        if z_prev[0] == 1:
            c = i * g
            h = o * np.tanh(c)
        elif z_below == 1:
            c = f * c_prev + i * g
            h = o * np.tanh(c)
        else:
            c, h = c_prev, h_prev
        out_states += [h, c, z]
        hs.append(h)
        zs.append(z)
        h_below, z_below = h, z[0]
    return np.concatenate(hs + zs), out_states


def test_random_weights_match_branching_reference():
    """Every combination of boundaries, with nonzero top-down and bottom-up weights."""
    units = [3, 2]
    cell = HMLSTMCell(units)
    cell.build((None, 4))
    rng = np.random.default_rng(0)
    for w in cell.trainable_weights:
        w.assign(rng.normal(scale=0.7, size=w.shape).astype("float32"))
    weights = {w.name: _np(w) for w in cell.trainable_weights}
    batch = 16
    x = rng.normal(size=(batch, 4)).astype("float32")
    states = []
    for u in units:
        states += [rng.normal(size=(batch, u)).astype("float32"),
                   rng.normal(size=(batch, u)).astype("float32"),
                   rng.integers(0, 2, size=(batch, 1)).astype("float32")]
    out, new = cell(x, states)
    out, new = _np(out), [_np(s) for s in new]
    for b in range(batch):
        ref_out, ref_states = _reference_step(x[b], [s[b] for s in states], weights, units)
        np.testing.assert_allclose(out[b], ref_out, atol=1e-5)
        for ours, ref in zip(new, ref_states):
            np.testing.assert_allclose(ours[b], ref, atol=1e-5)


def _gradient(fn, x):
    if keras.backend.backend() == "jax":
        import jax

        return np.asarray(jax.grad(lambda v: fn(v).sum())(x))
    import tensorflow as tf

    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(fn(x))
    return tape.gradient(y, x, unconnected_gradients="zero").numpy()


@pytest.mark.parametrize("slope", [1.0, 2.5])
def test_straight_through_gradient(slope):
    x = np.array([-2.0, -0.7, -0.3, -0.1, 0.1, 0.3, 0.7, 2.0], "float32")
    z = _np(boundary(keras.ops.convert_to_tensor(x), slope, training=True))
    np.testing.assert_array_equal(z, (x > 0).astype("float32"))  # exact 0/1 forward
    grad = _gradient(lambda v: boundary(v, slope, training=True), x)
    inside = np.abs(slope * x) < 1
    np.testing.assert_allclose(grad[inside], slope / 2)
    np.testing.assert_array_equal(grad[~inside], 0.0)
    assert inside.any() and (~inside).any()
    # At inference the step has no gradient path at all.
    np.testing.assert_array_equal(_gradient(lambda v: boundary(v, slope), x), 0.0)


def _tiny_model(units=(4, 3), **kwargs):
    inputs = keras.Input((6, 2))
    h = HMLSTM(list(units), return_sequences=True, seed=1, **kwargs)(inputs)
    return keras.Model(inputs, HMLSTMOutput(3, list(units))(h))


def test_slope_annealing_and_boundary_bias_learns():
    model = _tiny_model()
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    cell = hm_lstm_cells(model)[0]
    slopes = []
    record = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: slopes.append(float(_np(cell.slope))))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 6, 2)).astype("float32")
    y = rng.normal(size=(8, 6, 3)).astype("float32")
    z_bias_before = _np(cell.biases[0])[-1]
    model.fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[SlopeAnnealing(), record])
    np.testing.assert_allclose(slopes, [1.0, 1.04, 1.08], rtol=1e-6)
    # The boundary slot is trained only through the straight-through estimator.
    assert _np(cell.biases[0])[-1] != z_bias_before
    capped = SlopeAnnealing(rate=3.0)
    assert [capped.slope(e) for e in range(3)] == [1.0, 4.0, 5.0]
    with pytest.raises(ValueError, match="rate"):
        SlopeAnnealing(rate=-1.0)


def test_slope_changes_gradient_not_forward():
    model = _tiny_model()
    cell = hm_lstm_cells(model)[0]
    x = np.random.default_rng(1).normal(size=(2, 6, 2)).astype("float32")
    before = _np(model(x))
    cell.slope.assign(5.0)
    np.testing.assert_array_equal(_np(model(x)), before)


@pytest.mark.parametrize("layer_norm", [False, True], ids=["plain", "layer_norm"])
def test_layer_checks(layer_norm, tmp_path):
    model = testing_utils.check_layer(
        lambda: HMLSTM([4, 3], return_sequences=True, layer_norm=layer_norm, seed=0),
        (3, 5, 2), tmp_path)
    assert hm_lstm_cells(model)
    z = _np(model(np.ones((3, 5, 2), "float32")))[..., -2:]
    assert set(np.unique(z)) <= {0.0, 1.0}


def test_output_module_checks(tmp_path):
    testing_utils.check_layer(lambda: HMLSTMOutput(5, [4, 3]), (3, 5, 9), tmp_path)


def test_output_module_equation():
    layer = HMLSTMOutput(2, [1, 1])
    layer.build((None, 4))
    layer.gate_kernel.assign(np.array([[1.0, 0.0], [0.0, -1.0]], "float32"))
    layer.kernels[0].assign(np.array([[1.0, -1.0]], "float32"))
    layer.kernels[1].assign(np.array([[2.0, 2.0]], "float32"))
    h1, h2 = 0.5, 0.25
    out = _np(layer(np.array([[h1, h2, 1.0, 0.0]], "float32")))[0]
    g1, g2 = 1 / (1 + math.exp(-h1)), 1 / (1 + math.exp(h2))
    expected = np.maximum([g1 * h1 + g2 * 2 * h2, -g1 * h1 + g2 * 2 * h2], 0.0)
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_saved_model_keeps_slope_and_quantizers(tmp_path):
    model = _tiny_model(kernel_quantizer=Ternary(), recurrent_quantizer=Ternary())
    hm_lstm_cells(model)[0].slope.assign(3.0)
    path = str(tmp_path / "hm.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    cell = hm_lstm_cells(loaded)[0]
    assert float(_np(cell.slope)) == 3.0
    assert isinstance(cell.kernel_quantizer, Ternary)
    x = np.random.default_rng(2).normal(size=(2, 6, 2)).astype("float32")
    np.testing.assert_allclose(_np(loaded(x)), _np(model(x)), atol=1e-6)


def test_quantized_forward_uses_quantized_weights():
    """A ternary HM-LSTM computes what the float one computes with the ternarized weights."""
    q = dict(kernel_quantizer=Ternary(), recurrent_quantizer=Ternary(), bias_quantizer=Ternary())
    quant = HMLSTM([4, 3], return_sequences=True, **q)
    plain = HMLSTM([4, 3], return_sequences=True)
    x = np.random.default_rng(3).normal(size=(2, 6, 2)).astype("float32")
    quant.build(x.shape)
    plain.build(x.shape)
    plain.set_weights(quant.get_weights())
    quantized = quant.cell.quantized_weights()
    assert len(quantized) == 7  # 2 kernels, 2 recurrent, 1 top-down, 2 biases
    for w in plain.cell.weights:
        if w.name in quantized:
            values = _np(quantized[w.name])
            assert len(np.unique(values)) <= 3
            w.assign(values)
    np.testing.assert_allclose(_np(quant(x)), _np(plain(x)), atol=1e-5)


@pytest.mark.parametrize("kwargs, match", [
    ({"units": 0}, "units"),
    ({"units": [4, "a"]}, "units"),
    ({"units": 4, "num_layers": 0}, "num_layers"),
    ({"units": [4, 4], "num_layers": 3}, "num_layers"),
    ({"units": 4, "slope": 0.0}, "slope"),
    ({"units": 4, "kernel_quantizer": "ternary"}, "kernel_quantizer"),
    ({"units": 4, "layer_norm": 1}, "layer_norm"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        HMLSTMCell(**kwargs)


def test_output_module_checks_input_size():
    with pytest.raises(ValueError, match="expects 9"):
        HMLSTMOutput(5, [4, 3])(np.ones((1, 8), "float32"))


def test_boundary_rate_penalty_by_hand():
    from tfmodels.models.rnn import BoundaryRatePenalty

    penalty = BoundaryRatePenalty(low=0.1, high=0.5)
    # Layer 1 fires at 0 of 4 steps (0.1 below the band), layer 2 at 3 of 4 (0.25 above it),
    # layer 3 at 1 of 4 (inside).
    z = np.array([[[0, 1, 0], [0, 1, 1], [0, 1, 0], [0, 0, 0]]], "float32")
    assert float(_np(penalty(np.zeros_like(z), z))) == pytest.approx(0.1 + 0.25)
    # Its gradient pushes each layer's rate into the band (through z).
    z_var = keras.Variable(z)
    if keras.backend.backend() == "jax":
        import jax

        grad = jax.grad(lambda v: penalty.call(None, v))(z)
    else:
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = penalty.call(None, z_var.value)
        grad = tape.gradient(loss, z_var.value)
    grad = _np(grad)
    assert np.all(grad[..., 0] < 0) and np.all(grad[..., 1] > 0) and np.all(grad[..., 2] == 0)
    again = BoundaryRatePenalty.from_config(penalty.get_config())
    assert (again.low, again.high) == (0.1, 0.5)
    with pytest.raises(ValueError, match="low"):
        BoundaryRatePenalty(low=0.6, high=0.5)
