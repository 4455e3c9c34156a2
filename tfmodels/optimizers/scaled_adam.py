"""Adam with per-layer learning-rate scales and optional gradient quantization."""

import keras

from tfmodels.optimizers.scaling import LayerScaling


@keras.saving.register_keras_serializable("tfmodels")
class ScaledAdam(LayerScaling, keras.optimizers.Adam):
    """`keras.optimizers.Adam` whose step is scaled per layer (the BinaryNet/QNN training rule).

    Args:
        learning_rate, beta_1, beta_2, epsilon: as for `keras.optimizers.Adam`.
        lr_scales: `{variable path: factor}`, e.g. `glorot_lr_scales(model)`.
        gradient_bits: None, or quantize each gradient to this many bits first.
        **kwargs: other `keras.optimizers.Adam` arguments.

    Example:
    >>> opt = ScaledAdam(1e-3, lr_scales={"mlp/dense/kernel": 30.0})
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 lr_scales=None, gradient_bits=None, name="scaled_adam", **kwargs):
        super().__init__(learning_rate=learning_rate, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, name=name, **kwargs)
        self._init_scaling(lr_scales, gradient_bits)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._build_scaling(var_list)

    def update_step(self, gradient, variable, learning_rate):
        gradient, learning_rate = self.scaled_step(gradient, variable, learning_rate)
        super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        return {**super().get_config(), **self._scaling_config()}
