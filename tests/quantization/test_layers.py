import keras
import numpy as np
import pytest
from keras import ops

from tests import testing_utils
from tfmodels.quantization import (
    ActivationQuantizer,
    Binary,
    Exponential,
    Pow2Ternary,
    QuantConv2D,
    QuantConv2DTranspose,
    QuantDense,
    Ternary,
    Uniform,
)

pytestmark = pytest.mark.multibackend

ACT = Uniform(bits=8, symmetric=False, narrow_range=False)


def _np(x):
    return ops.convert_to_numpy(x)


LAYERS = {
    "dense_int8": (lambda: QuantDense(4, kernel_quantizer=Uniform(), input_quantizer=ACT), (3, 5)),
    "dense_ternary_stochastic": (
        lambda: QuantDense(4, kernel_quantizer=Ternary(stochastic=True), seed=1),
        (3, 5),
    ),
    "conv_per_channel": (
        lambda: QuantConv2D(
            4,
            3,
            padding="same",
            kernel_quantizer=Uniform(per_channel=True),
            input_quantizer=ACT,
            output_quantizer=ACT,
        ),
        (2, 8, 8, 3),
    ),
    "conv_binary": (lambda: QuantConv2D(4, 3, kernel_quantizer=Binary()), (2, 6, 6, 2)),
    "conv_transpose": (
        lambda: QuantConv2DTranspose(
            3, 3, strides=2, padding="same", kernel_quantizer=Uniform(per_channel=True)
        ),
        (2, 4, 4, 2),
    ),
    "activation_quantizer": (lambda: ActivationQuantizer(momentum=0.9), (4, 6)),
    "activation_binary": (lambda: ActivationQuantizer(Binary()), (4, 6)),
}


@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_checks(name, tmp_path):
    factory, shape = LAYERS[name]
    testing_utils.check_layer(factory, shape, tmp_path)


@pytest.mark.parametrize(
    "quantizer,allowed",
    [
        (Ternary(scale=0.5), {-0.5, 0.0, 0.5}),
        (Pow2Ternary(), {-0.5, 0.0, 0.5}),
        (Binary(scale=0.25), {-0.25, 0.25}),
    ],
    ids=repr,
)
def test_forward_uses_the_quantized_kernel(quantizer, allowed):
    layer = QuantDense(6, kernel_quantizer=quantizer, use_bias=False)
    x = np.random.default_rng(0).normal(size=(4, 5)).astype("float32")
    y = _np(layer(x))
    kq = _np(layer.quantized_kernel())
    assert set(np.unique(kq)) <= allowed
    np.testing.assert_allclose(y, x @ kq, rtol=1e-5, atol=1e-6)
    # The shadow kernel stays float.
    assert len(np.unique(_np(layer.kernel))) > len(allowed)


def test_conv_transpose_per_channel_scales_follow_output_channels():
    layer = QuantConv2DTranspose(3, 2, kernel_quantizer=Ternary(scale="max_abs", per_channel=True))
    layer.build((None, 4, 4, 5))
    kernel = np.random.default_rng(1).normal(size=(2, 2, 3, 5)).astype("float32")
    kernel *= np.array([1.0, 10.0, 100.0], "float32")[None, None, :, None]
    layer.kernel.assign(kernel)
    kq = _np(layer.quantized_kernel())
    for c in range(3):
        np.testing.assert_allclose(np.abs(kq[:, :, c]).max(), np.abs(kernel[:, :, c]).max())


def test_shadow_weights_receive_straight_through_gradient():
    # With a ternary kernel, d loss / d kernel equals the gradient w.r.t. the quantized kernel
    # inside the clip range (STE), so SGD moves the float shadow weights.
    layer = QuantDense(1, kernel_quantizer=Ternary(scale=1.0), use_bias=False)
    inputs = keras.Input((2,))
    model = keras.Model(inputs, layer(inputs))
    layer.kernel.assign(np.array([[0.3], [-0.2]], "float32"))
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    x = np.array([[1.0, 1.0]], "float32")
    model.fit(x, np.array([[2.0]], "float32"), epochs=1, verbose=0)
    # Quantized kernel is [0, 0] -> prediction 0; d mse / d w = 2 * (0 - 2) * x = -4 per weight.
    np.testing.assert_allclose(_np(layer.kernel), [[0.3 + 0.4], [-0.2 + 0.4]], rtol=1e-5)


def test_activation_quantizer_tracks_range_with_moving_average():
    aq = ActivationQuantizer(momentum=0.5)
    aq(np.zeros((1, 2), "float32"))  # build
    np.testing.assert_allclose([_np(aq.range_min), _np(aq.range_max)], [-6.0, 6.0])
    aq(np.array([[-1.0, 3.0]], "float32"), training=True)  # first batch sets the range
    np.testing.assert_allclose([_np(aq.range_min), _np(aq.range_max)], [-1.0, 3.0])
    aq(np.array([[-3.0, 1.0]], "float32"), training=True)
    np.testing.assert_allclose([_np(aq.range_min), _np(aq.range_max)], [-2.0, 2.0])
    aq(np.array([[5.0, 7.0]], "float32"), training=False)  # inference leaves it alone
    np.testing.assert_allclose([_np(aq.range_min), _np(aq.range_max)], [-2.0, 2.0])
    y = _np(aq(np.array([[5.0, -0.5, 0.0]], "float32")))
    # Clamped to the range (whose ends are nudged by < 1 step so that zero is a level).
    assert abs(y[0, 0] - 2.0) < 4.0 / 255
    assert y[0, 2] == 0.0  # zero is exact
    assert len(np.unique(_np(aq(np.linspace(-3, 3, 2000)[None].astype("float32"))))) <= 256


def test_activation_range_includes_zero_for_positive_inputs():
    aq = ActivationQuantizer()
    aq(np.array([[2.0, 4.0]], "float32"), training=True)
    assert float(_np(aq.range_min)) == 0.0 and float(_np(aq.range_max)) == 4.0


def test_invalid_arguments_name_the_argument():
    with pytest.raises(ValueError, match="kernel_quantizer"):
        QuantDense(2, kernel_quantizer="ternary")
    with pytest.raises(ValueError, match="momentum"):
        ActivationQuantizer(momentum=1.0)
    with pytest.raises(ValueError, match="per-tensor"):
        ActivationQuantizer(Uniform(per_channel=True))


def _conv_net(seed):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((8, 8, 1))
    x = QuantConv2D(
        8, 3, padding="same", kernel_quantizer=Uniform(per_channel=True), input_quantizer=ACT
    )(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.ReLU()(x)
    x = ActivationQuantizer()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = QuantDense(2, kernel_quantizer=Ternary(), input_quantizer=ACT)(x)
    return keras.Model(inputs, outputs)


@pytest.mark.parametrize(
    "kernel_quantizer",
    [Uniform(per_channel=True), Exponential(bits=4, stochastic=True)],
    ids=repr,
)
def test_small_qat_conv_net_learns_with_fit(kernel_quantizer):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 8, 8, 1)).astype("float32")
    y = (x[:, :4].mean(axis=(1, 2, 3)) > x[:, 4:].mean(axis=(1, 2, 3))).astype("int32")
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 1))
    h = QuantConv2D(8, 3, padding="same", kernel_quantizer=kernel_quantizer, input_quantizer=ACT)(
        inputs
    )
    h = keras.layers.BatchNormalization()(h)
    h = keras.layers.ReLU()(h)
    h = keras.layers.Flatten()(h)
    outputs = QuantDense(2, kernel_quantizer=Uniform(), input_quantizer=ACT)(h)
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    history = model.fit(x, y, epochs=6, batch_size=32, verbose=0).history["loss"]
    assert history[-1] < 0.8 * history[0], history


def test_conv_net_saves_and_loads_with_identical_outputs(tmp_path):
    model = _conv_net(0)
    x = np.random.default_rng(1).normal(size=(4, 8, 8, 1)).astype("float32")
    model(x, training=True)  # move the activation ranges off their initial values
    path = str(tmp_path / "net.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(_np(model(x)), _np(loaded(x)))


@pytest.mark.parametrize(
    "quant_class, keras_class, filters, kwargs",
    [
        (QuantConv2D, keras.layers.Conv2D, 3, {}),
        (QuantConv2DTranspose, keras.layers.Conv2DTranspose, 6, {"strides": 2}),
    ],
    ids=["conv", "conv_transpose"],
)
def test_channels_first_adds_the_bias_per_channel(quant_class, keras_class, filters, kwargs):
    # The output width equals `filters`, so a bias added along the last (width) axis instead of
    # axis 1 would broadcast without error and give wrong values. (Keras 3.15's own biased
    # Conv2D makes that very mistake on TensorFlow, through ops.add's BiasAdd shortcut, so the
    # reference is the bias-free Keras layer plus the bias per channel.)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 4, 5, 3)).astype("float32")  # (batch, channels, h, w)
    common = dict(padding="same", data_format="channels_first", **kwargs)
    quant = quant_class(filters, 3, kernel_quantizer=Ternary(scale=0.5), **common)
    reference = keras_class(filters, 3, use_bias=False, **common)
    quant.build(x.shape)
    reference.build(x.shape)
    quant.kernel.assign(rng.normal(size=quant.kernel.shape).astype("float32"))
    bias = np.arange(1.0, filters + 1, dtype="float32") * np.float32(-1.5)
    quant.bias.assign(bias)
    # The reference computes with the quantized kernel.
    reference.set_weights([_np(quant.quantized_kernel())])
    y = _np(_channels_first_call(quant, x))
    assert y.shape[1] == filters and y.shape[-1] == filters
    expected = _np(_channels_first_call(reference, x)) + bias[None, :, None, None]
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


def _channels_first_call(layer, x):
    if keras.backend.backend() != "tensorflow":
        return layer(x)
    import tensorflow as tf

    # TensorFlow's CPU kernels run NCHW convolutions only under XLA (without oneDNN).
    return tf.function(layer, jit_compile=True)(x)


# Keras's layer-conformance harness over every public Quant layer, mixed precision included
# (tests/testing_utils.run_layer_test). Tiny shapes; the quantizers cover int8 (range-tracking
# activation quantizers), deterministic and stochastic low-bit kernels.
CONFORMANCE = {
    "activation_uniform": (ActivationQuantizer, {}, (2, 3)),
    "activation_binary": (ActivationQuantizer, {"quantizer": Binary(stochastic=True)}, (2, 3)),
    "dense_int8_in_out": (
        QuantDense,
        {"units": 3, "kernel_quantizer": Uniform(), "input_quantizer": ACT,
         "output_quantizer": ACT},
        (2, 4),
    ),
    "dense_ternary_stochastic": (
        QuantDense, {"units": 3, "kernel_quantizer": Ternary(stochastic=True), "seed": 1}, (2, 4)
    ),
    "conv_int8_input": (
        QuantConv2D,
        {"filters": 2, "kernel_size": 3, "kernel_quantizer": Uniform(per_channel=True),
         "input_quantizer": ACT},
        (1, 4, 4, 2),
    ),
    "conv_exponential_output": (
        QuantConv2D,
        {"filters": 2, "kernel_size": 1, "kernel_quantizer": Exponential(bits=4),
         "output_quantizer": ACT},
        (1, 4, 4, 2),
    ),
    "conv_transpose_int8_input": (
        QuantConv2DTranspose,
        {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same",
         "kernel_quantizer": Uniform(), "input_quantizer": ACT},
        (1, 2, 2, 3),
    ),
    "conv_transpose_pow2_per_channel": (
        QuantConv2DTranspose,
        {"filters": 2, "kernel_size": 2, "kernel_quantizer": Pow2Ternary(scale="max_abs",
                                                                         per_channel=True)},
        (1, 2, 2, 3),
    ),
}


@pytest.mark.parametrize("case", sorted(CONFORMANCE))
def test_keras_layer_conformance_with_mixed_precision(case):
    layer_cls, init_kwargs, input_shape = CONFORMANCE[case]
    testing_utils.run_layer_test(layer_cls, init_kwargs, input_shape=input_shape)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_activation_quantizer_range_stays_float32_under_mixed_precision(policy):
    aq = ActivationQuantizer(dtype=policy)
    x = np.array([[-1.0, 0.5, 2.0]], "float32")
    y = aq(x, training=True)
    assert keras.backend.standardize_dtype(y.dtype) == aq.compute_dtype
    # The first batch sets the range exactly, in float32 (2.0 - 1.0 are exact in both).
    assert [keras.backend.standardize_dtype(w.dtype) for w in aq.weights] == ["float32"] * 3
    np.testing.assert_array_equal([_np(aq.range_min), _np(aq.range_max)], [-1.0, 2.0])
    float32_out = ActivationQuantizer()(x, training=True)
    np.testing.assert_allclose(_np(ops.cast(y, "float32")), _np(float32_out), atol=1e-2)


def test_mixed_kernel_is_quantized_from_the_float32_shadow_weight():
    # 1 + 2**-12 rounds to 1.0 in float16; quantized in float32 first, the int8 level of the
    # float32 kernel is what the layer computes with (cast to float16 after fake-quant).
    layer = QuantDense(2, kernel_quantizer=Uniform(), use_bias=False, dtype="mixed_float16")
    layer.build((None, 2))
    layer.kernel.assign(np.array([[1.0, 0.5], [-0.25, 1.0 + 2.0**-12]], "float32"))
    expected = QuantDense(2, kernel_quantizer=Uniform(), use_bias=False)
    expected.build((None, 2))
    expected.kernel.assign(layer.kernel)
    got = layer.quantized_kernel()
    assert keras.backend.standardize_dtype(got.dtype) == "float16"
    np.testing.assert_array_equal(
        _np(got), _np(ops.cast(expected.quantized_kernel(), "float16"))
    )
