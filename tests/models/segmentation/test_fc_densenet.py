"""Tests for tfmodels.models.segmentation.fc_densenet (TF and JAX: marked multibackend)."""

import os

import keras
import numpy as np
import pytest

from tests import testing_utils
from tfmodels.models.segmentation import (
    FCDenseNet,
    fc_densenet56,
    fc_densenet67,
    fc_densenet103,
)
from tfmodels.quantization import QuantConv2D, QuantConv2DTranspose, quantize_model

pytestmark = pytest.mark.multibackend

tf_only = testing_utils.tensorflow_only


def tiny(**kwargs):
    config = dict(
        num_classes=3, growth_rate=4, layers_per_block=1, initial_filters=8, dropout=0.2
    )
    return FCDenseNet(**{**config, **kwargs})


def images(n, h, w, seed=0):
    return np.random.default_rng(seed).random((n, h, w, 3)).astype("float32")


@tf_only
@pytest.mark.parametrize(
    "factory, expected",
    [(fc_densenet56, 1_397_963), (fc_densenet67, 3_502_923), (fc_densenet103, 9_425_163)],
)
def test_parameter_counts_match_the_paper(factory, expected):
    model = factory(num_classes=11, name="custom")
    assert model.name == "custom"
    assert model.count_params() == expected
    # Table 2 of arXiv:1611.09326: 1.5M (see fc_densenet56's docstring), 3.5M, 9.4M.
    paper = {fc_densenet56: 1.4e6, fc_densenet67: 3.5e6, fc_densenet103: 9.4e6}[factory]
    assert abs(model.count_params() - paper) / paper < 0.01


@tf_only
def test_defaults_build_fc_densenet67():
    model = FCDenseNet(11)
    assert model.name == "fc_densenet" and model.count_params() == 3_502_923
    assert (model.growth_rate, model.layers_per_block, model.initial_filters) == (16, 5, 48)
    assert model.get_layer("bottleneck_layer4_conv").filters == 16
    assert "bottleneck_layer5_conv" not in {layer.name for layer in model.layers}


@tf_only
@pytest.mark.parametrize("factory", [fc_densenet56, fc_densenet67, fc_densenet103])
def test_factories_pass_every_keyword_through(factory):
    kwargs = dict(
        growth_rate=2, layers_per_block=1, bottleneck_layers=2, initial_filters=4, dropout=0.0,
        weight_decay=0.0, batch_norm_momentum=0.5, input_shape=(32, 32, 3), quantize=True,
        dtype="mixed_bfloat16", name="x", num_pools=5,
    )
    model = factory(num_classes=3, **kwargs)
    assert type(model) is FCDenseNet
    assert model.get_config() == {"num_classes": 3, "trainable": True, **kwargs}
    assert model.get_layer("bottleneck_layer1_conv").filters == 2
    assert model.get_layer("down0_layer0_bn").momentum == 0.5
    assert isinstance(model.get_layer("logits"), QuantConv2D)
    assert {layer.dtype_policy.name for layer in model.layers[1:]} == {"mixed_bfloat16"}


@tf_only
def test_blocks_follow_the_paper():
    model = tiny(layers_per_block=(1, 1, 1, 1, 2), bottleneck_layers=3, dropout=0.2)
    stem = model.get_layer("stem_conv")
    assert (stem.filters, stem.kernel_size) == (8, (3, 3))
    # Dense layer: BN - ReLU - 3x3 conv (growth rate) - dropout.
    assert isinstance(model.get_layer("down0_layer0_bn"), keras.layers.BatchNormalization)
    assert model.get_layer("down0_layer0_bn").momentum == 0.9  # Lasagne's alpha=0.1
    assert model.get_layer("down0_layer0_conv").filters == 4
    assert model.get_layer("down0_layer0_dropout").rate == 0.2
    # Transition down keeps the channel count: stem 8 + 1 layer * growth 4 = 12.
    assert model.get_layer("transition_down0_conv").filters == 12
    assert model.get_layer("transition_down0_conv").kernel_size == (1, 1)
    # Transition up upsamples only the new maps of the previous block: 3 bottleneck layers * 4.
    up = model.get_layer("transition_up0")
    assert up.filters == 3 * 4 and up.strides == (2, 2) and up.kernel_size == (3, 3)
    assert up.input.shape[-1] == 12
    # The upsampling path mirrors the downsampling block sizes: (2, 1, 1, 1, 1).
    names = {layer.name for layer in model.layers}
    assert "up0_layer1_conv" in names and "up1_layer1_conv" not in names
    assert model.get_layer("transition_up1").filters == 2 * 4
    assert model.get_layer("logits").kernel_size == (1, 1)
    assert isinstance(model.get_layer("logits").kernel_regularizer, keras.regularizers.L2)
    assert isinstance(stem.kernel_initializer, keras.initializers.HeUniform)


@pytest.mark.parametrize("height, width", [(8, 16), (16, 8)])
def test_any_multiple_of_2_to_the_num_pools_works_with_dynamic_sizes(height, width):
    model = tiny(num_pools=2)
    x = images(2, height, width)
    out = keras.ops.convert_to_numpy(model(x, training=False))
    assert out.shape == (2, height, width, 3)
    # The same weights in a fixed-size graph (what the TFLite export builds) give the same logits.
    fixed = FCDenseNet.from_config({**model.get_config(), "input_shape": (height, width, 3)})
    fixed.set_weights(model.get_weights())
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(fixed(x, training=False)), out, rtol=1e-5, atol=1e-5
    )


@tf_only
def test_fewer_pools_make_a_shallower_network_for_smaller_multiples():
    model = tiny(num_pools=2, layers_per_block=(1, 2), bottleneck_layers=1)
    names = {layer.name for layer in model.layers}
    assert {"transition_down1_pool", "transition_up1", "up1_layer0_conv"} <= names
    assert not {"transition_down2_pool", "transition_up2"} & names
    assert model.get_layer("down1_layer1_conv")  # the second block has two layers
    assert model.get_layer("up0_layer1_conv")  # the up path mirrors the down path
    out = model(images(1, 12, 20), training=False)
    assert tuple(out.shape) == (1, 12, 20, 3)
    with pytest.raises(ValueError, match="multiples of 4; got 10x20"):
        model(images(1, 10, 20))
    assert FCDenseNet.from_config(model.get_config()).count_params() == model.count_params()


@tf_only
def test_size_not_divisible_by_32_is_a_clear_error():
    with pytest.raises(ValueError, match="multiples of 32; got 48x64"):
        tiny(input_shape=(48, 64, 3))
    model = tiny()
    with pytest.raises(ValueError, match="multiples of 32; got 40x32"):
        model(images(1, 40, 32))


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"growth_rate": 0}, "growth_rate"),
        ({"layers_per_block": (1, 2, 3)}, "layers_per_block"),
        ({"layers_per_block": (1, 1, 1, 1, 1)}, "bottleneck_layers"),
        ({"num_pools": 0}, "num_pools"),
        ({"num_pools": 2, "layers_per_block": (1, 1, 1)}, "layers_per_block"),
        ({"dropout": 1.0}, "dropout"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        tiny(**kwargs)


# TensorFlow only: the config and weights round trip is backend-independent Python, and its
# eager quantized passes cost ~45 s of per-op compiles on JAX; the Quant layers' round trips and
# forward passes run on JAX in tests/quantization.
@tf_only
@pytest.mark.parametrize("quantize", [False, True])
def test_keras_round_trip_gives_identical_outputs(tmp_path, quantize):
    model = tiny(input_shape=(32, 32, 3), quantize=quantize)
    x = images(2, 32, 32)
    model(x, training=True)  # moves BatchNorm statistics and activation ranges off defaults
    path = os.path.join(tmp_path, "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is FCDenseNet and loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(model(x, training=False)),
        keras.ops.convert_to_numpy(loaded(x, training=False)),
    )


def test_fit_lowers_the_loss():
    model = tiny(input_shape=(32, 32, 3), num_pools=2)
    x = images(4, 32, 32)
    # A learnable target: class from the brightest channel.
    y = np.argmax(x, axis=-1)
    model.compile(
        optimizer=keras.optimizers.RMSprop(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    model.fit(x, y, batch_size=4, epochs=1, verbose=0)  # settles BatchNorm statistics
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, batch_size=4, epochs=6, verbose=0)
    after = model.evaluate(x, y, verbose=0)
    assert after < before


# TensorFlow only: quantize_model's layer swap and weight copy are backend-independent Python,
# run on JAX in tests/quantization/test_qat.py.
@tf_only
def test_quantized_twin_copies_weights_and_quantizes_every_conv():
    model = tiny(input_shape=(32, 32, 3))
    x = images(2, 32, 32)
    model(x, training=True)
    twin = model.quantized_twin()
    assert type(twin) is FCDenseNet and twin.get_config() == {**model.get_config(), "quantize": True}
    assert twin.count_params() > model.count_params()
    # quantize_model is the same mechanism: same class and config, the name aside.
    via_quantize_model = quantize_model(model)
    assert via_quantize_model.get_config() == {**twin.get_config(), "name": "fc_densenet_qat"}
    assert [type(l) for l in via_quantize_model.layers] == [type(l) for l in twin.layers]
    convs = [l for l in twin.layers if isinstance(l, keras.layers.Conv2D)]
    ups = [l for l in twin.layers if isinstance(l, keras.layers.Conv2DTranspose)]
    assert convs and all(isinstance(l, QuantConv2D) for l in convs)
    assert len(ups) == 5 and all(isinstance(l, QuantConv2DTranspose) for l in ups)
    # Conv2D kernels per output channel; transposed convs per tensor (see the class docstring).
    assert all(l.kernel_quantizer.per_channel for l in convs)
    assert not any(l.kernel_quantizer.per_channel for l in ups)
    for name in ("stem_conv", "transition_up2", "down1_layer0_bn"):
        for a, b in zip(model.get_layer(name).weights, twin.get_layer(name).weights):
            np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
    with pytest.raises(ValueError, match="already quantization-aware"):
        twin.quantized_twin()


@tf_only
def test_qat_twin_converts_to_builtin_int8_tflite(tmp_path):
    from tfmodels.export import export_tflite, verify_tflite

    model = FCDenseNet(
        3, growth_rate=2, layers_per_block=1, initial_filters=4, input_shape=(32, 32, 3),
        quantize=True, num_pools=2,
    )
    x = images(4, 32, 32)
    model(x, training=True)  # activation ranges from data
    path = os.path.join(tmp_path, "model.tflite")
    report = export_tflite(model, path, mode="int8", representative_data=x[:2])
    assert not [op for op in report.op_types if op.startswith("Flex")]
    assert {"CONV_2D", "TRANSPOSE_CONV", "CONCATENATION", "MAX_POOL_2D"} <= set(report.op_types)
    # int8 throughout: one QUANTIZE at the float input, one DEQUANTIZE at the float output.
    assert report.op_types["QUANTIZE"] == 1 and report.op_types["DEQUANTIZE"] == 1
    assert report.weight_dtypes.get("float32", 0) == 0
    verify = verify_tflite(path, model, x)
    assert verify.min_argmax_agreement > 0.9


# On JAX the QAT model only: it runs every block of the float one, with quantizers added.
@pytest.mark.parametrize(
    "quantize", [testing_utils.on_tensorflow_only(False, id="float"), pytest.param(True, id="qat")]
)
def test_keras_layer_conformance_with_mixed_precision(quantize):
    testing_utils.run_layer_test(
        FCDenseNet,
        dict(num_classes=2, growth_rate=2, layers_per_block=1, initial_filters=2,
             input_shape=(16, 16, 3), quantize=quantize, num_pools=2),
        input_shape=(1, 16, 16, 3),
        expected_output_shape=(1, 16, 16, 2),
    )


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_qat_model_fits_under_a_global_mixed_policy(policy):
    previous = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        model = tiny(growth_rate=2, initial_filters=2, input_shape=(32, 32, 3), quantize=True,
                     num_pools=2)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    model.compile(
        optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    labels = np.zeros((2, 32, 32), "int32")
    history = model.fit(images(2, 32, 32), labels, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert keras.backend.standardize_dtype(model(images(1, 32, 32)).dtype) == policy[6:]
    quantizer = model.get_layer("logits_quantizer")
    assert keras.backend.standardize_dtype(quantizer.range_max.dtype) == "float32"
    assert float(keras.ops.convert_to_numpy(quantizer.initialized)) == 1.0


def test_dtype_is_in_the_config_and_checked():
    model = tiny(input_shape=(32, 32, 3), dtype="mixed_bfloat16")
    assert model.get_config()["dtype"] == "mixed_bfloat16"
    assert FCDenseNet.from_config(model.get_config()).get_layer("stem_conv").compute_dtype == (
        "bfloat16"
    )
    assert model.dtype_policy.name == "mixed_bfloat16"
    with pytest.raises(ValueError, match="dtype"):
        tiny(dtype="float17")


@tf_only
def test_int8_file_follows_the_qat_model_when_qat_ranges_are_wider_than_inference(tmp_path):
    # Regression (#10, real CamVid): QAT ranges are learned in training mode (batch statistics,
    # dropout) and came out 3.5x wider than the inference activations. On a conv that reads a
    # concatenation, such a range became the int8 grid of every tensor of the concat chain
    # (TFLite's CONCATENATION shares one scale), tensors the QAT graph never quantizes, and
    # the file agreed with the QAT model on half the pixels. Those convs now read float inputs
    # and the converter calibrates the chain.
    from tfmodels.export import export_tflite, verify_tflite

    model = tiny(layers_per_block=2, input_shape=(64, 64, 3), quantize=True)
    for name in ("logits", "transition_up0", "transition_up4"):
        assert model.get_layer(name).input_quantizer is None
    assert model.get_layer("down0_layer0_conv").input_quantizer is not None
    x = images(4, 64, 64, seed=3)
    model(x, training=True)  # ranges from data
    for layer in model.layers:  # then 4x wider, as training mode left them on CamVid
        for weight in layer.weights:
            if weight.path.endswith(("range_min", "range_max")):
                weight.assign(4.0 * weight)
    path = os.path.join(tmp_path, "model.tflite")
    export_tflite(model, path, mode="int8", representative_data=x[:2])
    verify = verify_tflite(path, model, images(3, 64, 64, seed=4))
    assert verify.min_argmax_agreement > 0.9


@tf_only
def test_mixed_model_exports_through_its_float32_copy(tmp_path):
    # The exporter converts a float32 copy (tfmodels.export.tflite.float32_copy): FCDenseNet
    # keeps its policy in its own config ("dtype"), which the copy rewrites too.
    from tfmodels.export import export_tflite, verify_tflite
    from tfmodels.export.tflite import float32_copy

    model = tiny(input_shape=(16, 16, 3), num_pools=2, quantize=True, dtype="mixed_bfloat16")
    x = images(2, 16, 16)
    model(x, training=True)
    copy = float32_copy(model)
    assert copy.get_config()["dtype"] == "float32"
    assert {layer.dtype_policy.name for layer in copy.layers} == {"float32"}
    report = export_tflite(model, os.path.join(tmp_path, "m.tflite"), mode="int8",
                           representative_data=x)
    assert verify_tflite(report.path, model, x).min_argmax_agreement > 0.9
