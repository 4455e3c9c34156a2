"""Coordinate networks (`(x, y) -> (r, g, b)`) and wide shallow nets on MNIST.

Two 2012-2013 experiments with tiny, fast tasks: a coordinate MLP regressing an image's colours
from pixel positions needs depth; a single wide hidden layer (6000 leaky ReLUs with an
input-to-readout skip) classifies MNIST under 1.2% error.

Example:
    >>> from tfmodels.models.coordinate import PRESETS, coordinate_mlp, render
    >>> model = coordinate_mlp(**PRESETS["original"], seed=0)
    >>> render(model, 32, 24).shape
    (32, 24, 3)
"""

from tfmodels.models.coordinate.coordinate_mlp import (
    ACTIVATIONS,
    PRESETS,
    coordinate_grid,
    coordinate_mlp,
    hidden_layer_names,
    parameter_count,
    render,
    render_model,
    width_for_parameters,
)
from tfmodels.models.coordinate.fan_in_sgd import FanInSGD
from tfmodels.models.coordinate.image_grid import image_grid
from tfmodels.models.coordinate.neuron_images import neuron_activations, neuron_images
from tfmodels.models.coordinate.render_every import RenderEvery
from tfmodels.models.coordinate.wide_mlp import (
    MNIST_PRESETS,
    OneHotSquaredError,
    first_layer_weights,
    wide_mlp,
)

__all__ = [
    "ACTIVATIONS", "FanInSGD", "MNIST_PRESETS", "OneHotSquaredError", "PRESETS", "RenderEvery",
    "coordinate_grid", "coordinate_mlp", "first_layer_weights", "hidden_layer_names",
    "image_grid", "neuron_activations", "neuron_images", "parameter_count", "render",
    "render_model", "wide_mlp", "width_for_parameters",
]
