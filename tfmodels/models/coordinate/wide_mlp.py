"""Wide shallow nets on MNIST: one hidden layer of 6000 leaky ReLUs with an input-to-readout skip.

The 2013 "shallow MNIST" experiment (Java, online SGD, squared error on one-hot targets, rate
`0.3 / sqrt(fan_in + 1)`) reached 1.11-1.17% test error in about 30 passes, i.e. under 1.2%
with a single hidden layer. `MNIST_PRESETS["shallow_6000"]` is that net; `"deep_3x1024"` is the
deep comparison on the same training budget.

The skip: the readout units see the hidden layer *and* the raw pixels (a `Concatenate` of both
feeds one `Dense`), so a readout unit's fan-in is 6000 + 784, which is what the learning-rate
rule of `FanInSGD` uses.

Example:
    >>> model = wide_mlp(hidden=(32,), skip=True, seed=0)
    >>> [layer.name for layer in model.layers][-2:]
    ['skip', 'readout']
"""

import keras
import numpy as np

MNIST_PRESETS = {
    "shallow_6000": {"hidden": (6000,), "skip": True},
    "deep_3x1024": {"hidden": (1024, 1024, 1024), "skip": False},
}


def wide_mlp(hidden=(6000,), skip=True, negative_slope=0.01, input_shape=(28, 28),
             num_classes=10, seed=None, name=None):
    """An MLP classifier with leaky-ReLU hidden layers and an optional input-to-readout skip.

    Args:
        hidden: units of each hidden layer (`(6000,)`: the wide shallow net).
        skip: concatenate the flattened input to the last hidden layer before the readout.
        negative_slope: leaky ReLU slope (0.01 as in the original).
        input_shape: image shape (flattened first).
        num_classes: readout units; linear scores (use `OneHotSquaredError`, or a
            cross-entropy `from_logits=True`).
        seed: initializer seed.
        name: model name (default `wide_mlp_<hidden>` with `_skip`).

    Returns:
        A functional `keras.Model`: `(batch, *input_shape)` pixels in [0, 1] -> `(batch,
        num_classes)` scores. Layers: `flatten`, `dense_i` / `hidden_i`, `skip` (with `skip`),
        `readout`.
    """
    hidden = tuple(hidden)
    if not hidden or any(not isinstance(u, (int, np.integer)) or u < 1 for u in hidden):
        raise ValueError(f"hidden must be a non-empty sequence of positive ints, got {hidden!r}")
    if not isinstance(num_classes, (int, np.integer)) or num_classes < 2:
        raise ValueError(f"num_classes must be an int >= 2, got {num_classes!r}")
    inputs = keras.Input(tuple(input_shape), name="image")
    flat = keras.layers.Flatten(name="flatten")(inputs)
    x = flat
    for i, units in enumerate(hidden, start=1):
        x = keras.layers.Dense(
            int(units), kernel_initializer=keras.initializers.HeUniform(_seed(seed, i)),
            name=f"dense_{i}")(x)
        x = keras.layers.LeakyReLU(negative_slope=negative_slope, name=f"hidden_{i}")(x)
    if skip:
        x = keras.layers.Concatenate(name="skip")([x, flat])
    outputs = keras.layers.Dense(
        num_classes, kernel_initializer=keras.initializers.GlorotUniform(_seed(seed, 0)),
        name="readout")(x)
    if name is None:
        name = "wide_mlp_" + "x".join(str(u) for u in hidden) + ("_skip" if skip else "")
    return keras.Model(inputs, outputs, name=name)


def _seed(seed, index):
    return None if seed is None else seed * 1000 + index


@keras.saving.register_keras_serializable("tfmodels")
class OneHotSquaredError(keras.losses.Loss):
    """Squared error between the scores and one-hot targets: `0.5 * sum_k (s_k - [y == k])^2`.

    The original trained the MNIST net on this (not cross-entropy); the gradient per score is
    `s_k - [y == k]`, the plain delta rule. Labels are integer class ids.

    Args:
        num_classes: width of the one-hot target.
        reduction, name: as for `keras.losses.Loss`.
    """

    def __init__(self, num_classes=10, reduction="sum_over_batch_size",
                 name="one_hot_squared_error", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f"num_classes must be an int >= 2, got {num_classes!r}")
        self.num_classes = num_classes

    def call(self, y_true, y_pred):
        labels = keras.ops.reshape(keras.ops.cast(y_true, "int32"), (-1,))
        target = keras.ops.one_hot(labels, self.num_classes, dtype=y_pred.dtype)
        return 0.5 * keras.ops.sum(keras.ops.square(y_pred - target), axis=-1)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


def first_layer_weights(model, count=100):
    """The first `count` hidden units' input weights as images `(count, *input_shape)`."""
    kernel = keras.ops.convert_to_numpy(model.get_layer("dense_1").kernel)
    shape = tuple(model.input_shape[1:])
    count = min(count, kernel.shape[1])
    return kernel[:, :count].T.reshape(count, *shape)
