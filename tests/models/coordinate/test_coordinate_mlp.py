"""Coordinate MLP: grid convention, presets, render (shape and exact values), render model."""

import os

import keras
import numpy as np
import pytest

from tests import testing_utils

from tfmodels.models.coordinate import (
    PRESETS,
    coordinate_grid,
    coordinate_mlp,
    parameter_count,
    render,
    render_model,
    width_for_parameters,
)


@pytest.mark.multibackend
def test_coordinate_grid_is_pixel_centres_in_minus_one_one():
    grid = coordinate_grid(2, 4)
    np.testing.assert_allclose(grid[:4, 0], [-0.75, -0.25, 0.25, 0.75])
    np.testing.assert_allclose(grid[:, 1], [-0.5] * 4 + [0.5] * 4)
    with pytest.raises(ValueError, match="width"):
        coordinate_grid(2, 0)


@pytest.mark.multibackend
def test_original_preset_is_six_by_300_leaky_relu():
    model = coordinate_mlp(**PRESETS["original"], seed=0)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [layer.units for layer in dense] == [300] * 6 + [3]
    leaky = [layer for layer in model.layers if isinstance(layer, keras.layers.LeakyReLU)]
    assert len(leaky) == 6 and all(abs(layer.negative_slope - 0.01) < 1e-7 for layer in leaky)
    assert model.count_params() == parameter_count(6, 300) == 453303


@pytest.mark.multibackend
@pytest.mark.parametrize("depth", [1, 2, 4, 6])
def test_width_for_parameters_matches_the_budget(depth):
    width = width_for_parameters(depth, 20000)
    count = parameter_count(depth, width)  # equals count_params(): see the preset test
    assert abs(count - 20000) <= abs(parameter_count(depth, width + 1) - 20000)
    assert abs(count - 20000) <= abs(parameter_count(depth, width - 1) - 20000)


def _affine_model():
    """One hidden ReLU layer fixed to pass (x+1)/4, (y+1)/4 and 0.5 through: colours known."""
    model = coordinate_mlp(depth=1, width=2, activation="relu")
    model.get_layer("dense_1").set_weights([np.eye(2, dtype="float32") / 4,
                                            np.full(2, 0.25, "float32")])
    kernel = np.array([[1, 0, 0], [0, 1, 0]], "float32")
    model.get_layer("rgb").set_weights([kernel, np.array([0, 0, 0.5], "float32")])
    return model


@pytest.mark.multibackend
def test_render_shape_and_values_at_any_resolution():
    model = _affine_model()
    for height, width in ((3, 5), (16, 7)):
        picture = render(model, height, width, batch_size=4)  # batches cross rows
        assert picture.shape == (height, width, 3) and picture.dtype == np.float32
        grid = coordinate_grid(height, width).reshape(height, width, 2)
        np.testing.assert_allclose(picture[..., :2], (grid + 1) / 4, atol=1e-6)
        np.testing.assert_allclose(picture[..., 2], 0.5, atol=1e-6)


@pytest.mark.multibackend
def test_render_clips_to_the_colour_range():
    model = _affine_model()
    model.get_layer("rgb").set_weights([np.full((2, 3), 10.0, "float32"),
                                        np.array([-5, 0, 0], "float32")])
    picture = render(model, 4, 4)
    assert picture.min() >= 0.0 and picture.max() <= 1.0
    assert (picture == 1.0).any() and (picture == 0.0).any()


@pytest.mark.multibackend
def test_render_model_draws_the_whole_picture_in_one_call():
    model = coordinate_mlp(depth=3, width=8, seed=1)
    whole = render_model(model, 5, 6)
    assert tuple(whole.input_shape) == (None, 30, 2)
    out = keras.ops.convert_to_numpy(whole(coordinate_grid(5, 6)[None]))
    expected = keras.ops.convert_to_numpy(model(coordinate_grid(5, 6)))
    np.testing.assert_allclose(out[0], expected, atol=1e-5)


@pytest.mark.multibackend
def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="depth"):
        coordinate_mlp(depth=0)
    with pytest.raises(ValueError, match="width"):
        coordinate_mlp(depth=2, width=[4])
    with pytest.raises(ValueError, match="activation"):
        coordinate_mlp(activation="swishy")
    with pytest.raises(ValueError, match="batch_size"):
        render(_affine_model(), 2, 2, batch_size=0)


@pytest.mark.multibackend
def test_keras_round_trip_renders_the_same(tmp_path):
    model = coordinate_mlp(depth=2, width=8, seed=3)
    path = os.path.join(tmp_path, "coord.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(render(loaded, 6, 4), render(model, 6, 4), atol=1e-6)


# TensorFlow only: these models hold Keras layers only, which Keras tests on JAX itself.
# Keras's layer harness check 2 (mixed precision, #9) for the functional model the factory
# builds (no layer of our own inside: the rest of the harness is Keras's own Dense tests;
# config and .keras round trip: test_keras_round_trip_renders_the_same).
@pytest.mark.parametrize("activation", [
    "leaky_relu", "tanh"])
@pytest.mark.parametrize("policy", [
    "mixed_float16", "mixed_bfloat16"])
def test_trains_under_a_global_mixed_policy(policy, activation):
    coords = coordinate_grid(2, 3).reshape(-1, 2)
    testing_utils.check_mixed_precision(
        lambda: testing_utils.under_global_policy(
            policy, lambda: coordinate_mlp(depth=2, width=4, activation=activation, seed=0)),
        coords, policy)
