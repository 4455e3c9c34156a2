import keras
import numpy as np
import pytest

from tests.models.qnn.conftest import INPUT_SHAPE, fit
from tfmodels.layers import ShiftBatchNormalization
from tfmodels.models.qnn import qnn_convnet, qnn_mlp
from tfmodels.quantization import ActivationQuantizer, Binary, Clip, LinearQuant, QuantDense

def _np(x):
    return keras.ops.convert_to_numpy(x)


# Structure and argument checks are the same on every backend: TensorFlow only.
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


@pytest.mark.multibackend
def test_binary_weights_and_activations_are_pm1_and_latent_weights_stay_in_range(
        trained_binary_mlp):
    model, x, initial = trained_binary_mlp
    dense = [l for l in model.layers if isinstance(l, QuantDense)]
    moved = False
    for layer in dense:
        kernel = _np(layer.kernel)
        assert np.abs(kernel).max() <= 1.0
        moved |= not np.allclose(kernel, initial[layer.kernel.path])
        assert set(np.unique(_np(layer.quantized_kernel()))) <= {-1.0, 1.0}
    assert moved
    act = keras.Model(model.input, model.get_layer("act1").output)(x)
    assert set(np.unique(_np(act))) == {-1.0, 1.0}


@pytest.mark.multibackend
def test_stochastic_activations_sample_in_training_only():
    model = qnn_mlp(hidden_units=(16,), input_shape=INPUT_SHAPE, stochastic=True, seed=0)
    x = np.random.default_rng(1).random((16, *INPUT_SHAPE)).astype("float32")
    probe = keras.Model(model.input, model.get_layer("act0").output)
    a, b = (_np(probe(x, training=True)) for _ in range(2))
    assert not np.array_equal(a, b)
    assert set(np.unique(a)) == {-1.0, 1.0}
    c, d = (_np(probe(x, training=False)) for _ in range(2))
    np.testing.assert_array_equal(c, d)


@pytest.mark.multibackend
def test_qnn_variants_shift_bn_and_float():
    model = qnn_mlp(hidden_units=(8,), input_shape=INPUT_SHAPE, activations="linear2",
                    shift_batch_norm=True)
    assert isinstance(model.get_layer("bn0"), ShiftBatchNormalization)
    assert isinstance(model.get_layer("act0").quantizer, LinearQuant)
    x = np.random.default_rng(2).random((8, *INPUT_SHAPE)).astype("float32")
    levels = np.unique(_np(keras.Model(model.input, model.get_layer("act0").output)(x)))
    assert np.abs(levels[:, None] - np.array([-1, -1 / 3, 1 / 3, 1])).min(1).max() < 1e-6
    float_model = qnn_mlp(hidden_units=(8,), input_shape=INPUT_SHAPE, weights="float",
                          activations="float")
    assert all(l.kernel_quantizer is None and l.kernel_constraint is None
               for l in float_model.layers if isinstance(l, QuantDense))
    assert not any(isinstance(l, ActivationQuantizer) for l in float_model.layers)


@pytest.mark.multibackend
def test_keras_round_trip(tmp_path):
    model = qnn_mlp(hidden_units=(16,), input_shape=INPUT_SHAPE, activations="binary",
                    stochastic=True, shift_batch_norm=True, dropout=0.2, seed=3)
    # Random values in every weight (moving statistics included) instead of a fit: the round
    # trip must restore them all, and the output depends on each.
    rng = np.random.default_rng(3)
    model.set_weights([rng.uniform(0.5, 2.0, w.shape) if "variance" in w.path
                       else rng.uniform(-1.0, 1.0, w.shape) for w in model.weights])
    x = np.random.default_rng(3).random((6, *INPUT_SHAPE)).astype("float32")
    path = str(tmp_path / "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(_np(a), _np(b))
    np.testing.assert_array_equal(_np(model(x)), _np(loaded(x)))
    assert isinstance(loaded.get_layer("bn0"), ShiftBatchNormalization)
    assert loaded.get_layer("act0").quantizer.stochastic


def test_convnet_shapes_and_pooling():
    model = qnn_convnet("tiny", input_shape=(8, 8), seed=0)
    assert [l.name for l in model.layers if "pool" in l.name] == ["pool1", "pool3", "pool5"]
    # conv1 -> pool1 -> bn1: pooling sits before the BatchNorm.
    names = [l.name for l in model.layers]
    assert names.index("pool1") == names.index("conv1") + 1 == names.index("bn1") - 1
    assert tuple(model.get_layer("flatten").output.shape) == (None, 1 * 1 * 8)
    assert tuple(model.output.shape) == (None, 10)


def test_convnet_trains_with_clipped_binary_kernels():
    # TensorFlow only (not multibackend): compiling a conv net's training step dominates a
    # JAX run, and the layers it is built from are trained on both backends in
    # tests/quantization.
    model = qnn_convnet("tiny", input_shape=(8, 8), seed=0)
    rng = np.random.default_rng(4)
    x, y = rng.random((8, 8, 8)).astype("float32"), rng.integers(0, 10, 8)
    before = _np(model.get_layer("conv0").kernel)
    fit(model, x, y)
    after = _np(model.get_layer("conv0").kernel)
    assert not np.allclose(before, after) and np.abs(after).max() <= 1.0
    assert set(np.unique(_np(model.get_layer("conv0").quantized_kernel()))) <= {-1.0, 1.0}


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="preset"):
        qnn_mlp("huge")
    with pytest.raises(ValueError, match="weights"):
        qnn_mlp("tiny", weights="ternary")
    with pytest.raises(ValueError, match="activations"):
        qnn_mlp("tiny", activations="relu")
    with pytest.raises(ValueError, match="hidden_units"):
        qnn_mlp(hidden_units=(0,))
    with pytest.raises(ValueError, match="dropout"):
        qnn_mlp("tiny", dropout=1.0)
    with pytest.raises(ValueError, match="preset"):
        qnn_convnet("huge")


@pytest.mark.multibackend
@pytest.mark.parametrize("shift_batch_norm", [False, True])
def test_fits_under_a_global_mixed_precision_policy(shift_batch_norm):
    # Every layer of the model (binary kernels, batch norm or its shift variant, binary
    # activations) follows the global policy: float16 compute, float32 weights and ranges.
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = qnn_mlp(hidden_units=(8,), input_shape=INPUT_SHAPE,
                        shift_batch_norm=shift_batch_norm, seed=0)
        assert all(keras.backend.standardize_dtype(w.dtype) == "float32" for w in model.weights
                   if "float" in keras.backend.standardize_dtype(w.dtype))
        x = np.random.default_rng(0).random((16, *INPUT_SHAPE)).astype("float32")
        y = np.arange(16) % 10
        model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(
            from_logits=True))
        before = [_np(w) for w in model.trainable_weights]
        history = model.fit(x, y, batch_size=8, epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][-1])
        assert any(not np.array_equal(a, _np(b)) for a, b in zip(before, model.trainable_weights))
        assert keras.backend.standardize_dtype(model(x[:2]).dtype) == "float16"
    finally:
        keras.mixed_precision.set_global_policy("float32")
