"""One small binary MLP, trained once and shared by the QNN model tests (fits are the slow part,
on JAX above all)."""

import keras
import numpy as np
import pytest

from tfmodels.models.qnn import qnn_mlp

# 8x8 inputs; 40 and 33 hidden units: packing with a partial last word (33) and more than one
# word per row (40).
INPUT_SHAPE = (8, 8)


def fit(model, x, y, epochs=1, batch_size=8):
    model.compile(keras.optimizers.Adam(0.05), keras.losses.SquaredHinge())
    model.fit(x, keras.utils.to_categorical(y, 10), epochs=epochs, batch_size=batch_size,
              verbose=0)


def pixels(rng, count):
    """Images as MNIST's loader gives them: k / 255 for integer k."""
    return (rng.integers(0, 256, (count, *INPUT_SHAPE)) / 255.0).astype("float32")


@pytest.fixture(scope="session")
def trained_binary_mlp():
    """`(model, x, {weight path: initial value})`: a binary `qnn_mlp` fitted 2 epochs (10
    steps), with the data it saw."""
    keras.utils.set_random_seed(0)  # the fit's shuffling: the same model every run
    rng = np.random.default_rng(0)
    x, y = pixels(rng, 40), rng.integers(0, 10, 40)
    model = qnn_mlp(hidden_units=(40, 33), input_shape=INPUT_SHAPE, seed=1)
    initial = {w.path: keras.ops.convert_to_numpy(w) for w in model.trainable_weights}
    fit(model, x, y, epochs=2)
    return model, x, initial
