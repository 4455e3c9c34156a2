"""GeneratorTrainer: E stays fixed, D learns only from its own loss, G only from its own
losses (the stop-gradient pairing), noise only in training, .keras round trip."""

import os

import keras
import numpy as np
import pytest

from tfmodels.models.ppgn import GeneratorTrainer, discriminator, generator, mnist_classifier

CODE = 6


def _trainer(discriminator_on=True, seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    classifier = mnist_classifier(code_units=CODE, filters=(2, 3), seed=seed)
    d = discriminator(filters=(2, 3), seed=seed) if discriminator_on else None
    if not discriminator_on:
        kwargs.setdefault("gan_weight", 0.0)
    trainer = GeneratorTrainer(generator(CODE, filters=(4, 3), seed=seed), classifier, d,
                               **kwargs)
    trainer.compile(optimizer=keras.optimizers.SGD(0.5))
    return trainer


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).uniform(0, 1, (8, 28, 28, 1)).astype("float32")


def _weights(model):
    return [np.array(w) for w in model.weights]


def _one_step(trainer, images):
    trainer.fit(images, batch_size=len(images), epochs=1, shuffle=False, verbose=0)


@pytest.mark.multibackend
def test_encoder_fixed_discriminator_independent_of_gan_weight(images):
    small, large = _trainer(gan_weight=0.01), _trainer(gan_weight=5.0)
    e_before = _weights(small.classifier)
    d_before = _weights(small.discriminator)
    _one_step(small, images)
    _one_step(large, images)
    for before, after in zip(e_before, _weights(small.classifier)):
        np.testing.assert_array_equal(before, after)
    # D learns from its own loss only: G's adversarial weight does not reach it.
    assert any(not np.allclose(b, a) for b, a in zip(d_before, _weights(small.discriminator)))
    for a, b in zip(_weights(small.discriminator), _weights(large.discriminator)):
        np.testing.assert_allclose(a, b, atol=1e-5)
    # ... while it does reach G.
    assert any(not np.allclose(a, b, atol=1e-5)
               for a, b in zip(_weights(small.generator), _weights(large.generator)))


@pytest.mark.multibackend
def test_discriminator_loss_does_not_reach_generator(images):
    with_d, without_d = _trainer(gan_weight=0.0), _trainer(discriminator_on=False)
    _one_step(with_d, images)
    _one_step(without_d, images)
    for a, b in zip(_weights(with_d.generator), _weights(without_d.generator)):
        np.testing.assert_allclose(a, b, atol=1e-6)
    assert {"pixel_loss", "code_loss", "feature_loss", "d_loss", "g_gan_loss"} <= set(
        m.name for m in with_d.metrics)


@pytest.mark.parametrize("loss", ["pixel_weight", "code_weight", "feature_weight"])
def test_each_loss_trains_the_generator(images, loss):
    weights = {"pixel_weight": 0.0, "code_weight": 0.0, "feature_weight": 0.0, loss: 1.0}
    trainer = _trainer(discriminator_on=False, **weights)
    before = _weights(trainer.generator)
    _one_step(trainer, images)
    assert any(not np.allclose(b, a) for b, a in zip(before, _weights(trainer.generator)))


def test_noise_only_in_training_and_round_trip(images, tmp_path):
    trainer = _trainer(code_noise_std=0.5)
    a = np.asarray(trainer(images, training=False))
    np.testing.assert_array_equal(a, np.asarray(trainer(images, training=False)))
    assert not np.allclose(a, np.asarray(trainer(images, training=True)))
    path = os.path.join(tmp_path, "trainer.keras")
    trainer.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.get_config()["code_noise_std"] == 0.5
    np.testing.assert_allclose(np.asarray(loaded(images)), a, atol=1e-6)


def test_bad_arguments():
    classifier = mnist_classifier(code_units=CODE, filters=(2, 3))
    with pytest.raises(ValueError, match="discriminator"):
        GeneratorTrainer(generator(CODE, filters=(4, 3)), classifier, None, gan_weight=0.1)
    with pytest.raises(ValueError, match="pixel_weight"):
        GeneratorTrainer(generator(CODE, filters=(4, 3)), classifier, None, pixel_weight=-1,
                         gan_weight=0.0)


def test_fits_under_a_global_mixed_policy(images):
    # TensorFlow only (not multibackend). Not through Keras's layer harness: a model with its
    # own compute_loss (G and D trained from separate losses), which the harness's step (a
    # sum of outputs) would bypass. The same properties, directly: images in the compute
    # dtype, float32 weights, a fit step with finite losses that changes G (the loss mixed
    # float16 images with float32 ones and raised, #9). Round trip: the test above.
    from tests import testing_utils

    trainer = testing_utils.under_global_policy("mixed_float16", _trainer)
    assert keras.backend.standardize_dtype(trainer(images[:2]).dtype) == "float16"
    assert all(keras.backend.standardize_dtype(w.dtype) == "float32" for w in trainer.weights
               if "float" in keras.backend.standardize_dtype(w.dtype))
    before = _weights(trainer.generator)
    history = trainer.fit(images, batch_size=len(images), epochs=1, verbose=0).history
    assert all(np.isfinite(v[0]) for v in history.values()), history
    assert any(not np.allclose(b, a) for b, a in zip(before, _weights(trainer.generator)))
