import math

import keras
import numpy as np
import pytest

from tfmodels.optimizers import ScaledAdam, ShiftAdaMax, glorot_lr_scales
from tfmodels.quantization import Binary, QuantDense

pytestmark = pytest.mark.multibackend


def _model():
    inputs = keras.Input((6,))
    h = QuantDense(4, kernel_quantizer=Binary(), name="q")(inputs)
    out = keras.layers.Dense(2, name="f")(h)
    return keras.Model(inputs, out, name="m")


def test_glorot_scales_cover_quantized_kernels_only():
    model = _model()
    scales = glorot_lr_scales(model)
    path = model.get_layer("q").kernel.path
    assert scales == {path: pytest.approx(1 / math.sqrt(1.5 / (6 + 4)))}


@pytest.mark.parametrize("cls", [ScaledAdam, ShiftAdaMax])
def test_a_scaled_variable_moves_by_the_factor_times_the_plain_step(cls):
    g = keras.ops.convert_to_tensor([0.3, -0.1])
    plain, scaled = keras.Variable([0.5, -0.2], name="a"), keras.Variable([0.5, -0.2], name="b")
    cls(0.01).apply([g], [plain])
    cls(0.01, lr_scales={scaled.path: 3.0}).apply([g], [scaled])
    step_plain = keras.ops.convert_to_numpy(plain) - np.array([0.5, -0.2])
    step_scaled = keras.ops.convert_to_numpy(scaled) - np.array([0.5, -0.2])
    np.testing.assert_allclose(step_scaled, 3.0 * step_plain, rtol=1e-5)


def test_gradient_bits_quantize_the_gradient_before_the_update():
    # 2 bits: levels {-max, 0, max}. g = [0.3, 0.1, -0.2] -> [0.3, 0, -0.3]; Adam's first step
    # is lr * sign(g_q) (zero where g_q is zero).
    var = keras.Variable([0.0, 0.0, 0.0])
    ScaledAdam(0.01, epsilon=1e-12, gradient_bits=2).apply(
        [keras.ops.convert_to_tensor([0.3, 0.1, -0.2])], [var])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(var), [-0.01, 0.0, 0.01], atol=1e-7)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="gradient_bits"):
        ScaledAdam(gradient_bits=1)
    with pytest.raises(ValueError, match="lr_scales"):
        ScaledAdam(lr_scales={"x": -1.0})
    opt = ScaledAdam(0.1, lr_scales={"m/q/kernel": 2.0}, gradient_bits=6)
    assert ScaledAdam.from_config(opt.get_config()).get_config() == opt.get_config()
