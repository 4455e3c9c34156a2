"""Tests for tfmodels.metrics.language: BitsPerCharacter and bits_per_character."""

import math

import keras
import numpy as np
import pytest

from tfmodels.metrics.language import BitsPerCharacter, bits_per_character

# The suite runs this module on TensorFlow and again under KERAS_BACKEND=jax.
pytestmark = pytest.mark.multibackend

# Hand case: p(target) = 1/2 costs 1 bit, p(target) = 1/4 costs 2 bits.
_PROBS = np.array([[0.5, 0.25, 0.25], [0.5, 0.25, 0.25]], np.float32)
_TARGETS = np.array([0, 1])


@pytest.mark.parametrize("vocab_size", [2, 5, 97])
def test_uniform_distribution_gives_log2_vocab_size(vocab_size):
    targets = np.arange(12) % vocab_size
    logits = np.zeros((12, vocab_size), np.float32)
    probs = np.full((12, vocab_size), 1 / vocab_size, np.float32)
    for from_logits, preds in ((True, logits), (False, probs)):
        metric = BitsPerCharacter(from_logits=from_logits)
        metric.update_state(targets, preds)
        assert float(metric.result()) == pytest.approx(math.log2(vocab_size), rel=1e-6)
        assert bits_per_character(targets, preds, from_logits=from_logits) == pytest.approx(
            math.log2(vocab_size), rel=1e-12
        )


def test_hand_computed_case_from_probabilities_and_logits():
    metric = BitsPerCharacter()
    metric.update_state(_TARGETS, _PROBS)
    assert float(metric.result()) == pytest.approx(1.5, rel=1e-6)
    logits = np.log(_PROBS) + 3.0  # logits are defined up to a constant
    metric = BitsPerCharacter(from_logits=True)
    metric.update_state(_TARGETS, logits)
    assert float(metric.result()) == pytest.approx(1.5, rel=1e-6)
    assert bits_per_character(_TARGETS, logits, from_logits=True) == pytest.approx(1.5)


def test_accumulates_per_character_and_resets():
    metric = BitsPerCharacter()
    metric.update_state(_TARGETS[:1], _PROBS[:1])  # 1 character, 1 bit
    metric.update_state(np.array([[1, 1, 1]]), np.tile(_PROBS[:1], (1, 3, 1)))  # 3 x 2 bits
    assert float(metric.result()) == pytest.approx(7 / 4, rel=1e-6)
    metric.reset_state()
    assert float(metric.result()) == 0.0


def test_sample_weights_mask_characters():
    targets = np.array([[0, 1], [1, 1]])
    probs = np.tile(_PROBS[:1], (2, 2, 1))
    for weights, expected in (([[1, 0], [0, 0]], 1.0), ([1, 0], 1.5), ([[0, 1], [1, 1]], 2.0)):
        metric = BitsPerCharacter()
        metric.update_state(targets, probs, sample_weight=np.array(weights, np.float32))
        assert float(metric.result()) == pytest.approx(expected, rel=1e-6)
        assert bits_per_character(targets, probs, sample_weight=weights) == pytest.approx(expected)


def test_one_hot_targets_and_unnormalized_probabilities():
    one_hot = np.eye(3, dtype=np.float32)[_TARGETS]
    metric = BitsPerCharacter(sparse=False)
    metric.update_state(one_hot, _PROBS * 4.0)
    assert float(metric.result()) == pytest.approx(1.5, rel=1e-6)
    assert bits_per_character(one_hot, _PROBS * 4.0, sparse=False) == pytest.approx(1.5)


def test_zero_probability_is_clipped_not_infinite():
    bpc = bits_per_character([2], [[1.0, 0.0, 0.0]])
    assert bpc == pytest.approx(-math.log2(keras.config.epsilon()))
    metric = BitsPerCharacter()
    metric.update_state(np.array([2]), np.array([[1.0, 0.0, 0.0]], np.float32))
    assert float(metric.result()) == pytest.approx(bpc, rel=1e-5)


def test_numpy_function_matches_metric_on_random_logits():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(4, 7, 11)).astype(np.float32) * 3
    targets = rng.integers(0, 11, size=(4, 7))
    metric = BitsPerCharacter(from_logits=True)
    metric.update_state(targets, logits)
    expected = bits_per_character(targets, logits, from_logits=True)
    assert float(metric.result()) == pytest.approx(expected, rel=1e-5)
    probs = keras.ops.convert_to_numpy(keras.ops.softmax(logits, axis=-1))
    assert bits_per_character(targets, probs) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"targets": [[0, 1]], "predictions": np.ones((2, 3))}, "does not match"),
        ({"targets": [3], "predictions": np.ones((1, 3))}, "must lie in"),
        ({"targets": [0], "predictions": np.ones((1, 3)), "sample_weight": [0]}, "no characters"),
        ({"targets": [0], "predictions": np.ones((1, 3)), "sparse": False}, "sparse=False"),
        ({"targets": [0], "predictions": np.ones((1, 3)), "from_logits": "yes"}, "from_logits"),
    ],
)
def test_numpy_function_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        bits_per_character(**kwargs)


def test_config_round_trip():
    metric = BitsPerCharacter(from_logits=True, sparse=False, name="val_bpc")
    restored = keras.metrics.deserialize(keras.metrics.serialize(metric))
    assert isinstance(restored, BitsPerCharacter)
    assert restored.get_config() == metric.get_config()
    assert restored.from_logits and not restored.sparse and restored.name == "val_bpc"
    with pytest.raises(ValueError, match="from_logits"):
        BitsPerCharacter(from_logits=1)


def _tiny_char_model(vocab_size):
    model = keras.Sequential(
        [keras.Input((6,), dtype="int32"), keras.layers.Embedding(vocab_size, 8),
         keras.layers.Dense(vocab_size)]
    )
    model.compile(
        optimizer=keras.optimizers.SGD(0.5),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[BitsPerCharacter(from_logits=True)],
    )
    return model


def test_inside_fit_and_evaluate_and_keras_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 5, size=(32, 6))
    y = (x + 1) % 5  # learnable: next id
    model = _tiny_char_model(5)
    history = model.fit(x, y, batch_size=8, epochs=3, verbose=0)
    assert history.history["bpc"][-1] < history.history["bpc"][0]
    scores = model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
    # Without regularization the loss is the same mean cross-entropy, in nats.
    assert scores["bpc"] == pytest.approx(scores["loss"] / math.log(2), rel=1e-5)
    logits = model.predict(x, verbose=0)
    assert scores["bpc"] == pytest.approx(bits_per_character(y, logits, from_logits=True),
                                          rel=1e-5)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    again = loaded.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
    assert again["bpc"] == pytest.approx(scores["bpc"], rel=1e-6)
