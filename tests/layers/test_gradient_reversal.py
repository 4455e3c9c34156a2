import keras
import numpy as np
import pytest
from keras import ops

from tests import testing_utils
from tfmodels.layers import GradientReversal
from tfmodels.layers.gradient_reversal import ramp

pytestmark = pytest.mark.multibackend


def _grad_through(layer, x, weights):
    """Gradient of sum(weights * layer(x)) w.r.t. x, on the active backend (training=True)."""
    x = np.asarray(x, "float32")
    if keras.backend.backend() == "jax":
        import jax

        def loss(v):
            return (layer(v, training=False) * weights).sum()

        return np.asarray(jax.grad(loss)(x))
    import tensorflow as tf

    v = tf.Variable(x)
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(layer(v, training=False) * weights)
    return tape.gradient(y, v).numpy()


def test_forward_is_exact_identity():
    x = np.random.default_rng(0).normal(size=(3, 5)).astype("float32") * 1e3
    layer = GradientReversal(scale=0.37)
    np.testing.assert_array_equal(ops.convert_to_numpy(layer(x, training=True)), x)


@pytest.mark.parametrize("scale", [0.0, 0.3, 1.0, 2.5])
def test_gradient_is_reversed_and_scaled(scale):
    x = np.random.default_rng(1).normal(size=(4, 3)).astype("float32")
    w = np.random.default_rng(2).normal(size=(4, 3)).astype("float32")
    layer = GradientReversal(scale=scale)
    layer.build(x.shape)
    np.testing.assert_allclose(_grad_through(layer, x, w), -scale * w, rtol=1e-6)


def test_scale_can_be_changed_between_fits():
    x = np.ones((2, 2), "float32")
    w = np.ones((2, 2), "float32")
    layer = GradientReversal(scale=1.0)
    layer.build(x.shape)
    layer.scale.assign(0.25)
    np.testing.assert_allclose(_grad_through(layer, x, w), -0.25 * w)


def test_ramp_schedule_advances_with_training_steps():
    layer = GradientReversal(scale=2.0, ramp_steps=10, gamma=10.0)
    x = np.zeros((1, 2), "float32")
    layer(x)  # build
    assert float(ops.convert_to_numpy(layer.strength())) == 0.0
    for _ in range(3):
        layer(x, training=True)
    layer(x, training=False)  # inference does not advance the schedule
    np.testing.assert_allclose(
        float(ops.convert_to_numpy(layer.strength())), 2.0 * ramp(0.3), rtol=1e-6
    )
    for _ in range(20):
        layer(x, training=True)
    np.testing.assert_allclose(
        float(ops.convert_to_numpy(layer.strength())), 2.0 * ramp(1.0), rtol=1e-6
    )


def test_ramp_advances_inside_model_fit():
    inputs = keras.Input((3,))
    reversal = GradientReversal(scale=1.0, ramp_steps=100)
    outputs = keras.layers.Dense(1)(reversal(inputs))
    model = keras.Model(inputs, outputs)
    model.compile("sgd", "mse")
    x = np.ones((8, 3), "float32")
    model.fit(x, np.zeros((8, 1)), batch_size=2, epochs=1, verbose=0)
    assert float(ops.convert_to_numpy(reversal.steps)) == 4.0


def test_adversary_gradient_flips_the_feature_extractor_update():
    # Features -> reversal -> classifier. The extractor's gradient must be the negative of the
    # gradient it would get without the layer.
    rng = np.random.default_rng(3)
    x = rng.normal(size=(6, 4)).astype("float32")
    w = rng.normal(size=(6, 4)).astype("float32")
    plain = _grad_through(keras.layers.Identity(), x, w)
    layer = GradientReversal(scale=0.8)
    layer.build(x.shape)
    np.testing.assert_allclose(_grad_through(layer, x, w), -0.8 * plain, rtol=1e-6)


@pytest.mark.parametrize(
    "kwargs,argument",
    [({"scale": -1.0}, "scale"), ({"ramp_steps": 0}, "ramp_steps"), ({"gamma": 0}, "gamma")],
)
def test_invalid_arguments(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        GradientReversal(**kwargs)


def test_layer_checks(tmp_path):
    testing_utils.check_layer(
        lambda: GradientReversal(scale=0.5, ramp_steps=20), (4, 3), tmp_path, training_step=False
    )


@pytest.mark.parametrize("ramp_steps", [None, 5])
def test_keras_layer_harness(ramp_steps):
    # Keras's own conformance checks (config, serialization, symbolic/eager, a compiled
    # training step, mixed precision) and a mixed-policy fit step.
    testing_utils.run_layer_test(
        GradientReversal,
        {"scale": 0.5, "ramp_steps": ramp_steps},
        input_shape=(2, 3),
        expected_output_shape=(2, 3),
        expected_num_trainable_weights=0,
        expected_num_non_trainable_weights=2,  # scale and the step counter
        supports_masking=True,
    )
