import keras
import numpy as np
import pytest

from tfmodels.quantization import Binary, Clip, QuantDense

pytestmark = pytest.mark.multibackend


def test_clip_bounds_the_latent_weights_after_every_update():
    layer = QuantDense(3, kernel_quantizer=Binary(), kernel_constraint=Clip(),
                       kernel_initializer="ones", use_bias=False)
    model = keras.Sequential([keras.Input((2,)), layer])
    model.compile(keras.optimizers.SGD(10.0), "mse")
    model.fit(np.ones((4, 2), "float32"), np.full((4, 3), 50.0, "float32"), verbose=0)
    kernel = keras.ops.convert_to_numpy(layer.kernel)
    # The gradient pushes the weights up by far more than 1; the constraint stops them at 1.
    np.testing.assert_array_equal(kernel, np.ones((2, 3)))


def test_clip_values_config_and_errors():
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(Clip(-0.5, 2.0)(keras.ops.convert_to_tensor([-3.0, 0.1, 3.0]))),
        [-0.5, 0.1, 2.0], rtol=1e-7)
    assert Clip.from_config(Clip(-2, 3).get_config()).get_config() == {"min_value": -2.0,
                                                                       "max_value": 3.0}
    with pytest.raises(ValueError, match="min_value"):
        Clip(1.0, 1.0)
    with pytest.raises(ValueError, match="max_value"):
        Clip(0.0, "1")
