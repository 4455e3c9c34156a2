"""Shift-based AdaMax (Hubara et al., arXiv:1609.07061 Alg. 4; BinaryNet arXiv:1602.02830 Alg. 4)."""

import keras
from keras import ops

from tfmodels.optimizers.scaling import LayerScaling
from tfmodels.quantization import ap2


@keras.saving.register_keras_serializable("tfmodels")
class ShiftAdaMax(LayerScaling, keras.optimizers.Optimizer):
    """AdaMax whose two multiplications are power-of-two shifts (hardware-friendly).

    With `g` the gradient at step `t` (1-based), per variable `theta`:

        m_t = beta_1 * m_{t-1} + (1 - beta_1) * g
        v_t = max(beta_2 * v_{t-1}, |g|)
        theta_t = theta_{t-1} - (lr * AP2(1 / (1 - beta_1^t))) * (m_t * AP2(1 / (v_t + epsilon)))

    `AP2(x) = sign(x) 2^round(log2|x|)` (`tfmodels.quantization.ap2`): the paper's
    `(alpha >> (1 - beta_1^t)) . (m_t <<>> v_t^-1)`, i.e. bias correction and the division by
    `v_t` are bit shifts. With `shift=False` it is plain AdaMax (Kingma & Ba, Alg. 2).

    Args:
        learning_rate: `alpha` (a float or a `keras.optimizers.schedules` schedule).
        beta_1, beta_2: decay rates in `[0, 1)`.
        epsilon: added to `v_t` before inverting.
        shift: use the power-of-two approximations (False: exact AdaMax).
        lr_scales, gradient_bits: see `LayerScaling` (per-layer Glorot scales, gradient bits).
        **kwargs: other `keras.optimizers.Optimizer` arguments.

    Example:
    >>> opt = ShiftAdaMax(learning_rate=1e-3)
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, shift=True,
                 lr_scales=None, gradient_bits=None, name="shift_adamax", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        for arg, value in (("beta_1", beta_1), ("beta_2", beta_2)):
            if not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
                raise ValueError(f"{arg} must be a number in [0, 1); got {value!r}")
        if not isinstance(epsilon, (int, float)) or not epsilon > 0:
            raise ValueError(f"epsilon must be a positive number; got {epsilon!r}")
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)
        self.shift = bool(shift)
        self._init_scaling(lr_scales, gradient_bits)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._m, self._u = self.add_optimizer_variables(var_list, ["momentum", "norm"])
        self._build_scaling(var_list)

    def update_step(self, gradient, variable, learning_rate):
        gradient, learning_rate = self.scaled_step(gradient, variable, learning_rate)
        lr = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        step = ops.cast(self.iterations + 1, variable.dtype)
        correction = 1.0 / (1.0 - ops.power(ops.cast(self.beta_1, variable.dtype), step))
        index = self._get_variable_index(variable)
        m, u = self._m[index], self._u[index]
        self.assign_add(m, (gradient - m) * (1.0 - self.beta_1))
        self.assign(u, ops.maximum(self.beta_2 * u, ops.abs(gradient)))
        inverse = 1.0 / (u + self.epsilon)
        if self.shift:
            correction, inverse = ap2(correction), ap2(inverse)
        self.assign_sub(variable, (lr * correction) * (m * inverse))

    def get_config(self):
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "shift": self.shift,
            **self._scaling_config(),
        }
