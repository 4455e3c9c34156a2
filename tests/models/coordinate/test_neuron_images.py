"""Neuron images and image grids: shape and tile contents."""

import numpy as np
import pytest

from tfmodels.models.coordinate import (
    coordinate_grid,
    coordinate_mlp,
    image_grid,
    neuron_activations,
    neuron_images,
)


@pytest.mark.multibackend
def test_image_grid_places_and_stretches_tiles():
    tiles = np.stack([np.full((2, 3), v, np.float32) for v in (0.0, 1.0, 2.0)])
    tiles[:, 0, 0] = -1.0  # each tile's own minimum becomes black
    grid = image_grid(tiles, columns=2, pad=1)
    assert grid.shape == (2 * 3 + 1, 2 * 4 + 1) and grid.dtype == np.uint8
    assert grid[1, 1] == 0 and grid[1, 2] == 255  # tile 0: min black, rest white
    assert grid[1 + 3, 1 + 1] == 255  # tile 2 in the second row
    assert (grid[0] == 0).all() and (grid[4:, 5:] == 0).all()  # padding and the empty slot
    with pytest.raises(ValueError, match="columns"):
        image_grid(tiles, columns=0)


@pytest.mark.multibackend
@pytest.mark.parametrize("units,columns,grid_shape", [(9, None, (16, 19)), (5, 2, (16, 13))])
def test_one_grid_per_hidden_layer_with_one_tile_per_neuron(units, columns, grid_shape):
    model = coordinate_mlp(depth=3, width=units, seed=0)
    grids = neuron_images(model, 4, 5, columns=columns)
    assert sorted(grids) == ["hidden_1", "hidden_2", "hidden_3"]
    assert all(grid.shape == grid_shape for grid in grids.values())


@pytest.mark.multibackend
def test_neuron_activation_is_the_hidden_output_at_each_pixel():
    model = coordinate_mlp(depth=2, width=4, seed=2)
    activations = neuron_activations(model, 3, 5, batch_size=4)
    assert activations["hidden_2"].shape == (4, 3, 5)
    # hidden_1 by hand: leaky_relu(coords @ W + b)
    kernel, bias = model.get_layer("dense_1").get_weights()
    pre = coordinate_grid(3, 5) @ kernel + bias
    expected = np.where(pre > 0, pre, 0.01 * pre).T.reshape(4, 3, 5)
    np.testing.assert_allclose(activations["hidden_1"], expected, atol=1e-5)
