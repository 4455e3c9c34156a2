"""Tiling many small images into one picture: neuron images, first-layer weights."""

import math

import numpy as np


def image_grid(tiles, columns=None, pad=1, normalize=True):
    """Tiles `(n, h, w)` or `(n, h, w, c)` images into one uint8 picture.

    Args:
        tiles: the images.
        columns: tiles per row (default: `ceil(sqrt(n))`).
        pad: pixels of black between tiles (and around the border).
        normalize: stretch each tile to its own [min, max] (neuron activations and weights
            have arbitrary scales); False expects values in [0, 1].

    Returns:
        uint8 `(rows * (h + pad) + pad, columns * (w + pad) + pad[, c])` with
        `rows = ceil(n / columns)`.
    """
    tiles = np.asarray(tiles, dtype=np.float32)
    if tiles.ndim not in (3, 4) or len(tiles) == 0:
        raise ValueError(f"tiles must be a non-empty (n, h, w[, c]) array, got shape {tiles.shape}")
    n, h, w = tiles.shape[:3]
    if columns is None:
        columns = math.ceil(math.sqrt(n))
    if not isinstance(columns, (int, np.integer)) or columns < 1:
        raise ValueError(f"columns must be a positive int, got {columns!r}")
    if not isinstance(pad, (int, np.integer)) or pad < 0:
        raise ValueError(f"pad must be a non-negative int, got {pad!r}")
    if normalize:
        axes = tuple(range(1, tiles.ndim))
        low = tiles.min(axis=axes, keepdims=True)
        span = tiles.max(axis=axes, keepdims=True) - low
        tiles = (tiles - low) / np.where(span > 0, span, 1.0)
    rows = math.ceil(n / columns)
    grid = np.zeros((rows * (h + pad) + pad, columns * (w + pad) + pad, *tiles.shape[3:]),
                    np.float32)
    for i, tile in enumerate(tiles):
        top, left = pad + (i // columns) * (h + pad), pad + (i % columns) * (w + pad)
        grid[top : top + h, left : left + w] = tile
    return np.round(np.clip(grid, 0.0, 1.0) * 255).astype(np.uint8)
