import keras
import numpy as np
import pytest

from tests import testing_utils
from tests.testing_utils import check_layer
from tfmodels.layers import ShiftBatchNormalization

pytestmark = pytest.mark.multibackend


def _ap2(x):
    return np.where(x == 0, 0.0, np.sign(x) * 2.0 ** np.round(np.log2(np.abs(x) + (x == 0))))


def _reference(x, gamma, beta, eps):
    """arXiv:1609.07061 Alg. 3 in numpy."""
    mu = x.mean(0)
    c = x - mu
    var = (c * _ap2(c)).mean(0)
    x_hat = c * _ap2(1.0 / np.sqrt(var + eps))
    return _ap2(gamma) * x_hat + beta, mu, var


def test_training_output_and_moving_statistics_follow_the_definition():
    rng = np.random.default_rng(0)
    x = rng.normal(1.0, 3.0, size=(16, 5)).astype("float32")
    bn = ShiftBatchNormalization(momentum=0.75, epsilon=1e-3)
    bn.build(x.shape)
    gamma = np.array([0.3, 1.0, -2.2, 0.9, 5.0], "float32")
    beta = np.array([0.0, 1.0, -1.0, 0.5, 2.0], "float32")
    bn.gamma.assign(gamma)
    bn.beta.assign(beta)
    y = keras.ops.convert_to_numpy(bn(x, training=True))
    expected, mu, var = _reference(x.astype("float64"), gamma, beta, 1e-3)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(bn.moving_mean), 0.25 * mu, rtol=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(bn.moving_variance),
                               0.75 + 0.25 * var, rtol=1e-5)
    # Inference: moving statistics, the same shift formula.
    inference = keras.ops.convert_to_numpy(bn(x, training=False))
    mm = keras.ops.convert_to_numpy(bn.moving_mean)
    mv = keras.ops.convert_to_numpy(bn.moving_variance)
    np.testing.assert_allclose(
        inference, _ap2(gamma) * (x - mm) * _ap2(1 / np.sqrt(mv + 1e-3)) + beta, rtol=1e-5,
        atol=1e-5)


def test_scales_are_powers_of_two():
    x = np.random.default_rng(1).normal(size=(32, 3)).astype("float32")
    bn = ShiftBatchNormalization(center=False)
    y = keras.ops.convert_to_numpy(bn(x, training=True))
    ratio = y / (x - x.mean(0))
    exponents = np.log2(np.abs(ratio))
    np.testing.assert_allclose(exponents, np.round(exponents), atol=1e-4)


def test_layer_check_and_errors(tmp_path):
    check_layer(lambda: ShiftBatchNormalization(momentum=0.9), (4, 6), tmp_path)
    with pytest.raises(ValueError, match="momentum"):
        ShiftBatchNormalization(momentum=1.0)
    with pytest.raises(ValueError, match="epsilon"):
        ShiftBatchNormalization(epsilon=0)


def test_keras_layer_harness():
    # Keras's own conformance checks plus a mixed-policy fit step: the statistics and the
    # power-of-two scale stay float32 under mixed_float16 / mixed_bfloat16.
    testing_utils.run_layer_test(
        ShiftBatchNormalization,
        {"momentum": 0.9},
        input_shape=(4, 3),
        expected_output_shape=(4, 3),
        expected_num_trainable_weights=2,
        expected_num_non_trainable_weights=2,
        supports_masking=True,
    )
