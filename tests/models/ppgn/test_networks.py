"""PPGN networks: shapes, E shares C's weights, DAE noise only in training, argument errors."""

import os

import keras
import numpy as np
import pytest

from tests import testing_utils

from tfmodels.models.ppgn import (
    code_dae,
    code_encoder,
    discriminator,
    generator,
    image_dae,
    independent_classifier,
    mnist_classifier,
)


def test_shapes_and_encoder_shares_weights():
    c = mnist_classifier(code_units=5, filters=(2, 3))
    x = np.random.default_rng(0).uniform(0, 1, (2, 28, 28, 1)).astype("float32")
    assert tuple(c(x).shape) == (2, 10)
    h1, h = code_encoder(c, feature_layer="h1")(x)
    assert tuple(h.shape) == (2, 5) and tuple(h1.shape) == (2, 7 * 7 * 3)
    assert np.asarray(h).min() >= 0  # a ReLU code, as fc6
    kernel = c.get_layer("code").kernel
    kernel.assign(np.zeros(kernel.shape, "float32"))
    np.testing.assert_array_equal(np.asarray(code_encoder(c)(x)),
                                  np.maximum(np.asarray(c.get_layer("code").bias), 0)[None]
                                  .repeat(2, 0))
    assert tuple(generator(5, filters=(4, 3))(np.zeros((2, 5), "float32")).shape) == (2, 28, 28, 1)
    assert tuple(discriminator(filters=(2, 3))(x).shape) == (2, 1)
    assert independent_classifier(hidden=(8, 4)).get_layer("features").units == 4


@pytest.mark.parametrize("factory, shape", [
    (lambda: code_dae(6, hidden=(4,), noise_std=1.0), (3, 6)),
    (lambda: image_dae(hidden=(8,), noise_std=0.5), (3, 28, 28, 1)),
])
def test_dae_noise_only_in_training_and_round_trip(factory, shape, tmp_path):
    dae = factory()
    x = np.random.default_rng(0).uniform(0, 1, shape).astype("float32")
    clean = np.asarray(dae(x, training=False))
    assert not np.allclose(clean, np.asarray(dae(x, training=True)))
    path = os.path.join(tmp_path, "dae.keras")
    dae.save(path)
    np.testing.assert_allclose(np.asarray(keras.saving.load_model(path)(x)), clean, atol=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match="code_units"):
        mnist_classifier(code_units=0)
    with pytest.raises(ValueError, match="filters"):
        generator(8, filters=(4,))
    with pytest.raises(ValueError, match="noise_std"):
        code_dae(8, noise_std=0.0)
    with pytest.raises(ValueError, match="no layer"):
        code_encoder(mnist_classifier(code_units=4, filters=(2, 2)), code_layer="fc6")


# TensorFlow only: these models hold Keras layers only, which Keras tests on JAX itself.
# Keras's layer harness check 2 (mixed precision, #9) for each network the factories build
# (functional models of Keras layers; config and .keras round trips: the tests above and
# test_generator_trainer.py). The sampler and GeneratorTrainer run these networks.
@pytest.mark.parametrize("policy", [
    "mixed_float16", "mixed_bfloat16"])
@pytest.mark.parametrize("factory,shape", [
    (lambda: mnist_classifier(code_units=8, filters=(2, 2)), (2, 28, 28, 1)),
    (lambda: generator(8, filters=(4, 4)), (2, 8)),
    pytest.param(lambda: discriminator(filters=(2, 2)), (2, 28, 28, 1), id="discriminator"),
    pytest.param(lambda: code_dae(8, hidden=(8, 8, 8), noise_std=0.1), (2, 8), id="code_dae"),
    pytest.param(lambda: image_dae(hidden=(8,)), (2, 28, 28, 1), id="image_dae"),
], ids=["classifier", "generator", "discriminator", "code_dae", "image_dae"])
def test_networks_train_under_a_global_mixed_policy(factory, shape, policy):
    x = np.random.default_rng(0).uniform(size=shape).astype("float32")
    testing_utils.check_mixed_precision(
        lambda: testing_utils.under_global_policy(policy, factory), x, policy)
