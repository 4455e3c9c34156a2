import keras
import numpy as np
import pytest

from tfmodels.optimizers import ShiftAdaMax

pytestmark = pytest.mark.multibackend


def _ap2(x):
    return np.sign(x) * 2.0 ** np.round(np.log2(np.abs(x)))


def _reference(theta, grads, lr, b1, b2, eps, shift):
    """arXiv:1609.07061 Alg. 4 (shift=True) / AdaMax (shift=False) in numpy."""
    m = np.zeros_like(theta)
    u = np.zeros_like(theta)
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        u = np.maximum(b2 * u, np.abs(g))
        correction, inverse = 1 / (1 - b1**t), 1 / (u + eps)
        if shift:
            correction, inverse = _ap2(correction), _ap2(inverse)
        theta = theta - (lr * correction) * (m * inverse)
    return theta


@pytest.mark.parametrize("shift", [True, False])
def test_updates_follow_the_definition(shift):
    rng = np.random.default_rng(0)
    theta0 = rng.normal(size=(3, 4)).astype("float32")
    grads = [rng.normal(size=(3, 4)).astype("float32") for _ in range(5)]
    var = keras.Variable(theta0)
    opt = ShiftAdaMax(0.01, beta_1=0.9, beta_2=0.99, epsilon=1e-7, shift=shift)
    for g in grads:
        opt.apply([keras.ops.convert_to_tensor(g)], [var])
    expected = _reference(theta0.astype("float64"), grads, 0.01, 0.9, 0.99, 1e-7, shift)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(var), expected, rtol=1e-5, atol=1e-6)


def test_first_step_by_hand():
    # m = 0.03, u = 0.3; AP2(1 / 0.1) = 8, AP2(1 / 0.3) = 4: step = 0.01 * 8 * 0.03 * 4.
    var = keras.Variable([0.5])
    ShiftAdaMax(0.01).apply([keras.ops.convert_to_tensor([0.3])], [var])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(var), [0.5 - 0.0096], rtol=1e-6)


def test_trains_a_model_and_round_trips_config():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = x @ np.array([[1.0], [-2.0], [0.5]], "float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(ShiftAdaMax(0.1), "mse")
    first = float(np.mean((keras.ops.convert_to_numpy(model(x)) - y) ** 2))
    # 160 steps in one epoch (the data repeated): per-epoch overhead, not steps, is the cost.
    model.fit(np.tile(x, (40, 1)), np.tile(y, (40, 1)), batch_size=16, verbose=0)
    last = float(np.mean((keras.ops.convert_to_numpy(model(x)) - y) ** 2))
    assert last < 0.05 * first
    opt = ShiftAdaMax(0.02, beta_2=0.9, shift=False, lr_scales={"m/d/kernel": 2.0},
                      gradient_bits=6)
    clone = ShiftAdaMax.from_config(opt.get_config())
    assert clone.get_config() == opt.get_config()
    with pytest.raises(ValueError, match="beta_1"):
        ShiftAdaMax(beta_1=1.0)
    with pytest.raises(ValueError, match="epsilon"):
        ShiftAdaMax(epsilon=0.0)
