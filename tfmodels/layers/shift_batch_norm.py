"""Shift-based batch normalization (Hubara et al., arXiv:1609.07061 Alg. 3)."""

import keras
from keras import ops

from tfmodels.quantization import ap2


def _ap2_through(x):
    # Forward exactly AP2(x) (t - t == 0), gradient 1: AP2 is a rounding, so it gets the
    # straight-through treatment the paper gives every quantizer.
    return ops.stop_gradient(ap2(x)) + (x - ops.stop_gradient(x))


@keras.saving.register_keras_serializable("tfmodels")
class ShiftBatchNormalization(keras.layers.Layer):
    """Batch normalization whose multiplications are power-of-two shifts.

    For a batch `x` (statistics over every axis but `axis`), with `AP2(x) = sign(x)
    2^round(log2|x|)` (`tfmodels.quantization.ap2`):

        mu = mean(x);  c = x - mu
        var = mean(c * AP2(c))                       # C(x) <<>> AP2(C(x))
        x_hat = c * AP2(1 / sqrt(var + epsilon))     # C(x) <<>> AP2((sqrt(var + eps))^-1)
        y = AP2(gamma) * x_hat + beta                # AP2(gamma) <<>> x_hat

    At inference `mu` and `var` are moving averages (`momentum` weight on the old value) of the
    batch values above, as in `keras.layers.BatchNormalization`. Gradients pass straight through
    the `AP2` roundings.

    Args:
        axis: the feature axis (default -1).
        momentum: moving-average weight of the old statistics, in `[0, 1)`.
        epsilon: added to the variance, > 0.
        center: learn `beta`.
        scale: learn `gamma`.

    Shapes: any with a known `axis` size; output shape = input shape.

    Example:
    >>> bn = ShiftBatchNormalization()
    >>> y = bn(keras.ops.convert_to_tensor([[0.0], [4.0]]), training=True)
    >>> keras.ops.convert_to_numpy(y).ravel().tolist()
    [-1.0, 1.0]
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axis, int) or isinstance(axis, bool):
            raise ValueError(f"axis must be an integer; got {axis!r}")
        if not isinstance(momentum, (int, float)) or not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be a number in [0, 1); got {momentum!r}")
        if not isinstance(epsilon, (int, float)) or not epsilon > 0:
            raise ValueError(f"epsilon must be a positive number; got {epsilon!r}")
        self.axis = axis
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.supports_masking = True

    def build(self, input_shape):
        # Mixed precision: the weights and statistics stay float32 and are read as float32
        # (autocast=False); `call` normalizes in float32 and returns the compute dtype.
        axis = self.axis % len(input_shape)
        size = input_shape[axis]
        if size is None:
            raise ValueError(f"ShiftBatchNormalization needs a known size on axis {self.axis}")
        self._reduce = tuple(a for a in range(len(input_shape)) if a != axis)
        self._broadcast = tuple(size if a == axis else 1 for a in range(len(input_shape)))
        self.gamma = self.add_weight(name="gamma", shape=(size,), initializer="ones",
                                     trainable=self.scale, autocast=False) if self.scale else None
        self.beta = self.add_weight(name="beta", shape=(size,), initializer="zeros",
                                    trainable=self.center, autocast=False) if self.center else None
        self.moving_mean = self.add_weight(name="moving_mean", shape=(size,),
                                           initializer="zeros", trainable=False,
                                           autocast=False)
        self.moving_variance = self.add_weight(name="moving_variance", shape=(size,),
                                               initializer="ones", trainable=False,
                                               autocast=False)

    def call(self, inputs, training=None):
        x = ops.cast(inputs, "float32")
        if training:
            mean = ops.mean(x, axis=self._reduce)
            centred = x - ops.reshape(mean, self._broadcast)
            variance = ops.mean(centred * _ap2_through(centred), axis=self._reduce)
            m = self.momentum
            self.moving_mean.assign(m * self.moving_mean + (1 - m) * ops.stop_gradient(mean))
            self.moving_variance.assign(
                m * self.moving_variance + (1 - m) * ops.stop_gradient(variance))
        else:
            centred = x - ops.reshape(self.moving_mean, self._broadcast)
            variance = self.moving_variance
        inverse = _ap2_through(1.0 / ops.sqrt(ops.maximum(variance, 0.0) + self.epsilon))
        y = centred * ops.reshape(inverse, self._broadcast)
        if self.gamma is not None:
            y = y * ops.reshape(_ap2_through(self.gamma), self._broadcast)
        if self.beta is not None:
            y = y + ops.reshape(self.beta, self._broadcast)
        return ops.cast(y, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
        }
