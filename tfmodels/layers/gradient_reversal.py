"""Gradient reversal: identity forward, gradient times `-scale` backward (arXiv:1409.7495)."""

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable("tfmodels")
class GradientReversal(keras.layers.Layer):
    """Identity in the forward pass; multiplies the gradient by `-scale` in the backward pass.

    Placed between a feature extractor and a domain classifier, it makes the extractor maximize
    the classifier's loss while the classifier minimizes it: domain-adversarial training
    (Ganin & Lempitsky, arXiv:1409.7495), used for noise-invariant speech representations by
    Serdyuk et al. (arXiv:1612.01928).

    The strength is `scale * ramp(p)`, where `p` = training steps taken / `ramp_steps`, clipped
    to 1, and `ramp(p) = 2 / (1 + exp(-gamma * p)) - 1` (Ganin et al.'s schedule, gamma = 10).
    Without `ramp_steps` the ramp is 1. The step counter advances on every training call and
    is a layer weight, so the schedule runs inside a compiled train step on every backend and
    resumes from checkpoints. `scale` is a weight too: `layer.scale.assign(v)` between `fit`
    calls changes it.

    Args:
        scale: the maximum reversal strength (>= 0).
        ramp_steps: training steps over which the strength ramps from 0 to `scale`; None = no ramp.
        gamma: steepness of the ramp (> 0).

    Shapes: any; output shape = input shape.

    Example:
    >>> layer = GradientReversal(scale=0.5)
    >>> keras.ops.convert_to_numpy(layer(keras.ops.ones((2,)))).tolist()
    [1.0, 1.0]
    """

    def __init__(self, scale=1.0, ramp_steps=None, gamma=10.0, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(scale, (int, float)) or scale < 0:
            raise ValueError(f"scale must be a number >= 0; got {scale!r}")
        if ramp_steps is not None and (not isinstance(ramp_steps, int) or ramp_steps < 1):
            raise ValueError(f"ramp_steps must be a positive integer or None; got {ramp_steps!r}")
        if not isinstance(gamma, (int, float)) or gamma <= 0:
            raise ValueError(f"gamma must be a number > 0; got {gamma!r}")
        self.initial_scale = float(scale)
        self.ramp_steps = ramp_steps
        self.gamma = float(gamma)
        self.supports_masking = True

    def build(self, input_shape):
        self.scale = self.add_weight(
            name="scale",
            shape=(),
            initializer=keras.initializers.Constant(self.initial_scale),
            trainable=False,
        )
        self.steps = self.add_weight(
            name="steps", shape=(), initializer="zeros", trainable=False
        )

    def strength(self, steps=None):
        """The current reversal strength `scale * ramp(p)` (a scalar tensor)."""
        if self.ramp_steps is None:
            return ops.convert_to_tensor(self.scale)
        steps = self.steps if steps is None else steps
        p = ops.minimum(ops.cast(steps, "float32") / self.ramp_steps, 1.0)
        return self.scale * (2.0 / (1.0 + ops.exp(-self.gamma * p)) - 1.0)

    def call(self, inputs, training=None):
        if training and self.ramp_steps is not None:
            self.steps.assign(self.steps + 1.0)
        strength = ops.cast(ops.stop_gradient(self.strength()), inputs.dtype)
        frozen = ops.stop_gradient(inputs)
        # Forward: frozen + 0 == inputs exactly; backward: d/d inputs = -strength.
        return frozen - strength * (inputs - frozen)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "scale": self.initial_scale,
            "ramp_steps": self.ramp_steps,
            "gamma": self.gamma,
        }


def ramp(p, gamma=10.0):
    """`2 / (1 + exp(-gamma * p)) - 1`, the schedule of `GradientReversal` as a Python float."""
    return 2.0 / (1.0 + math.exp(-gamma * p)) - 1.0
