"""Coordinate networks: an MLP from a pixel's position `(x, y)` to its colour `(r, g, b)`.

The 2012-2013 "Mona Lisa pixel by pixel" experiment regresses an image's colours from pixel
coordinates to show that depth matters: one hidden layer gives a blurry picture, several a
sharp one. The original (Java) net had 6 hidden layers of 300 leaky ReLUs (slope 0.01), a linear
readout and squared error; it is the `"original"` preset.

Coordinates are pixel centres mapped to [-1, 1] on both axes (`coordinate_grid`), so a net
trained at one resolution renders at any other (`render`): super-resolution is free.

Example:
    >>> model = coordinate_mlp(depth=2, width=16, seed=0)
    >>> render(model, 8, 12).shape
    (8, 12, 3)
"""

import keras
import numpy as np

PRESETS = {
    # The original post's net: 6 x 300 leaky ReLUs (slope 0.01), linear RGB readout.
    "original": {"depth": 6, "width": 300, "activation": "leaky_relu", "negative_slope": 0.01},
    # The single-hidden-layer net the post contrasts it with (about as many weights).
    "shallow": {"depth": 1, "width": 20000, "activation": "leaky_relu", "negative_slope": 0.01},
}
ACTIVATIONS = ("leaky_relu", "relu", "tanh", "sigmoid", "elu", "gelu")


def coordinate_grid(height, width):
    """Pixel-centre coordinates of a `height x width` image, row-major, in [-1, 1].

    Args:
        height, width: image size in pixels.

    Returns:
        float32 `(height * width, 2)`: column `0` is x (left to right), `1` is y (top to bottom).
    """
    for name, value in (("height", height), ("width", width)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    xs = (2 * np.arange(width, dtype=np.float32) + 1) / width - 1
    ys = (2 * np.arange(height, dtype=np.float32) + 1) / height - 1
    grid_x, grid_y = np.meshgrid(xs, ys)
    return np.stack([grid_x.ravel(), grid_y.ravel()], axis=-1)


def coordinate_mlp(depth=6, width=300, activation="leaky_relu", negative_slope=0.01,
                   channels=3, seed=None, name=None):
    """A coordinate MLP `(batch, 2) -> (batch, channels)`.

    Hidden layer `i` (1-based) is a `Dense` named `dense_i` followed by its activation layer
    `hidden_i`, whose output is the neuron image (`neuron_images`). The readout `rgb` is linear,
    as in the original (squared error on colours in [0, 1]).

    Args:
        depth: number of hidden layers (>= 1).
        width: units per hidden layer (an int, or a list of `depth` ints).
        activation: one of `ACTIVATIONS`; `"leaky_relu"` uses `negative_slope`.
        negative_slope: slope of the leaky ReLU for negative inputs (the original: 0.01).
        channels: output channels (3 for RGB, 1 for grey).
        seed: initializer seed.
        name: model name (default `coordinate_mlp_<depth>x<width>`).

    Returns:
        A functional `keras.Model` with input `coords` and output `rgb`.

    Example:
        >>> model = coordinate_mlp(**PRESETS["original"])
        >>> model.count_params()
        453303
    """
    if not isinstance(depth, (int, np.integer)) or depth < 1:
        raise ValueError(f"depth must be an int >= 1, got {depth!r}")
    widths = list(width) if isinstance(width, (list, tuple)) else [width] * depth
    if len(widths) != depth or any(not isinstance(w, (int, np.integer)) or w < 1 for w in widths):
        raise ValueError(f"width must be a positive int or {depth} positive ints, got {width!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    if not isinstance(channels, (int, np.integer)) or channels < 1:
        raise ValueError(f"channels must be a positive int, got {channels!r}")
    inputs = keras.Input((2,), name="coords")
    x = inputs
    for i, units in enumerate(widths, start=1):
        x = keras.layers.Dense(
            int(units), kernel_initializer=keras.initializers.HeUniform(_layer_seed(seed, i)),
            name=f"dense_{i}")(x)
        x = _activation_layer(activation, negative_slope, f"hidden_{i}")(x)
    outputs = keras.layers.Dense(
        channels, kernel_initializer=keras.initializers.GlorotUniform(_layer_seed(seed, 0)),
        name="rgb")(x)
    if name is None:
        name = f"coordinate_mlp_{depth}x{widths[0]}"
    return keras.Model(inputs, outputs, name=name)


def _layer_seed(seed, index):
    return None if seed is None else seed * 1000 + index


def _activation_layer(activation, negative_slope, name):
    if activation == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope=negative_slope, name=name)
    return keras.layers.Activation(activation, name=name)


def hidden_layer_names(model):
    """Names of the activation layers `hidden_1, hidden_2, ...` of a `coordinate_mlp`."""
    names = [layer.name for layer in model.layers if layer.name.startswith("hidden_")]
    if not names:
        raise ValueError(f"model {model.name!r} has no hidden_<i> layers; build it with "
                         "coordinate_mlp")
    return names


def parameter_count(depth, width, channels=3):
    """Weights and biases of `coordinate_mlp(depth, width)` without building it."""
    return (2 + 1) * width + (depth - 1) * (width + 1) * width + (width + 1) * channels


def width_for_parameters(depth, parameters, channels=3):
    """The hidden width whose `coordinate_mlp(depth, width)` has closest to `parameters` weights
    (for comparing depths at an equal parameter count)."""
    if not isinstance(depth, (int, np.integer)) or depth < 1:
        raise ValueError(f"depth must be an int >= 1, got {depth!r}")
    if parameters < parameter_count(depth, 1, channels):
        raise ValueError(f"parameters={parameters!r} is fewer than a width-1 net has")
    width = 1
    while parameter_count(depth, width + 1, channels) <= parameters:
        width += 1
    over = parameter_count(depth, width + 1, channels) - parameters
    return width + 1 if over < parameters - parameter_count(depth, width, channels) else width


def render(model, height, width, batch_size=16384):
    """Evaluates a coordinate model over a `height x width` grid: the picture it has learned.

    Any resolution works (the coordinates are normalized), so rendering larger than the
    training image is super-resolution. The grid is fed in batches of `batch_size` pixels.

    Args:
        model: a Keras model `(batch, 2) -> (batch, channels)`.
        height, width: output size in pixels.
        batch_size: pixels per forward pass.

    Returns:
        float32 `(height, width, channels)`, clipped to [0, 1].
    """
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    coords = coordinate_grid(height, width)
    parts = [keras.ops.convert_to_numpy(model(coords[i : i + batch_size], training=False))
             for i in range(0, len(coords), batch_size)]
    colours = np.concatenate(parts).astype(np.float32)
    return np.clip(colours.reshape(height, width, -1), 0.0, 1.0)


def render_model(model, height, width):
    """A model `(1, height * width, 2) -> (1, height * width, channels)` sharing `model`'s
    layers: the whole picture in one call, as a device renders it from one `.tflite` invoke.

    Args:
        model: a `coordinate_mlp` (a chain of layers from `coords` to the colours).
        height, width: the picture the exported file renders (its coordinates are the input,
            `coordinate_grid(height, width)[None]`).
    """
    coordinate_grid(height, width)  # validates the size
    inputs = keras.Input((height * width, 2), name="coords")
    x = inputs
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        x = layer(x)
    return keras.Model(inputs, keras.layers.Identity(name="rgb_grid")(x),
                       name=f"{model.name}_render_{height}x{width}")
