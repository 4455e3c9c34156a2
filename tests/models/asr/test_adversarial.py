"""AdversarialAcousticModel: gradient reversal inside the model, fit, streaming step, round trip."""

import os

import keras
import numpy as np
import pytest

from tests import testing_utils
from tfmodels.layers.gradient_reversal import ramp
from tfmodels.models.asr import (
    AdversarialAcousticModel,
    baseline_acoustic_model,
    frame_noise_loss,
)

pytestmark = pytest.mark.multibackend

TINY = dict(conv_filters=(6, 8), conv_strides=(2, 2), lstm_units=(10, 12), adversary_units=5)


def batch(seed=0):
    rng = np.random.default_rng(seed)
    x = {
        "waveform": (0.1 * rng.normal(size=(3, 4800))).astype("float32"),
        "waveform_length": np.array([4800, 4000, 3300], "int32"),
    }
    y = {
        "labels": rng.integers(1, 7, size=(3, 4)).astype("int32"),
        "label_length": np.array([4, 2, 3], "int32"),
        "noise_id": np.array([0, 2, 1], "int32"),
    }
    return x, y


def gradients(loss_fn, variables):
    """d loss_fn() / d variables on the current backend."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = loss_fn()
        return [keras.ops.convert_to_numpy(g) for g in tape.gradient(loss, variables)]
    import jax

    def f(values):
        with keras.StatelessScope(state_mapping=list(zip(variables, values))):
            return loss_fn()

    # Jitted: op-by-op JAX differentiation of the LSTM scan is slow.
    return [np.asarray(g) for g in jax.jit(jax.grad(f))([v.value for v in variables])]


def test_encoder_gradient_of_noise_loss_is_reversed_and_scaled():
    model = AdversarialAcousticModel(7, num_domains=3, ramp_steps=40, gamma=10.0, **TINY)
    x, y = batch()
    reversal = model.get_layer("gradient_reversal")
    reversal.steps.assign(10.0)
    strength = ramp(10 / 40, 10.0)
    assert 0.5 < strength < 0.99
    tap = model.tap_model()
    hidden, head = model.get_layer("noise_hidden"), model.get_layer("noise_logits")
    encoder = [w for name in ("conv_1", "conv_2", "lstm_1") for w in model.get_layer(name).trainable_weights]
    heads = hidden.trainable_weights + head.trainable_weights
    variables = encoder + heads

    def with_reversal():
        out = model(x, training=False)
        return frame_noise_loss(out["noise_logits"], y["noise_id"], out["frame_length"])[0]

    def without_reversal():
        out = tap(x, training=False)
        logits = head(hidden(out["features"]))
        return frame_noise_loss(logits, y["noise_id"], out["frame_length"])[0]

    reversed_grads = gradients(with_reversal, variables)
    plain_grads = gradients(without_reversal, variables)
    n = len(encoder)
    for got, plain in zip(reversed_grads[:n], plain_grads[:n]):
        assert np.abs(plain).max() > 1e-6
        np.testing.assert_allclose(got, -strength * plain, rtol=1e-4, atol=1e-7)
    # The discriminator itself still minimizes its loss.
    for got, plain in zip(reversed_grads[n:], plain_grads[n:]):
        np.testing.assert_allclose(got, plain, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("adversarial", [True, False])
def test_fit_steps_train_and_advance_the_ramp(adversarial):
    if not adversarial and keras.backend.backend() != "tensorflow":
        pytest.skip("the baseline is the same network minus a branch; one backend is enough")
    x, y = batch(1)
    if adversarial:
        model = AdversarialAcousticModel(7, num_domains=3, ramp_steps=100, **TINY)
    else:
        model = baseline_acoustic_model(7, **TINY)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    before = [np.array(w) for w in model.trainable_weights]
    history = model.fit(x, y, batch_size=2, epochs=1, verbose=0).history
    after = [np.array(w) for w in model.trainable_weights]
    assert sum(not np.allclose(a, b) for a, b in zip(before, after)) == len(before)
    assert np.all(np.isfinite(history["loss"]))
    if adversarial:
        assert {"ctc_loss", "noise_loss", "noise_accuracy"} <= set(history)
        np.testing.assert_allclose(
            history["loss"][0], history["ctc_loss"][0] + history["noise_loss"][0], rtol=1e-5
        )
        assert float(model.get_layer("gradient_reversal").steps) == 2.0
    else:
        assert "noise_loss" not in history
        assert "noise_logits" not in model.output
        np.testing.assert_allclose(history["loss"], history["ctc_loss"], rtol=1e-6)


def test_frame_lengths_and_output_shapes():
    model = AdversarialAcousticModel(7, num_domains=3, **TINY)
    x, _ = batch()
    out = model.predict(x, verbose=0)
    # 160-sample frames, then two stride-2 causal convolutions (ceil each time).
    np.testing.assert_array_equal(out["frame_length"], [8, 7, 5])
    assert out["logits"].shape == (3, 8, 7)
    assert out["noise_logits"].shape == (3, 8, 3)
    assert model.frame_step_samples == 640


# Two stride-2 convolutions, and the default three (8x, where a chunk yields one frame).
@pytest.mark.parametrize("strides,chunk", [((2, 2), 4), ((2, 2, 2), 8)])
def test_step_model_streams_the_offline_outputs(strides, chunk):
    tiny = {**TINY, "conv_filters": (6, 8, 8)[: len(strides)], "conv_strides": strides}
    model = AdversarialAcousticModel(7, num_domains=3, **tiny)
    x, _ = batch(2)
    offline = keras.ops.convert_to_numpy(
        keras.ops.log_softmax(model(x, training=False)["logits"], axis=-1)
    )
    features = keras.ops.convert_to_numpy(
        model.get_layer("features")(x["waveform"], lengths=x["waveform_length"])
    )
    step = model.step_model(chunk_frames=chunk)
    assert [t.name for t in step.inputs] == ["features"] + model.state_names()
    states = {k: np.zeros((3,) + s, "float32") for k, s in model.state_shapes().items()}
    pieces = []
    padded = np.pad(features, [(0, 0), (0, (-features.shape[1]) % chunk), (0, 0)])
    for start in range(0, padded.shape[1], chunk):
        out = step({"features": padded[:, start : start + chunk], **states})
        pieces.append(keras.ops.convert_to_numpy(out["log_probs"]))
        assert pieces[-1].shape[1] == chunk // int(np.prod(strides))
        states = {k: keras.ops.convert_to_numpy(out[f"new_{k}"]) for k in states}
    streamed = np.concatenate(pieces, axis=1)[:, : offline.shape[1]]
    np.testing.assert_allclose(streamed, offline, atol=1e-5)
    with pytest.raises(ValueError, match="chunk_frames"):
        model.step_model(chunk_frames=chunk + 2)


def test_tail_samples_append_silence_the_step_model_also_hears():
    from tfmodels.export import asr as asr_export

    plain_features = {"normalization": "none"}
    tailed = AdversarialAcousticModel(7, num_domains=3, tail_samples=1280,
                                      features=plain_features, **TINY)
    plain = AdversarialAcousticModel(7, num_domains=3, features=plain_features, **TINY)
    plain.set_weights(tailed.get_weights())
    x, _ = batch(3)
    got, want = tailed.predict(x, verbose=0), plain.predict(x, verbose=0)
    # 1280 samples = 8 feature frames = 2 output frames more; the frames before are causal,
    # so they are those of the utterance without the tail.
    np.testing.assert_array_equal(got["frame_length"], want["frame_length"] + 2)
    for row, n in enumerate(want["frame_length"]):
        np.testing.assert_allclose(got["logits"][row, : n - 1], want["logits"][row, : n - 1],
                                   atol=1e-5)
    # utterance_features (what the streaming export steps through) includes the tail.
    wave = x["waveform"][2, : x["waveform_length"][2]]
    features = asr_export.utterance_features(tailed, wave)
    assert features.shape[0] == (len(wave) + 1280) // 160
    streamed = asr_export.step_through(tailed.step_model(4), features, tailed.state_shapes(), 4)
    offline = keras.ops.convert_to_numpy(keras.ops.log_softmax(got["logits"][2:3], axis=-1))[0]
    n = int(got["frame_length"][2])
    np.testing.assert_allclose(streamed[:n], offline[:n], atol=1e-5)
    with pytest.raises(ValueError, match="tail_samples"):
        AdversarialAcousticModel(7, num_domains=3, tail_samples=-1)


def test_keras_round_trip(tmp_path):
    model = AdversarialAcousticModel(7, num_domains=3, ramp_steps=5, tail_samples=320,
                                     **TINY)
    x, _ = batch()
    path = os.path.join(str(tmp_path), "asr.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, AdversarialAcousticModel)
    assert loaded.get_config() == model.get_config()
    want, got = model.predict(x, verbose=0), loaded.predict(x, verbose=0)
    for key in want:
        np.testing.assert_allclose(got[key], want[key], atol=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_domains"):
        AdversarialAcousticModel(7, num_domains=1)
    with pytest.raises(ValueError, match="tap_layer"):
        AdversarialAcousticModel(7, num_domains=2, lstm_units=(8,), tap_layer=2)
    with pytest.raises(ValueError, match="conv_strides"):
        AdversarialAcousticModel(7, num_domains=2, conv_filters=(4, 4), conv_strides=(2,))


def test_spec_augment_masks_in_training_only_and_round_trips(tmp_path):
    masking = {"freq_masks": 2, "max_freq_width": 10, "time_masks": 2, "max_time_width": 6,
               "seed": 1}
    model = baseline_acoustic_model(7, spec_augment=masking, **TINY)
    plain = baseline_acoustic_model(7, **TINY)
    plain.set_weights(model.get_weights())
    assert model.get_layer("spec_augment").max_freq_width == 10
    x, _ = batch(4)
    # Inference: the identity, so predictions (and the step model) are those of the plain one.
    want = plain.predict(x, verbose=0)
    got = model.predict(x, verbose=0)
    np.testing.assert_allclose(got["logits"], want["logits"], atol=1e-6)
    trained = keras.ops.convert_to_numpy(model(x, training=True)["logits"])
    assert np.abs(trained - want["logits"]).max() > 1e-4
    assert model.state_shapes() == plain.state_shapes()
    path = os.path.join(str(tmp_path), "masked.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.get_config()["spec_augment"] == masking
    np.testing.assert_allclose(loaded.predict(x, verbose=0)["logits"], got["logits"], atol=1e-6)
    with pytest.raises(ValueError, match="spec_augment"):
        baseline_acoustic_model(7, spec_augment=True, **TINY)


def test_output_delay_is_a_silent_tail_whose_first_outputs_are_dropped():
    from tfmodels.export import asr as asr_export

    delayed = AdversarialAcousticModel(7, num_domains=3, output_delay=2, **TINY)
    # 2 output frames = 2 * 4 (stride) * 160 samples of silence.
    tailed = AdversarialAcousticModel(7, num_domains=3, tail_samples=1280, **TINY)
    for layer in delayed.layers:
        if layer.weights:
            tailed.get_layer(layer.name).set_weights(layer.get_weights())
    assert delayed.appended_samples == 1280 and delayed.get_config()["output_delay"] == 2
    x, _ = batch(5)
    got, want = delayed.predict(x, verbose=0), tailed.predict(x, verbose=0)
    np.testing.assert_array_equal(got["frame_length"], want["frame_length"] - 2)
    np.testing.assert_allclose(got["logits"], want["logits"][:, 2:], atol=1e-6)
    np.testing.assert_allclose(got["noise_logits"], want["noise_logits"][:, 2:], atol=1e-6)
    # The step model emits every frame; the offline frames start output_delay frames in.
    wave = x["waveform"][1, : x["waveform_length"][1]]
    streamed = asr_export.step_through(delayed.step_model(4),
                                       asr_export.utterance_features(delayed, wave),
                                       delayed.state_shapes(), 4)
    offline = keras.ops.convert_to_numpy(keras.ops.log_softmax(got["logits"][1:2], axis=-1))[0]
    n = int(got["frame_length"][1])
    np.testing.assert_allclose(streamed[2:2 + n], offline[:n], atol=1e-5)
    with pytest.raises(ValueError, match="output_delay"):
        AdversarialAcousticModel(7, num_domains=3, output_delay=-1)


@pytest.mark.parametrize("policy", [
    "mixed_float16", testing_utils.on_tensorflow_only("mixed_bfloat16")])
def test_fits_under_a_global_mixed_policy(policy):
    # Not through Keras's layer harness: the model takes a dict of inputs as one argument and
    # trains with its own compute_loss (CTC + the adversary's loss), which the harness's
    # training step (a sum of outputs) would bypass. The same properties, directly: outputs
    # in the compute dtype (frame_length int32), float32 weights, a fit step with finite
    # losses that changes the weights (the loss used to mix float16 logits with float32
    # masks and raise, #9). The .keras round trip is test_keras_round_trip.
    compute = keras.DTypePolicy(policy).compute_dtype
    tiny = dict(conv_filters=(4,), conv_strides=(2,), lstm_units=(4,), adversary_units=3)
    model = testing_utils.under_global_policy(
        policy, lambda: AdversarialAcousticModel(5, num_domains=2, **tiny))
    x, y = batch()
    x = {"waveform": x["waveform"][:2, :960], "waveform_length": np.array([960, 700], "int32")}
    y = {"labels": y["labels"][:2, :2] % 5, "label_length": np.array([2, 1], "int32"),
         "noise_id": np.array([0, 1], "int32")}
    out = model(x, training=True)
    assert keras.backend.standardize_dtype(out["logits"].dtype) == compute
    assert keras.backend.standardize_dtype(out["noise_logits"].dtype) == compute
    assert keras.backend.standardize_dtype(out["frame_length"].dtype) == "int32"
    assert all(keras.backend.standardize_dtype(w.dtype) == "float32" for w in model.weights
               if "float" in keras.backend.standardize_dtype(w.dtype))
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    before = [np.array(w) for w in model.trainable_weights]
    history = model.fit(x, y, batch_size=2, epochs=1, verbose=0).history
    assert all(np.isfinite(history[k][0]) for k in ("loss", "ctc_loss", "noise_loss"))
    after = [np.array(w) for w in model.trainable_weights]
    assert any(not np.allclose(a, b) for a, b in zip(before, after))
