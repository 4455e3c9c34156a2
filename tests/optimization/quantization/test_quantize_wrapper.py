import keras
import numpy as np
import pytest
from keras import ops

from tfmodels.optimization.quantization import (
    Default8BitQuantizeConfig,
    QuantizeConfig,
    QuantizeWrapper,
    quantize_scope,
)
from tfmodels.optimization.quantization.quantizers import (
    LastValueQuantizer,
    MovingAverageQuantizer,
    Quantizer,
)
from tfmodels.quantization import Uniform
from tfmodels.quantization.qat import copy_float_weights, quantized_twin

pytestmark = pytest.mark.multibackend


def _np(x):
    return ops.convert_to_numpy(x)


class FourBitDenseConfig(QuantizeConfig):
    """tfmot's guide example with 4-bit weights, written exactly as for tfmot."""

    def get_weights_and_quantizers(self, layer):
        return [(layer.kernel, LastValueQuantizer(num_bits=4, symmetric=True,
                                                  narrow_range=True, per_axis=False))]

    def get_activations_and_quantizers(self, layer):
        return [(layer.activation, MovingAverageQuantizer(num_bits=8, symmetric=False,
                                                          narrow_range=False, per_axis=False))]

    def set_quantize_weights(self, layer, quantize_weights):
        layer.kernel = quantize_weights[0]

    def set_quantize_activations(self, layer, quantize_activations):
        layer.activation = quantize_activations[0]

    def get_output_quantizers(self, layer):
        return []

    def get_config(self):
        return {}


class FixedRangeQuantizer(Quantizer):
    """tfmot's guide custom quantizer, add_weight called the tf_keras way (name first)."""

    def build(self, tensor_shape, name, layer):
        range_var = layer.add_weight(name + "_range",
                                     initializer=keras.initializers.Constant(6.0),
                                     trainable=False)
        return {"range_var": range_var}

    def __call__(self, inputs, training, weights, **kwargs):
        # tf.keras.backend.clip -> keras.ops.clip; `.value`: JAX takes no Keras variable here.
        return ops.clip(inputs, 0.0, weights["range_var"].value)

    def get_config(self):
        return {}


class OutputRangeConfig(FourBitDenseConfig):
    def get_activations_and_quantizers(self, layer):
        return []

    def set_quantize_activations(self, layer, quantize_activations):
        pass

    def get_output_quantizers(self, layer):
        return [FixedRangeQuantizer()]


X = np.random.default_rng(0).normal(size=(16, 8)).astype("float32")


def test_default_config_computes_what_quantize_model_layer_computes():
    dense = keras.layers.Dense(3, activation="relu")
    dense.build((None, 8))
    wrapper = QuantizeWrapper(keras.layers.Dense.from_config(dense.get_config()),
                              Default8BitQuantizeConfig())
    wrapper.build((None, 8))
    wrapper.layer.set_weights(dense.get_weights())
    twin = quantized_twin(dense)
    twin.build((None, 8))
    copy_float_weights(dense, twin)
    for training in (True, True, False):
        np.testing.assert_array_equal(_np(wrapper(X * 2, training=training)),
                                      _np(twin(X * 2, training=training)))
    ranges = sorted(float(_np(w)) for w in wrapper.weights if "range" in w.path)
    assert ranges == sorted(float(_np(w)) for w in twin.weights if "range" in w.path)
    assert ranges != [-6.0, 6.0]


def test_custom_config_quantizes_kernel_and_activation_for_the_call_only():
    wrapper = QuantizeWrapper(keras.layers.Dense(3, activation="relu"), FourBitDenseConfig())
    y = _np(wrapper(X, training=True))
    dense = wrapper.layer
    kernel4 = _np(Uniform(bits=4)(dense.kernel))
    assert len(np.unique(kernel4)) <= 15
    expected = np.maximum(X @ kernel4 + _np(dense.bias), 0.0)
    lo, hi = expected.min(), expected.max()  # the first batch sets the activation range
    assert float(_np(wrapper.weights[1])) == pytest.approx(hi, rel=1e-6)
    np.testing.assert_allclose(y, expected, atol=(hi - lo) / 255 / 2 + 1e-5)
    assert np.abs(y - expected).max() > 0  # the activation is fake-quantized
    # The wrapped layer keeps its variable and its float activation.
    assert isinstance(dense.kernel, keras.Variable)
    assert dense.activation is keras.activations.relu
    assert dense.get_config()["activation"] == "relu"


def test_custom_quantizer_written_for_tfmot_builds_its_variable_and_clips_outputs():
    wrapper = QuantizeWrapper(keras.layers.Dense(4, kernel_initializer="ones"),
                              OutputRangeConfig())
    y = _np(wrapper(X * 10, training=False))
    assert [w.path for w in wrapper.weights if "range" in w.path] == [
        "quant_dense/output_0_range"]
    assert y.min() == 0.0 and y.max() == 6.0


def test_wrapper_trains_and_round_trips(tmp_path):
    inputs = keras.Input((8,))
    hidden = QuantizeWrapper(keras.layers.Dense(6, activation="relu"), FourBitDenseConfig())
    outputs = keras.layers.Dense(2)(hidden(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.SGD(0.1), "mse")
    before = _np(hidden.layer.kernel).copy()
    model.fit(X, X[:, :2], epochs=2, batch_size=8, verbose=0)
    assert not np.allclose(_np(hidden.layer.kernel), before)  # gradient through the STE
    assert float(_np(hidden.weights[2])) == 1.0  # the activation range was initialized
    path = str(tmp_path / "wrapped.keras")
    model.save(path)
    with quantize_scope({"FourBitDenseConfig": FourBitDenseConfig}):
        loaded = keras.saving.load_model(path)
    assert isinstance(loaded.layers[1].quantize_config, FourBitDenseConfig)
    np.testing.assert_array_equal(_np(loaded(X)), _np(model(X)))


def test_mixed_precision_computes_in_float16_with_float32_state():
    wrapper = QuantizeWrapper(keras.layers.Dense(3, activation="relu", dtype="mixed_float16"),
                              FourBitDenseConfig(), dtype="mixed_float16")
    y = wrapper(X, training=True)
    assert keras.backend.standardize_dtype(y.dtype) == "float16"
    assert np.all(np.isfinite(_np(y)))
    assert {w.dtype for w in wrapper.weights} == {"float32"}


def test_bad_configs_are_rejected():
    with pytest.raises(ValueError, match="quantize_config of 'd'"):
        QuantizeWrapper(keras.layers.Dense(2, name="d"), {"kernel": "int8"})

    class Computed(FourBitDenseConfig):
        def set_quantize_weights(self, layer, quantize_weights):
            layer.input_dtype = quantize_weights[0]  # a computed property

    wrapper = QuantizeWrapper(keras.layers.Dense(2), Computed())
    with pytest.raises(ValueError, match="computed"):
        wrapper(X)
