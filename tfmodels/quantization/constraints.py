"""Weight constraints of low-precision training."""

import keras
from keras import ops


@keras.saving.register_keras_serializable("tfmodels")
class Clip(keras.constraints.Constraint):
    """Clips the latent real weights to `[min_value, max_value]` after every update.

    BinaryConnect and QNNs (arXiv:1511.00363 Sec. 2.4; arXiv:1609.07061 Alg. 1) keep the real
    weights the optimizer updates inside the binarization range `[-1, 1]`: outside it the
    straight-through gradient is zero and the weight could grow without ever changing sign.
    Keras applies a variable's constraint right after each optimizer step.

    Args:
        min_value, max_value: the bounds, `min_value < max_value`.

    Example:
    >>> Clip()(keras.ops.convert_to_tensor([-3.0, 0.5, 2.0])).numpy().tolist()  # doctest: +SKIP
    [-1.0, 0.5, 1.0]
    """

    def __init__(self, min_value=-1.0, max_value=1.0):
        for name, value in (("min_value", min_value), ("max_value", max_value)):
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise ValueError(f"{name} must be a number; got {value!r}")
        if not min_value < max_value:
            raise ValueError(f"min_value must be < max_value; got {min_value!r}, {max_value!r}")
        self.min_value = float(min_value)
        self.max_value = float(max_value)

    def __call__(self, w):
        return ops.clip(w, self.min_value, self.max_value)

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value}
