"""Shared test helpers: the standard Keras layer check, used by every layer's tests."""

import os

import keras
import numpy as np


def backend():
    return keras.backend.backend()


def check_layer(layer_factory, input_shape, tmp_path, training_step=True, atol=1e-6):
    """The standard checks for a tfmodels layer.

    1. `get_config` -> `from_config` round trip gives the same config.
    2. Symbolic output shape (functional model) equals the eager output shape.
    3. One `model.fit` step runs and changes the trainable weights (if any).
    4. A `.keras` save/load round trip gives identical inference outputs.

    Args:
        layer_factory: zero-argument callable returning a fresh layer.
        input_shape: input shape including batch.
        tmp_path: a pytest tmp_path for the `.keras` file.
        training_step: run check 3.
        atol: tolerance of check 4.

    Returns:
        The trained model (for further assertions).
    """
    layer = layer_factory()
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config

    rng = np.random.default_rng(0)
    x = rng.normal(size=input_shape).astype("float32")
    inputs = keras.Input(input_shape[1:], batch_size=None)
    outputs = layer(inputs)
    model = keras.Model(inputs, outputs)
    eager = model(x)
    assert tuple(outputs.shape[1:]) == tuple(eager.shape[1:])

    if training_step and model.trainable_weights:
        before = [np.array(w) for w in model.trainable_weights]
        y = rng.normal(size=tuple(eager.shape)).astype("float32")
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        model.fit(x, y, epochs=1, batch_size=input_shape[0], verbose=0)
        after = [np.array(w) for w in model.trainable_weights]
        assert any(not np.allclose(a, b) for a, b in zip(before, after)), "no weight changed"

    path = os.path.join(str(tmp_path), "layer.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model(x, training=False)),
        keras.ops.convert_to_numpy(loaded(x, training=False)),
        atol=atol,
    )
    assert type(loaded.layers[-1]) is type(layer)
    return model
