"""Wide MNIST MLP: the input-to-readout skip, the one-hot squared error, FanInSGD's rule."""

import os

import keras
import numpy as np
import pytest

from tests import testing_utils

from tfmodels.models.coordinate import (
    MNIST_PRESETS,
    FanInSGD,
    OneHotSquaredError,
    first_layer_weights,
    wide_mlp,
)


@pytest.mark.multibackend
def test_presets():
    assert MNIST_PRESETS["deep_3x1024"] == {"hidden": (1024, 1024, 1024), "skip": False}
    # Built on 2 x 2 "images" to stay fast; the readout sees 6000 hidden units + the pixels.
    shallow = wide_mlp(**MNIST_PRESETS["shallow_6000"], input_shape=(2, 2))
    assert shallow.get_layer("dense_1").units == 6000
    assert shallow.get_layer("readout").kernel.shape == (6000 + 4, 10)
    assert [type(layer).__name__ for layer in shallow.layers][-3:] == [
        "LeakyReLU", "Concatenate", "Dense"]


@pytest.mark.multibackend
@pytest.mark.parametrize("skip", [True, False])
def test_readout_sees_the_pixels_only_through_the_skip(skip):
    model = wide_mlp(hidden=(6,), skip=skip, input_shape=(3, 3), seed=0)
    dense = model.get_layer("dense_1")
    dense.set_weights([np.zeros_like(w) for w in dense.get_weights()])  # hidden output is 0
    x = np.random.default_rng(0).random((4, 3, 3)).astype("float32")
    out = keras.ops.convert_to_numpy(model(x))
    if skip:
        kernel, bias = model.get_layer("readout").get_weights()
        np.testing.assert_allclose(out, x.reshape(4, 9) @ kernel[6:] + bias, atol=1e-5)
        assert np.ptp(out, axis=0).max() > 1e-3
    else:
        np.testing.assert_allclose(out, np.broadcast_to(out[:1], out.shape), atol=1e-6)


@pytest.mark.multibackend
def test_one_hot_squared_error_value():
    loss = OneHotSquaredError(num_classes=3)
    scores = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 2.0]], "float32")
    labels = np.array([0, 1])
    # 0.5 * (0) and 0.5 * (0.25 + 0.25 + 4) -> mean 1.125
    assert float(loss(labels, scores)) == pytest.approx(1.125)
    with pytest.raises(ValueError, match="num_classes"):
        OneHotSquaredError(num_classes=1)


@pytest.mark.multibackend
def test_fan_in_sgd_scales_each_layer_by_its_fan_in():
    model = wide_mlp(hidden=(5,), skip=True, input_shape=(2, 2), num_classes=3, seed=0)
    optimizer = FanInSGD(0.3)
    optimizer.build(model.trainable_variables)
    assert optimizer.fan_ins == {"dense_1/kernel": 4, "dense_1/bias": 4,
                                 "readout/kernel": 9, "readout/bias": 9}
    before = [np.array(v) for v in model.trainable_variables]
    grads = [np.ones(v.shape, "float32") for v in model.trainable_variables]
    optimizer.apply_gradients(zip(grads, model.trainable_variables))
    for variable, old in zip(model.trainable_variables, before):
        fan_in = optimizer.fan_ins[variable.path]
        np.testing.assert_allclose(old - np.array(variable), 0.3 / np.sqrt(fan_in + 1), rtol=1e-5)


@pytest.mark.multibackend
def test_keras_round_trip_with_loss_and_optimizer(tmp_path):
    model = wide_mlp(hidden=(8,), input_shape=(4, 4), seed=0)
    model.compile(optimizer=FanInSGD(0.3, momentum=0.9), loss=OneHotSquaredError())
    x = np.random.default_rng(0).random((16, 4, 4)).astype("float32")
    model.fit(x, np.arange(16) % 10, batch_size=8, verbose=0)
    path = os.path.join(tmp_path, "wide.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.optimizer, FanInSGD) and isinstance(loaded.loss, OneHotSquaredError)
    assert loaded.optimizer.momentum == 0.9
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(x)),
                               keras.ops.convert_to_numpy(model(x)), atol=1e-5)
    assert first_layer_weights(loaded, count=3).shape == (3, 4, 4)


# TensorFlow only: these models hold Keras layers only, which Keras tests on JAX itself.
# Keras's layer harness check 2 (mixed precision, #9) for the functional model (config and
# .keras round trip: test_keras_round_trip_with_loss_and_optimizer).
@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_trains_under_a_global_mixed_policy(policy):
    images = np.random.default_rng(0).uniform(size=(4, 4, 4)).astype("float32")
    testing_utils.check_mixed_precision(
        lambda: testing_utils.under_global_policy(
            policy, lambda: wide_mlp(hidden=(5,), input_shape=(4, 4), seed=0)),
        images, policy)
