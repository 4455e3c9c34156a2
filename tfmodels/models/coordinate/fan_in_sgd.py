"""`FanInSGD`: SGD with the per-layer learning rate `learning_rate / sqrt(fan_in + 1)`.

The wide-shallow-net experiments (the "shallow MNIST" post, 2013) trained every layer with the
rate `0.3 / sqrt(fan_in + 1)` (0.1 for the coordinate nets): a unit with many inputs takes
smaller steps, so a 6000-unit layer and a 10-unit readout fed by 6784 inputs train stably at one
base rate.
"""

import keras


@keras.saving.register_keras_serializable("tfmodels")
class FanInSGD(keras.optimizers.SGD):
    """`keras.optimizers.SGD` whose step for each layer is scaled by `1 / sqrt(fan_in + 1)`.

    A kernel's fan-in is the product of all but its last dimension (784 for a `Dense` on MNIST
    pixels); a bias, or any other 1-D variable, takes the fan-in of the kernel of the same layer
    (the variable whose path shares its parent), or 0 when the layer has none. The `+ 1` counts
    the bias input. Everything else (momentum, schedules, clipping) is SGD's.

    Args:
        learning_rate: the base rate (0.3 in the MNIST experiment); a float or a schedule.
        **kwargs: `keras.optimizers.SGD` arguments (`momentum`, `nesterov`, `clipnorm`, ...).

    Attributes:
        fan_ins: `{variable path: fan_in}` once built.

    Example:
        >>> optimizer = FanInSGD(0.3)
        >>> # model.compile(optimizer=optimizer, loss=OneHotSquaredError())
    """

    def __init__(self, learning_rate=0.3, name="fan_in_sgd", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.fan_ins = {}
        self._scales = []

    def build(self, variables):
        if self.built:
            return
        kernels = {}
        for variable in variables:
            if len(variable.shape) >= 2:
                fan_in = 1
                for dim in variable.shape[:-1]:
                    fan_in *= int(dim)
                kernels[_parent(variable.path)] = fan_in
        self.fan_ins = {}
        self._scales = []
        for variable in variables:
            if len(variable.shape) >= 2:
                fan_in = kernels[_parent(variable.path)]
            else:
                fan_in = kernels.get(_parent(variable.path), 0)
            self.fan_ins[variable.path] = fan_in
            self._scales.append(1.0 / (fan_in + 1) ** 0.5)
        super().build(variables)

    def update_step(self, gradient, variable, learning_rate):
        scale = self._scales[self._get_variable_index(variable)]
        learning_rate = keras.ops.multiply(keras.ops.cast(learning_rate, variable.dtype), scale)
        super().update_step(gradient, variable, learning_rate)


def _parent(path):
    return path.rsplit("/", 1)[0] if "/" in path else ""
