"""Conditions and priors: the authors' gradient vs the exact one, probability classifiers,
neurons, R(h) = E(G(h)) with the inpainting context pasted in."""

import keras
import numpy as np
import pytest

from tfmodels.models.ppgn import ClassCondition, NeuronCondition, UpsideDownPrior


def _classifier(softmax=False):
    image = keras.Input((28, 28, 1))
    x = keras.layers.Dense(4, name="logits", kernel_initializer=keras.initializers.RandomNormal(
        0, 0.1, seed=0), bias_initializer="zeros")(keras.layers.Flatten()(image))
    if softmax:
        x = keras.layers.Softmax()(x)
    return keras.Model(image, x)


def test_probability_classifier_matches_logits_classifier():
    logits_model, probs_model = _classifier(), _classifier(softmax=True)
    x = np.random.default_rng(0).uniform(0, 1, (3, 28, 28, 1)).astype("float32")
    targets = np.array([0, 2, 3])
    a = ClassCondition(logits_model, gradient="log_softmax")
    b = ClassCondition(probs_model, from_logits=False, gradient="log_softmax")
    np.testing.assert_allclose(np.asarray(a.objective(x, targets)),
                               np.asarray(b.objective(x, targets)), atol=1e-5)
    np.testing.assert_allclose(np.asarray(a.probability(x, targets)),
                               np.asarray(b.probability(x, targets)), atol=1e-6)
    # The authors' objective has the value (1 - p_y) * logit_y.
    logits = np.asarray(logits_model(x))
    p = np.asarray(a.probability(x, targets))
    np.testing.assert_allclose(np.asarray(ClassCondition(logits_model).objective(x, targets)),
                               (1 - p) * logits[np.arange(3), targets], atol=1e-6)


def test_neuron_condition_reads_the_unit():
    model = _classifier()
    x = np.random.default_rng(1).uniform(0, 1, (2, 28, 28, 1)).astype("float32")
    values = np.asarray(NeuronCondition(model, "logits").objective(x, np.array([1, 3])))
    logits = np.asarray(model(x))
    np.testing.assert_allclose(values, [logits[0, 1], logits[1, 3]], atol=1e-6)
    with pytest.raises(ValueError, match="no layer"):
        NeuronCondition(model, "fc8")
    with pytest.raises(ValueError, match="gradient"):
        ClassCondition(model, gradient="exact")


def test_upside_down_prior_sees_the_context():
    g = keras.Sequential([keras.Input((2,)), keras.layers.Dense(784), keras.layers.Reshape(
        (28, 28, 1))])
    e = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                          keras.layers.Dense(2)])
    h = np.array([[0.3, -0.1]], "float32")
    prior = UpsideDownPrior(g, e)
    np.testing.assert_allclose(np.asarray(prior(h)), np.asarray(e(g(h))), atol=1e-6)
    mask, context = np.zeros((1, 28, 28, 1), "float32"), np.ones((1, 28, 28, 1), "float32")
    np.testing.assert_allclose(np.asarray(prior(h, mask, context)), np.asarray(e(context)),
                               atol=1e-6)
