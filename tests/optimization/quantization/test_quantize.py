import keras
import numpy as np
import pytest
from keras import ops

from tfmodels.optimization.quantization import (
    Default8BitQuantizeConfig,
    QuantizeAnnotate,
    QuantizeConfig,
    QuantizeWrapper,
    quantize_annotate_layer,
    quantize_annotate_model,
    quantize_apply,
    quantize_scope,
)
from tfmodels.optimization.quantization.quantizers import (
    LastValueQuantizer,
    MovingAverageQuantizer,
)
from tfmodels.quantization import QuantConv2D, QuantDense, Uniform, quantize_model


def _np(x):
    return ops.convert_to_numpy(x)


class ScaledDense(keras.layers.Layer):
    """A user's layer that tfmodels has no default config for."""

    def __init__(self, units, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units),
                                      initializer="glorot_uniform")
        self.scale = self.add_weight(name="scale", shape=(self.units,), initializer="ones")

    def call(self, inputs):
        return self.activation(ops.matmul(inputs, self.kernel) * self.scale)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "activation": keras.activations.serialize(self.activation)}


class ScaledDenseConfig(QuantizeConfig):
    """Written as for tfmot: 8-bit kernel, 8-bit activation."""

    def get_weights_and_quantizers(self, layer):
        return [(layer.kernel, LastValueQuantizer(num_bits=8, symmetric=True,
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


CUSTOM = {"ScaledDense": ScaledDense, "ScaledDenseConfig": ScaledDenseConfig}


def _conv_net():
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, padding="same", name="conv")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.Conv2DTranspose(2, 3, strides=2, padding="same", name="up")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(3, name="head")(x)
    return keras.Model(inputs, outputs, name="net")


@pytest.mark.multibackend
def test_annotate_then_apply_is_quantize_model():
    model = _conv_net()
    x = np.random.default_rng(0).normal(size=(4, 8, 8, 3)).astype("float32")
    model(x, training=True)  # move BN statistics so copying them matters
    annotated = quantize_annotate_model(model)
    assert {layer.name for layer in annotated.layers if isinstance(layer, QuantizeAnnotate)} == {
        "quantize_annotate_conv", "quantize_annotate_up", "quantize_annotate_head"}
    np.testing.assert_array_equal(_np(annotated(x)), _np(model(x)))  # annotation is float
    applied = quantize_apply(annotated)
    reference = quantize_model(model)
    assert [(type(a), a.name) for a in applied.layers] == [
        (type(r), r.name) for r in reference.layers]
    for a, r in zip(applied.layers, reference.layers):
        assert a.get_config() == {**r.get_config(), "name": a.name}
        for wa, wr in zip(a.weights, r.weights):
            np.testing.assert_array_equal(_np(wa), _np(wr))
    np.testing.assert_array_equal(_np(applied(x)), _np(reference(x)))
    assert type(applied.get_layer("conv")) is QuantConv2D


@pytest.mark.multibackend
def test_custom_and_default_configs_mix_and_subclassed_default_goes_through_the_wrapper():
    class FourBitKernels(Default8BitQuantizeConfig):
        def get_weights_and_quantizers(self, layer):
            return [(layer.kernel, Uniform(bits=4))]

    model = keras.Sequential([
        keras.Input((8,)),
        quantize_annotate_layer(ScaledDense(6, activation="relu", name="custom"),
                                ScaledDenseConfig()),
        quantize_annotate_layer(keras.layers.Dense(5, name="four_bit"), FourBitKernels()),
        keras.layers.Dense(2, name="head"),
    ])
    applied = quantize_apply(quantize_annotate_model(model))
    kinds = {layer.name: type(layer) for layer in applied.layers}
    assert kinds == {"quant_custom": QuantizeWrapper, "quant_four_bit": QuantizeWrapper,
                     "head": QuantDense}
    np.testing.assert_array_equal(_np(applied.get_layer("quant_custom").layer.kernel),
                                  _np(model.layers[0].layer.kernel))
    x = np.random.default_rng(1).normal(size=(4, 8)).astype("float32")
    applied(x, training=True)
    four_bit = applied.get_layer("quant_four_bit")
    # input quantizer from Default8BitQuantizeConfig, 4-bit kernel from the subclass
    assert float(_np(four_bit.weights[2])) == 1.0  # input_0_initialized
    kernel = _np(Uniform(bits=4)(four_bit.layer.kernel))
    assert len(np.unique(kernel)) <= 15


@pytest.mark.multibackend
def test_annotated_model_round_trips_and_applies_after_loading(tmp_path):
    model = keras.Sequential([
        keras.Input((8,)),
        quantize_annotate_layer(ScaledDense(4, activation="relu", name="custom"),
                                ScaledDenseConfig()),
        keras.layers.Dense(2, name="head"),
    ])
    annotated = quantize_annotate_model(model)
    x = np.random.default_rng(3).normal(size=(4, 8)).astype("float32")
    path = str(tmp_path / "annotated.keras")
    annotated.save(path)
    with quantize_scope(CUSTOM):
        loaded = keras.saving.load_model(path)
    assert isinstance(loaded.layers[0].quantize_config, ScaledDenseConfig)
    assert loaded.layers[1].quantize_config is None and type(loaded.layers[1].layer).__name__ == "Dense"
    np.testing.assert_array_equal(_np(loaded(x)), _np(annotated(x)))
    applied = quantize_apply(loaded)
    assert [type(layer) for layer in applied.layers] == [QuantizeWrapper, QuantDense]


def test_errors_name_what_is_wrong():
    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="no annotated layer"):
        quantize_apply(plain)
    custom = keras.Sequential([keras.Input((4,)), quantize_annotate_layer(ScaledDense(2, name="s"))])
    with pytest.raises(ValueError, match="'s' \\(ScaledDense\\) has no default QuantizeConfig"):
        quantize_apply(custom)
    with pytest.raises(ValueError, match="not built"):
        quantize_annotate_model(keras.Sequential([keras.layers.Dense(2)]))
    with pytest.raises(ValueError, match="Sequential or functional"):
        quantize_annotate_model(keras.layers.Dense(2))
    with pytest.raises(ValueError, match="QuantizeConfig or None"):
        quantize_annotate_layer(keras.layers.Dense(2), "default")
    with pytest.raises(ValueError, match="argument 0 must be a dict"):
        quantize_scope(ScaledDenseConfig)
    # An annotated layer keeps its config through quantize_annotate_model, unannotated
    # layers without a default stay float.
    model = keras.Sequential([keras.Input((4,)), ScaledDense(3, name="s"),
                              quantize_annotate_layer(ScaledDense(2, name="t"),
                                                      ScaledDenseConfig())])
    annotated = quantize_annotate_model(model)
    assert type(annotated.layers[0]) is ScaledDense
    assert isinstance(annotated.layers[1].quantize_config, ScaledDenseConfig)


def test_custom_layer_trains_round_trips_and_exports_int8(tmp_path):
    from tfmodels.export import export_tflite
    from tfmodels.export.runtime import LiteRTRunner

    rng = np.random.default_rng(2)
    x = rng.normal(size=(256, 8)).astype("float32")
    y = (x[:, :3] @ rng.normal(size=(3, 3))).argmax(-1)
    inputs = keras.Input((8,), name="features")
    h = quantize_annotate_layer(ScaledDense(16, activation="relu", name="custom"),
                                ScaledDenseConfig())(inputs)
    outputs = keras.layers.Dense(3, name="logits")(h)
    qat = quantize_apply(quantize_annotate_model(keras.Model(inputs, outputs)))
    qat.compile(keras.optimizers.Adam(0.01),
                keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                metrics=["accuracy"])
    history = qat.fit(x, y, epochs=8, batch_size=32, verbose=0)
    assert history.history["accuracy"][-1] > 0.8

    path = str(tmp_path / "qat.keras")
    qat.save(path)
    with quantize_scope(CUSTOM):
        loaded = keras.saving.load_model(path)
    assert type(loaded.get_layer("quant_custom").layer) is ScaledDense
    np.testing.assert_array_equal(_np(loaded(x)), _np(qat(x)))

    report = export_tflite(loaded, tmp_path / "qat.tflite", mode="int8",
                           representative_data=x[:64])
    assert report.weight_dtypes["int8"] == 2  # both kernels (the scale folds into one)
    assert set(report.weight_dtypes) == {"int8", "int32"}  # no float weights left
    runner = LiteRTRunner(report.path)
    tflite = runner.predict({"features": x[:64]})
    logits = next(iter(tflite.values()))
    keras_logits = _np(qat(x[:64]))
    assert np.mean(logits.argmax(-1) == keras_logits.argmax(-1)) >= 0.95
    scale = np.abs(keras_logits).max()
    assert np.abs(logits - keras_logits).max() < 0.1 * scale
