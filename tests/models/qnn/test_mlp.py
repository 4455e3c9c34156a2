import keras
import numpy as np
import pytest

from tfmodels.layers import ShiftBatchNormalization
from tfmodels.models.qnn import qnn_convnet, qnn_mlp
from tfmodels.quantization import ActivationQuantizer, Binary, Clip, LinearQuant, QuantDense

pytestmark = pytest.mark.multibackend


def _fit(model, x, y, epochs=1):
    model.compile(keras.optimizers.Adam(0.05), keras.losses.SquaredHinge())
    model.fit(x, keras.utils.to_categorical(y, 10), epochs=epochs, batch_size=8, verbose=0)


def test_block_order_and_last_layer():
    model = qnn_mlp("tiny", seed=0)
    kinds = [type(l).__name__ for l in model.layers]
    assert kinds == ["InputLayer", "Flatten",
                     "QuantDense", "BatchNormalization", "ActivationQuantizer",
                     "QuantDense", "BatchNormalization", "ActivationQuantizer",
                     "QuantDense", "BatchNormalization"]
    dense = [l for l in model.layers if isinstance(l, QuantDense)]
    assert [l.units for l in dense] == [32, 32, 10]
    assert all(isinstance(l.kernel_quantizer, Binary) and isinstance(l.kernel_constraint, Clip)
               for l in dense)
    # The first layer sees the real-valued input: no input quantizer anywhere.
    assert all(l.input_quantizer is None for l in dense)


def test_binary_weights_and_activations_are_pm1_and_latent_weights_stay_in_range():
    rng = np.random.default_rng(0)
    x, y = rng.random((32, 28, 28)).astype("float32"), rng.integers(0, 10, 32)
    model = qnn_mlp("tiny", seed=0)
    _fit(model, x, y, epochs=2)
    for layer in model.layers:
        if isinstance(layer, QuantDense):
            kernel = keras.ops.convert_to_numpy(layer.kernel)
            assert np.abs(kernel).max() <= 1.0
            assert set(np.unique(keras.ops.convert_to_numpy(layer.quantized_kernel()))) <= {
                -1.0, 1.0}
    act = keras.Model(model.input, model.get_layer("act1").output)(x)
    assert set(np.unique(keras.ops.convert_to_numpy(act))) == {-1.0, 1.0}


def test_stochastic_activations_sample_in_training_only():
    model = qnn_mlp("tiny", stochastic=True, seed=0)
    x = np.random.default_rng(1).random((16, 28, 28)).astype("float32")
    probe = keras.Model(model.input, model.get_layer("act0").output)
    a, b = (keras.ops.convert_to_numpy(probe(x, training=True)) for _ in range(2))
    assert not np.array_equal(a, b)
    c, d = (keras.ops.convert_to_numpy(probe(x, training=False)) for _ in range(2))
    np.testing.assert_array_equal(c, d)


def test_qnn_variants_shift_bn_and_float():
    model = qnn_mlp(hidden_units=(8,), activations="linear2", shift_batch_norm=True)
    assert isinstance(model.get_layer("bn0"), ShiftBatchNormalization)
    assert isinstance(model.get_layer("act0").quantizer, LinearQuant)
    x = np.random.default_rng(2).random((8, 28, 28)).astype("float32")
    levels = np.unique(keras.ops.convert_to_numpy(
        keras.Model(model.input, model.get_layer("act0").output)(x)))
    assert np.abs(levels[:, None] - np.array([-1, -1 / 3, 1 / 3, 1])).min(1).max() < 1e-6
    float_model = qnn_mlp("tiny", weights="float", activations="float")
    assert all(l.kernel_quantizer is None and l.kernel_constraint is None
               for l in float_model.layers if isinstance(l, QuantDense))
    assert not any(isinstance(l, ActivationQuantizer) for l in float_model.layers)


def test_keras_round_trip(tmp_path):
    model = qnn_mlp(hidden_units=(16,), activations="binary", stochastic=True,
                    shift_batch_norm=True, dropout=0.2, seed=3)
    x = np.random.default_rng(3).random((6, 28, 28)).astype("float32")
    _fit(model, x, np.arange(6))
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(model(x)),
                                  keras.ops.convert_to_numpy(loaded(x)))


def test_convnet_shapes_pooling_and_training():
    model = qnn_convnet("tiny", input_shape=(28, 28), seed=0)
    assert [l.name for l in model.layers if "pool" in l.name] == ["pool1", "pool3", "pool5"]
    # conv1 -> pool1 -> bn1: pooling sits before the BatchNorm.
    names = [l.name for l in model.layers]
    assert names.index("pool1") == names.index("conv1") + 1 == names.index("bn1") - 1
    assert tuple(model.get_layer("flatten").output.shape) == (None, 3 * 3 * 8)
    rng = np.random.default_rng(4)
    x, y = rng.random((8, 28, 28)).astype("float32"), rng.integers(0, 10, 8)
    before = keras.ops.convert_to_numpy(model.get_layer("conv0").kernel)
    _fit(model, x, y)
    after = keras.ops.convert_to_numpy(model.get_layer("conv0").kernel)
    assert not np.allclose(before, after) and np.abs(after).max() <= 1.0


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="preset"):
        qnn_mlp("huge")
    with pytest.raises(ValueError, match="weights"):
        qnn_mlp("tiny", weights="ternary")
    with pytest.raises(ValueError, match="activations"):
        qnn_mlp("tiny", activations="relu")
    with pytest.raises(ValueError, match="hidden_units"):
        qnn_mlp(hidden_units=(0,))
    with pytest.raises(ValueError, match="preset"):
        qnn_convnet("huge")
