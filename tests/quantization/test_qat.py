import keras
import numpy as np
import pytest
from keras import ops

from tfmodels.quantization import (
    QuantConv2D,
    QuantConv2DTranspose,
    QuantDense,
    Ternary,
    Uniform,
    quantize_graph,
    quantize_model,
)

pytestmark = pytest.mark.multibackend


@keras.saving.register_keras_serializable("tfmodels_tests")
class _TinyNet(keras.Model):
    """A keras-hub style model class: its constructor wires a functional graph."""

    def __init__(self, filters=4, quantize=False, **kwargs):
        inputs = keras.Input((8, 8, 3), name="image")
        x = keras.layers.Conv2D(filters, 3, padding="same", name="conv")(inputs)
        x = keras.layers.BatchNormalization(name="bn")(x)
        x = keras.layers.ReLU(name="relu")(x)
        x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
        outputs = keras.layers.Dense(3, name="head")(x)
        if quantize:
            inputs, outputs = quantize_graph(inputs, outputs)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        self.filters = filters
        self.quantize = quantize

    def get_config(self):
        return {"name": self.name, "filters": self.filters, "quantize": self.quantize}


def _float_model():
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", name="conv")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.Conv2DTranspose(2, 3, strides=2, padding="same", name="up")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(3, name="head")(x)
    return keras.Model(inputs, outputs, name="net")


def test_layers_are_replaced_and_weights_copied():
    model = _float_model()
    x = np.random.default_rng(0).normal(size=(2, 8, 8, 3)).astype("float32")
    model(x, training=True)  # move BN statistics so copying them matters
    qat = quantize_model(model)
    assert qat.name == "net_qat"
    types = {layer.name: type(layer) for layer in qat.layers}
    assert types["conv"] is QuantConv2D
    assert types["up"] is QuantConv2DTranspose
    assert types["head"] is QuantDense
    assert qat.get_layer("conv").kernel_quantizer.per_channel
    assert not qat.get_layer("up").kernel_quantizer.per_channel
    assert not qat.get_layer("head").kernel_quantizer.per_channel
    np.testing.assert_array_equal(
        ops.convert_to_numpy(qat.get_layer("conv").kernel),
        ops.convert_to_numpy(model.get_layer("conv").kernel),
    )
    np.testing.assert_array_equal(
        ops.convert_to_numpy(qat.get_layer("bn").moving_mean),
        ops.convert_to_numpy(model.get_layer("bn").moving_mean),
    )
    # Without input quantization the QAT twin differs from the float model by int8 weight error.
    no_act = quantize_model(model, input_quantizer=None)
    y_float = ops.convert_to_numpy(model(x))
    y_qat = ops.convert_to_numpy(no_act(x))
    assert 0 < np.abs(y_qat - y_float).max() < 0.05 * np.abs(y_float).max() + 1e-3


def test_input_model_is_unchanged_and_custom_quantizer_is_used():
    model = _float_model()
    qat = quantize_model(model, kernel_quantizer=Ternary(scale=0.1))
    assert all(type(layer).__module__.startswith("keras") for layer in model.layers)
    kq = ops.convert_to_numpy(qat.get_layer("head").quantized_kernel())
    assert set(np.unique(kq).tolist()) <= set(np.float32([-0.1, 0.0, 0.1]).tolist())
    assert qat.get_layer("conv").kernel_quantizer is not qat.get_layer("head").kernel_quantizer


def test_qat_twin_trains_and_round_trips(tmp_path):
    qat = quantize_model(_float_model())
    x = np.random.default_rng(1).normal(size=(16, 8, 8, 3)).astype("float32")
    y = np.random.default_rng(2).integers(0, 3, size=(16,))
    qat.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    qat.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert float(ops.convert_to_numpy(qat.get_layer("conv").input_activation_quantizer.initialized)) == 1.0
    path = str(tmp_path / "qat.keras")
    qat.save(path)
    np.testing.assert_array_equal(
        ops.convert_to_numpy(keras.saving.load_model(path)(x)), ops.convert_to_numpy(qat(x))
    )


def test_rejects_unbuilt_and_subclassed_models():
    with pytest.raises(ValueError, match="not built"):
        quantize_model(keras.Sequential([keras.layers.Dense(2)]))

    class Custom(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    custom = Custom()
    custom(np.zeros((1, 3), "float32"))
    with pytest.raises(ValueError, match="subclassed"):
        quantize_model(custom)
    with pytest.raises(ValueError, match="keras.Model"):
        quantize_model(Uniform())


def test_model_class_with_quantize_argument_keeps_its_class(tmp_path):
    model = _TinyNet(filters=5, name="tiny")
    x = np.random.default_rng(3).normal(size=(4, 8, 8, 3)).astype("float32")
    model(x, training=True)  # move BN statistics so copying them matters
    qat = quantize_model(model)
    assert type(qat) is _TinyNet
    assert qat.get_config() == {"name": "tiny_qat", "filters": 5, "quantize": True}
    assert type(qat.get_layer("conv")) is QuantConv2D and qat.get_layer("conv").filters == 5
    assert type(qat.get_layer("head")) is QuantDense
    np.testing.assert_array_equal(
        ops.convert_to_numpy(qat.get_layer("bn").moving_variance),
        ops.convert_to_numpy(model.get_layer("bn").moving_variance),
    )
    # At init the twin computes the float model's function up to int8 rounding: kernels at
    # their own range, activations in the initial [-6, 6] range (steps of 12 / 255).
    y_float = ops.convert_to_numpy(model(x))
    y_qat = ops.convert_to_numpy(qat(x))
    assert 0 < np.abs(y_qat - y_float).max() < 0.15 * np.abs(y_float).max()
    # The config rebuilds the quantized graph, so the .keras file round-trips.
    path = str(tmp_path / "tiny_qat.keras")
    qat.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded) is _TinyNet and loaded.get_config() == qat.get_config()
    assert type(loaded.get_layer("head")) is QuantDense
    np.testing.assert_array_equal(ops.convert_to_numpy(loaded(x)), y_qat)

    with pytest.raises(ValueError, match="already quantization-aware"):
        quantize_model(qat)
    with pytest.raises(ValueError, match="kernel_quantizer and input_quantizer"):
        quantize_model(model, kernel_quantizer=Ternary())


def test_functional_subclass_without_quantize_argument_becomes_functional():
    @keras.saving.register_keras_serializable("tfmodels_tests")
    class Plain(keras.Model):
        def __init__(self, **kwargs):
            inputs = keras.Input((4,))
            super().__init__(inputs, keras.layers.Dense(2, name="head")(inputs), **kwargs)

        def get_config(self):
            return {"name": self.name}

    model = Plain(name="plain")
    qat = quantize_model(model, input_quantizer=None)
    assert type(qat) is not Plain and type(qat.get_layer("head")) is QuantDense
    x = np.ones((1, 4), "float32")
    kernel = ops.convert_to_numpy(qat.get_layer("head").quantized_kernel())
    np.testing.assert_allclose(ops.convert_to_numpy(qat(x)), x @ kernel, rtol=1e-6, atol=1e-6)


def test_quantize_graph_keeps_names_and_structure():
    inputs = {"a": keras.Input((4,), name="a"), "b": keras.Input((4,), name="b")}
    x = keras.layers.Concatenate(name="cat")([inputs["a"], inputs["b"]])
    outputs = {"y": keras.layers.Dense(2, name="y")(x), "z": keras.layers.Dense(1, name="z")(x)}
    new_inputs, new_outputs = quantize_graph(inputs, outputs, input_quantizer=None)
    assert sorted(new_inputs) == ["a", "b"] and sorted(new_outputs) == ["y", "z"]
    twin = keras.Model(new_inputs, new_outputs)
    assert type(twin.get_layer("y")) is QuantDense and type(twin.get_layer("cat")) is (
        keras.layers.Concatenate
    )
    assert not twin.get_layer("y").kernel_quantizer.per_channel


def test_quantize_graph_float_inputs_leave_named_inputs_unquantized():
    inputs = keras.Input((4,), name="a")
    x = keras.layers.Concatenate(name="cat")([inputs, inputs])
    y = keras.layers.Dense(3, name="reads_cat")(x)
    z = keras.layers.Dense(2, name="other")(y)
    new_inputs, new_outputs = quantize_graph(inputs, z, float_inputs=["reads_cat"])
    twin = keras.Model(new_inputs, new_outputs)
    assert twin.get_layer("reads_cat").input_quantizer is None
    assert twin.get_layer("other").input_quantizer is not None
    assert twin.get_layer("reads_cat").kernel_quantizer is not None
    with pytest.raises(ValueError, match="not in the graph: \\['nope'\\]"):
        quantize_graph(inputs, z, float_inputs=["nope"])
    with pytest.raises(ValueError, match="float_inputs"):
        quantize_graph(inputs, z, float_inputs="reads_cat")
