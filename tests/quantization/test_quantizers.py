import keras
import numpy as np
import pytest
from keras import ops

from tfmodels.quantization import (
    Binary,
    Exponential,
    Pow2Ternary,
    Ternary,
    Uniform,
    copy_quantizer,
    get_quantizer,
    glorot_bound,
    serialize_quantizer,
)

pytestmark = pytest.mark.multibackend


def _np(x):
    return ops.convert_to_numpy(x)


def _grad(quantizer, x, **kwargs):
    """d sum(q(x)) / dx on the active backend."""
    x = np.asarray(x, "float32")
    if keras.backend.backend() == "jax":
        import jax

        return np.asarray(jax.grad(lambda v: quantizer(v, **kwargs).sum())(x))
    import tensorflow as tf

    v = tf.Variable(x)
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(quantizer(v, **kwargs))
    return tape.gradient(y, v).numpy()


W = np.linspace(-2.0, 2.0, 401).astype("float32")

ALL = [
    Binary(),
    Binary(stochastic=True),
    Ternary(scale=1.0),
    Ternary(stochastic=True, scale=1.0),
    Pow2Ternary(),
    Pow2Ternary(stochastic=True),
    Exponential(bits=4),
    Exponential(bits=3, stochastic=True),
    Uniform(),
    Uniform(bits=4, per_channel=True),
]


def _ids(q):
    return repr(q)


# Value sets ---------------------------------------------------------------------------------


def test_binary_values_and_zero_maps_to_plus():
    y = _np(Binary()(W))
    assert set(np.unique(y)) == {-1.0, 1.0}
    np.testing.assert_array_equal(y, np.where(W >= 0, 1.0, -1.0))
    assert set(np.unique(_np(Binary(scale=0.25)(W)))) == {-0.25, 0.25}


def test_ternary_follows_authors_thresholds():
    w0 = 0.8
    y = _np(Ternary(scale=w0)(W))
    expected = w0 * np.where(W > w0 / 2, 1.0, np.where(W <= -w0 / 2, -1.0, 0.0))
    np.testing.assert_array_equal(y, expected.astype("float32"))


def test_ternary_glorot_scale_is_kernel_bound():
    kernel = np.random.default_rng(0).uniform(-0.3, 0.3, size=(20, 12)).astype("float32")
    y = _np(Ternary()(kernel))
    w0 = np.sqrt(6.0 / (20 + 12))
    assert np.isclose(glorot_bound((20, 12)), w0)
    assert set(np.round(np.unique(y) / w0, 6)) <= {-1.0, 0.0, 1.0}


def test_ternary_per_channel_scale_has_three_values_per_channel():
    kernel = np.random.default_rng(1).normal(size=(3, 3, 4, 5)).astype("float32")
    kernel *= np.arange(1, 6, dtype="float32")  # channels of very different magnitude
    y = _np(Ternary(scale="max_abs", per_channel=True)(kernel))
    for c in range(5):
        values = np.unique(y[..., c])
        assert len(values) <= 3
        assert np.isclose(values.max(), np.abs(kernel[..., c]).max())


def test_glorot_bound_for_conv_and_transposed_conv():
    assert np.isclose(glorot_bound((3, 3, 4, 8)), np.sqrt(6.0 / (9 * (4 + 8))))
    assert np.isclose(glorot_bound((3, 3, 8, 4), channel_axis=-2), np.sqrt(6.0 / (9 * (4 + 8))))


def test_pow2_ternary_levels():
    y = _np(Pow2Ternary()(W))
    assert set(np.unique(y)) == {-0.5, 0.0, 0.5}
    np.testing.assert_array_equal(
        y, np.clip(np.sign(W * 2) * np.floor(np.abs(W * 2) + 0.5), -1, 1) / 2
    )
    wide = _np(Pow2Ternary(integer_bits=1, fractional_bits=2)(W))
    assert set(np.unique(wide)) == {k / 4 for k in range(-7, 8)}


def test_exponential_values_are_signed_powers_of_two():
    q = Exponential(bits=4)
    y = _np(q(W))
    nonzero = y[y != 0]
    exps = np.log2(np.abs(nonzero))
    np.testing.assert_array_equal(exps, np.round(exps))
    assert set(np.unique(exps)) <= set(range(-7, 1))
    np.testing.assert_array_equal(np.sign(y), np.sign(W))
    # Deterministic rounding: 0.3 = 2^-2 * 1.2 -> 2^-2; 0.4 = 2^-2 * 1.6 -> 2^-1.
    np.testing.assert_array_equal(_np(q([0.3, 0.4, -0.7, 1e-6])), [0.25, 0.5, -0.5, 2.0**-7])


@pytest.mark.parametrize("bits", [2, 4, 8, 16])
def test_uniform_has_at_most_2_pow_bits_levels(bits):
    x = np.random.default_rng(2).normal(size=(5000,)).astype("float32")
    y = _np(Uniform(bits=bits, narrow_range=False)(x))
    assert len(np.unique(y)) <= 2**bits
    assert len(np.unique(_np(Uniform(bits=bits)(x)))) <= 2**bits - 1
    assert np.abs(y - x).max() <= (x.max() - x.min()) / (2**bits - 1) + 1e-5


def test_uniform_int8_symmetric_grid_contains_zero_and_extremes():
    x = np.array([-3.0, -1.0, 0.0, 0.5, 2.0], "float32")
    y = _np(Uniform()(x))
    step = 3.0 / 127
    np.testing.assert_allclose(y, np.round(x / step) * step, atol=1e-6)
    assert y[2] == 0.0 and np.isclose(y[0], -3.0)


def test_uniform_per_channel_uses_each_channels_range():
    x = np.stack([np.linspace(-1, 1, 11), np.linspace(-100, 100, 11)], axis=-1).astype("float32")
    y = _np(Uniform(per_channel=True)(x))
    np.testing.assert_allclose(y[:, 0], x[:, 0], atol=1 / 127)
    np.testing.assert_allclose(y[:, 1], x[:, 1], atol=100 / 127)
    coarse = _np(Uniform(per_channel=False)(x))
    assert np.abs(coarse[:, 0] - x[:, 0]).max() > np.abs(y[:, 0] - x[:, 0]).max()


# Gradients ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "quantizer,clip",
    [
        (Binary(), 1.0),
        (Ternary(scale=1.0), 1.0),
        (Pow2Ternary(), 0.5),
        (Exponential(bits=4), 1.0),
        (Binary(scale=0.5), 0.5),
    ],
    ids=_ids,
)
def test_straight_through_gradient_clipped_where_the_paper_clips(quantizer, clip):
    g = _grad(quantizer, W)
    np.testing.assert_array_equal(g, np.where(np.abs(W) <= clip, 1.0, 0.0))


def test_uniform_gradient_is_straight_through_inside_range():
    x = np.random.default_rng(3).normal(size=(64,)).astype("float32")
    np.testing.assert_array_equal(_grad(Uniform(), x), np.ones_like(x))


def test_stochastic_gradient_is_straight_through_too():
    g = _grad(Ternary(stochastic=True, scale=1.0), W, training=True)
    np.testing.assert_array_equal(g, np.where(np.abs(W) <= 1.0, 1.0, 0.0))


# Stochastic variants ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "quantizer,clip",
    [
        (Binary(stochastic=True, seed=1), (-1.0, 1.0)),
        (Ternary(stochastic=True, scale=1.0, seed=2), (-1.0, 1.0)),
        (Pow2Ternary(stochastic=True, seed=3), (-0.5, 0.5)),
        (Exponential(bits=4, stochastic=True, seed=4), (2.0**-7, 1.0)),
    ],
    ids=_ids,
)
def test_stochastic_is_unbiased_and_deterministic_at_inference(quantizer, clip):
    lo, hi = clip
    x = np.array([lo * 1.5, lo * 0.6, lo * 0.25, hi * 0.3, hi * 0.7, hi * 1.4], "float32")
    if lo > 0:  # exponential: magnitudes inside [2^min, 2^max], both signs
        x = np.array([-0.9, -0.3, -0.05, 0.05, 0.3, 0.9], "float32")
    samples = _np(quantizer(np.tile(x, (4000, 1)), training=True))
    expected = np.sign(x) * np.clip(np.abs(x), max(lo, 0), hi) if lo > 0 else np.clip(x, lo, hi)
    np.testing.assert_allclose(samples.mean(0), expected, atol=0.04)
    assert len(np.unique(samples[:, 4])) > 1, "training=True must sample"
    first = _np(quantizer(x, training=False))
    for _ in range(5):
        np.testing.assert_array_equal(_np(quantizer(x, training=False)), first)


def test_stochastic_values_stay_in_the_deterministic_value_set():
    x = np.random.default_rng(4).normal(size=(1000,)).astype("float32")
    assert set(np.unique(_np(Binary(stochastic=True)(x, training=True)))) <= {-1.0, 1.0}
    assert set(np.unique(_np(Ternary(stochastic=True, scale=1.0)(x, training=True)))) <= {
        -1.0,
        0.0,
        1.0,
    }
    assert set(np.unique(_np(Pow2Ternary(stochastic=True)(x, training=True)))) <= {-0.5, 0.0, 0.5}


def test_same_seed_same_samples():
    x = np.random.default_rng(5).normal(size=(100,)).astype("float32")
    a = _np(Ternary(stochastic=True, scale=1.0, seed=7)(x, training=True))
    b = _np(Ternary(stochastic=True, scale=1.0, seed=7)(x, training=True))
    np.testing.assert_array_equal(a, b)


# Edge cases ---------------------------------------------------------------------------------

EDGE_INPUTS = {
    "zeros": np.zeros((4, 3), "float32"),
    "constant": np.full((4, 3), 0.7, "float32"),
    "huge": np.array([[1e30, -1e30, 3e38], [-3e38, 0.0, 1.0]], "float32"),
    "tiny": np.full((2, 3), 1e-30, "float32"),
}


@pytest.mark.parametrize("quantizer", ALL, ids=_ids)
@pytest.mark.parametrize("case", list(EDGE_INPUTS))
def test_edge_cases_produce_finite_values(quantizer, case):
    x = EDGE_INPUTS[case]
    for training in (False, True):
        y = _np(quantizer(x, training=training))
        assert y.shape == x.shape
        assert np.isfinite(y).all(), (case, y)
    if case == "zeros" and not isinstance(quantizer, Binary):
        np.testing.assert_array_equal(_np(quantizer(x)), x)


@pytest.mark.parametrize("quantizer", ALL, ids=_ids)
def test_float16_inputs_keep_dtype_and_stay_finite(quantizer):
    x = np.linspace(-3, 3, 50).astype("float16")
    y = quantizer(x)
    assert keras.backend.standardize_dtype(y.dtype) == "float16"
    assert np.isfinite(_np(y).astype("float32")).all()


# Configuration ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "factory,argument",
    [
        (lambda: Uniform(bits=0), "bits"),
        (lambda: Uniform(bits=17), "bits"),
        (lambda: Exponential(bits=1), "bits"),
        (lambda: Ternary(threshold=-0.1), "threshold"),
        (lambda: Ternary(threshold=1.0), "threshold"),
        (lambda: Binary(scale=0.0), "scale"),
        (lambda: Binary(scale=-1.0), "scale"),
        (lambda: Ternary(scale="median"), "scale"),
        (lambda: Pow2Ternary(integer_bits=-1), "integer_bits"),
        (lambda: Pow2Ternary(integer_bits=0, fractional_bits=0), "fractional_bits"),
        (lambda: Exponential(max_exponent=0.5), "max_exponent"),
    ],
)
def test_invalid_configuration_names_the_argument(factory, argument):
    with pytest.raises(ValueError, match=argument):
        factory()


@pytest.mark.parametrize("quantizer", ALL, ids=_ids)
def test_serialization_round_trip(quantizer):
    config = keras.saving.serialize_keras_object(quantizer)
    assert config["registered_name"].startswith("tfmodels>")
    clone = keras.saving.deserialize_keras_object(config)
    assert type(clone) is type(quantizer)
    assert clone.get_config() == quantizer.get_config()
    np.testing.assert_array_equal(_np(clone(W)), _np(quantizer(W)))


# QNN quantizers (arXiv:1609.07061) ------------------------------------------------------------
from tfmodels.quantization import LinearQuant, LogQuant, ap2  # noqa: E402


def test_ap2_is_the_nearest_power_of_two_in_the_log_domain():
    x = np.array([0.3, -3.0, 0.0, 5.0, 0.75, -0.7, 1.0], "float32")
    np.testing.assert_array_equal(_np(ap2(x)), [0.25, -4.0, 0.0, 4.0, 1.0, -0.5, 1.0])


def test_linear_quant_levels_and_binary_limit():
    q = LinearQuant(bits=2)
    out = _np(q(W))
    np.testing.assert_allclose(np.unique(out), [-1.0, -1 / 3, 1 / 3, 1.0], atol=1e-6)
    np.testing.assert_allclose(_np(q([-0.4, -0.3, 0.3, 0.7])), [-1 / 3, -1 / 3, 1 / 3, 1.0],
                               atol=1e-6)
    # bits=1 is sign binarization, zero included.
    np.testing.assert_array_equal(_np(LinearQuant(bits=1)(W)), _np(Binary()(W)))
    assert len(np.unique(_np(LinearQuant(bits=4)(W)))) == 16


def test_linear_quant_stochastic_is_unbiased_and_deterministic_at_inference():
    q = LinearQuant(bits=2, stochastic=True, seed=3)
    x = np.full((20000,), 0.5, "float32")
    sampled = _np(q(x, training=True))
    np.testing.assert_allclose(np.unique(sampled), [1 / 3, 1.0], atol=1e-6)
    assert abs(sampled.mean() - 0.5) < 0.01
    # Deterministic: the nearest level, 1/3.
    np.testing.assert_allclose(_np(q(x)), np.full_like(x, 1 / 3), atol=1e-6)


def test_log_quant_rounds_exponents_and_clips():
    q = LogQuant(bits=3)  # exponents -3..0
    np.testing.assert_array_equal(_np(q([0.3, -0.7, 0.01, 4.0, 0.0, 0.09])),
                                  [0.25, -0.5, 0.125, 1.0, 0.0, 0.125])


@pytest.mark.parametrize("quantizer", [LinearQuant(bits=2), LogQuant(bits=4)])
def test_qnn_quantizers_cancel_the_gradient_outside_the_range(quantizer):
    g = _grad(quantizer, [-1.5, -1.0, 0.3, 1.0, 1.2])
    np.testing.assert_array_equal(g, [0.0, 1.0, 1.0, 1.0, 0.0])


def test_qnn_quantizers_serialize_and_reject_bad_bits():
    for q in (LinearQuant(bits=3, stochastic=True), LogQuant(bits=5, max_exponent=1)):
        clone = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(q))
        assert clone.get_config() == q.get_config()
    with pytest.raises(ValueError, match="bits"):
        LinearQuant(bits=0)
    with pytest.raises(ValueError, match="bits"):
        LogQuant(bits=1)
    with pytest.raises(ValueError, match="max_exponent"):
        LogQuant(max_exponent=0.5)


def test_quantizer_helpers_round_trip_copy_and_reject():
    quantizer = Ternary(scale=0.5, stochastic=True)
    restored = get_quantizer(serialize_quantizer(quantizer), "kernel_quantizer")
    assert type(restored) is Ternary and restored.get_config() == quantizer.get_config()
    copy = copy_quantizer(quantizer)
    assert copy is not quantizer and copy.get_config() == quantizer.get_config()
    assert get_quantizer(quantizer) is quantizer
    assert serialize_quantizer(None) is None and copy_quantizer(None) is None
    assert get_quantizer(None, "bias_quantizer") is None
    with pytest.raises(ValueError, match="recurrent_quantizer"):
        get_quantizer("ternary", "recurrent_quantizer")
