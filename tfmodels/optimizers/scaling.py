"""Per-layer learning-rate scales and gradient quantization, as options of an optimizer step.

Hubara et al. (arXiv:1609.07061 Sec. 2.4 / the BinaryNet code) scale the learning rate of each
binarized layer by the inverse of its Glorot initialization bound, `1 / sqrt(1.5 / (fan_in +
fan_out))`, and can quantize the gradients to a few bits (Sec. 4, 6-bit gradients). Both act
inside `update_step`, which every Keras backend calls once per variable, so they work on TF and
JAX alike: Adam-type updates are linear in the learning rate, so scaling it scales the update
exactly as the paper's `W + scale * (W_adam - W)` does.
"""

import keras

from tfmodels.quantization import Uniform, glorot_bound


def glorot_lr_scales(model):
    """`{variable path: 1 / sqrt(1.5 / (fan_in + fan_out))}` for every quantized kernel.

    A layer counts when it has a `kernel` and a non-None `kernel_quantizer` (the `Quant*`
    layers); float layers and all biases/BatchNorm parameters keep scale 1.

    Args:
        model: a built Keras model.
    """
    scales = {}
    for layer in model._flatten_layers(include_self=False):
        if getattr(layer, "kernel_quantizer", None) is None or not hasattr(layer, "kernel"):
            continue
        kernel = layer.kernel
        axis = getattr(layer, "_channel_axis", -1)
        # glorot_bound is sqrt(6 / fans); the paper's coefficient is sqrt(1.5 / fans), half of it.
        scales[kernel.path] = float(2.0 / glorot_bound(kernel.shape, axis))
    return scales


class LayerScaling:
    """Mixin for a Keras optimizer: per-variable learning-rate scales and gradient bits.

    Put it first in the bases of an optimizer class (`class ScaledAdam(LayerScaling,
    keras.optimizers.Adam)`), call `_init_scaling` from `__init__` and `_build_scaling` from
    `build` (variables are matched by path there: inside a TF update step they are raw
    `tf.Variable`s without Keras paths).

    Args (of the optimizer using it):
        lr_scales: `{variable path: factor}` (e.g. `glorot_lr_scales(model)`); other variables
            use the plain learning rate.
        gradient_bits: None (float gradients) or 2..16: each gradient is quantized per tensor to
            `2^bits - 1` symmetric levels on `[-max|g|, max|g|]` (`Uniform(bits)`) before the
            update.
    """

    def _init_scaling(self, lr_scales, gradient_bits):
        lr_scales = dict(lr_scales or {})
        for path, factor in lr_scales.items():
            if not isinstance(factor, (int, float)) or isinstance(factor, bool) or factor <= 0:
                raise ValueError(f"lr_scales[{path!r}] must be a positive number; got {factor!r}")
        if gradient_bits is not None and (
            not isinstance(gradient_bits, int) or not 2 <= gradient_bits <= 16
        ):
            raise ValueError(f"gradient_bits must be None or an integer in [2, 16]; got "
                             f"{gradient_bits!r}")
        self.lr_scales = {str(k): float(v) for k, v in lr_scales.items()}
        self.gradient_bits = gradient_bits
        self._gradient_quantizer = None if gradient_bits is None else Uniform(bits=gradient_bits)

    def _build_scaling(self, var_list):
        self._variable_factors = [self.lr_scales.get(v.path) for v in var_list]

    def scaled_step(self, gradient, variable, learning_rate):
        """`(gradient, learning_rate)` as the update of `variable` should see them."""
        if self._gradient_quantizer is not None:
            gradient = self._gradient_quantizer(keras.ops.cast(gradient, variable.dtype))
        factor = self._variable_factors[self._get_variable_index(variable)]
        if factor is not None:
            learning_rate = keras.ops.multiply(learning_rate, factor)
        return gradient, learning_rate

    def _scaling_config(self):
        return {"lr_scales": dict(self.lr_scales), "gradient_bits": self.gradient_bits}
