"""Neuron images: each hidden neuron's activation over the whole picture (the 2013 post's
pictures), one grid per hidden layer."""

import keras
import numpy as np

from tfmodels.models.coordinate.coordinate_mlp import coordinate_grid, hidden_layer_names
from tfmodels.models.coordinate.image_grid import image_grid


def neuron_activations(model, height, width, batch_size=16384):
    """Every hidden neuron's activation at every pixel.

    Args:
        model: a `coordinate_mlp`.
        height, width: the grid to evaluate it on.
        batch_size: pixels per forward pass.

    Returns:
        `{layer name: float32 (units, height, width)}` for `hidden_1, hidden_2, ...`.
    """
    names = hidden_layer_names(model)
    probe = keras.Model(model.input, [model.get_layer(n).output for n in names])
    coords = coordinate_grid(height, width)
    parts = [[] for _ in names]
    for i in range(0, len(coords), batch_size):
        outputs = probe(coords[i : i + batch_size], training=False)
        for part, output in zip(parts, outputs):
            part.append(keras.ops.convert_to_numpy(output))
    return {name: np.concatenate(part).T.reshape(-1, height, width)
            for name, part in zip(names, parts)}


def neuron_images(model, height, width, columns=None, pad=1, batch_size=16384):
    """One grid picture per hidden layer: tile `k` is neuron `k`'s activation over the image,
    stretched to its own [min, max] (black = lowest, white = highest).

    Args:
        model: a `coordinate_mlp`.
        height, width: tile size (the grid each neuron is evaluated on).
        columns: tiles per row (default: `ceil(sqrt(units))`).
        pad: black pixels between tiles.
        batch_size: pixels per forward pass.

    Returns:
        `{layer name: uint8 (rows * (height + pad) + pad, columns * (width + pad) + pad)}`.

    Example:
        >>> from tfmodels.models.coordinate import coordinate_mlp
        >>> grids = neuron_images(coordinate_mlp(depth=2, width=9, seed=0), 4, 5)
        >>> grids["hidden_1"].shape  # 3 x 3 tiles of 4 x 5, 1 pixel apart
        (16, 19)
    """
    activations = neuron_activations(model, height, width, batch_size)
    return {name: image_grid(tiles, columns=columns, pad=pad) for name, tiles in activations.items()}
