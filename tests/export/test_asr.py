"""ASR export: the int8 streaming step .tflite and the waveform -> transcript SavedModel."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from tfmodels.data.speech import Vocabulary
from tfmodels.export import asr as asr_export
from tfmodels.models.asr.adversarial import AdversarialAcousticModel
from tfmodels.models.asr.decoding import collapse, greedy_decode

# Four "words", each a tone: a task a tiny model learns in seconds, so the exported
# transcripts are real transcripts rather than noise-level argmaxes.
FREQS = (400.0, 900.0, 1600.0, 2800.0)
VOCABULARY = Vocabulary(tokens=("a", "b", "c", "d"))


def tone_utterances(n, seed):
    rng = np.random.default_rng(seed)
    waves, labels = [], []
    for _ in range(n):
        ids = rng.integers(1, 5, size=rng.integers(2, 5))
        parts = [np.zeros(int(rng.uniform(0.05, 0.15) * 16000))]
        for i in ids:
            t = np.arange(int(rng.uniform(0.12, 0.2) * 16000)) / 16000
            parts += [0.3 * np.sin(2 * np.pi * FREQS[i - 1] * t),
                      np.zeros(int(rng.uniform(0.06, 0.12) * 16000))]
        wave = np.concatenate(parts)
        waves.append((wave + 0.01 * rng.normal(size=wave.shape)).astype("float32"))
        labels.append(ids.astype("int32"))
    return waves, labels


def batch(waves, labels):
    length = max(map(len, waves))
    width = max(map(len, labels))
    x = {"waveform": np.stack([np.pad(w, (0, length - len(w))) for w in waves]),
         "waveform_length": np.array([len(w) for w in waves], "int32")}
    y = {"labels": np.stack([np.pad(l, (0, width - len(l))) for l in labels]),
         "label_length": np.array([len(l) for l in labels], "int32"),
         "noise_id": np.zeros(len(waves), "int32")}
    return x, y


@pytest.fixture(scope="module")
def trained():
    keras.utils.set_random_seed(1)
    waves, labels = tone_utterances(24, 0)
    model = AdversarialAcousticModel(
        VOCABULARY.num_classes, num_domains=2, conv_filters=(24, 24), conv_strides=(2, 2), lstm_units=(32,),
        adversary_units=4, features={"num_mel_bins": 20})
    model.compile(optimizer=keras.optimizers.Adam(2e-2))
    model.fit(*batch(waves, labels), batch_size=8, epochs=60, verbose=0)
    return model, waves


def keras_transcripts(model, waves):
    x, _ = batch(waves, [np.zeros(1, "int32")] * len(waves))
    out = model.predict(x, verbose=0)
    return [VOCABULARY.decode(ids) for ids in greedy_decode(out["logits"], out["frame_length"])]


def test_int8_step_tflite_streams_the_keras_transcript(trained, tmp_path):
    model, train_waves = trained
    held_out, truth = tone_utterances(3, 99)
    want = keras_transcripts(model, held_out)
    # The model has learned the task, so agreeing with it is not agreeing on noise.
    assert sum(w == VOCABULARY.decode(t) for w, t in zip(want, truth)) >= 2
    path = str(tmp_path / "step.tflite")
    report = asr_export.export_streaming_tflite(model, path, train_waves[:4], chunk_frames=8,
                                                mode="int8")
    assert not any(op.startswith("Flex") for op in report.op_types)
    assert "int8" in report.weight_dtypes and "float32" not in report.weight_dtypes
    for wave, expected in zip(held_out, want):
        features = asr_export.utterance_features(model, wave)
        log_probs = asr_export.stream_tflite(path, features)
        frames = -(-(len(wave) // 160) // 4)
        assert VOCABULARY.decode(collapse(log_probs[:frames].argmax(-1))) == expected


@pytest.fixture(scope="module")
def served(trained, tmp_path_factory):
    """The trained model's transcriber SavedModel: `(base_dir, version path)`."""
    model, _ = trained
    base_dir = tmp_path_factory.mktemp("serving")
    return base_dir, asr_export.export_transcriber(model, VOCABULARY, base_dir, "asr")


def padded(waves):
    """`(waveform [batch, samples] zero-padded, waveform_length [batch] int32)`."""
    x, _ = batch(waves, [np.zeros(1, "int32")] * len(waves))
    return x["waveform"], x["waveform_length"]


def test_transcriber_saved_model_in_a_fresh_process(trained, served, tmp_path):
    model, _ = trained
    base_dir, path = served
    waves, _ = tone_utterances(2, 7)
    assert len(waves[0]) != len(waves[1])
    waveform, lengths = padded(waves)
    want = keras_transcripts(model, waves)
    assert path.endswith(os.path.join("asr", "1"))
    np.save(tmp_path / "waves.npy", waveform)
    np.save(tmp_path / "lengths.npy", lengths)
    script = (
        "import json, sys, numpy as np, tensorflow as tf\n"
        "fn = tf.saved_model.load(sys.argv[1]).signatures['serving_default']\n"
        "out = fn(waveform=tf.constant(np.load(sys.argv[2])),\n"
        "         waveform_length=tf.constant(np.load(sys.argv[3])))\n"
        "print(json.dumps([t.decode() for t in out['transcript'].numpy()]))\n")
    result = subprocess.run(
        [sys.executable, "-c", script, path, str(tmp_path / "waves.npy"),
         str(tmp_path / "lengths.npy")],
        capture_output=True, text=True, check=True)
    assert json.loads(result.stdout.strip().splitlines()[-1]) == want
    assert any(want)
    with pytest.raises(FileExistsError):
        asr_export.export_transcriber(model, VOCABULARY, base_dir, "asr", version=1)
    with pytest.raises(ValueError, match="classes"):
        asr_export.export_transcriber(model, Vocabulary(), base_dir, "other")


# On JAX the model trains on JAX and export_transcriber rebuilds it on TensorFlow.
@pytest.mark.multibackend
def test_served_batch_gives_each_utterance_what_it_gets_alone(trained, served):
    import tensorflow as tf

    model, _ = trained
    fn = tf.saved_model.load(served[1]).signatures["serving_default"]
    waves, truth = tone_utterances(5, 11)
    assert len(set(map(len, waves))) == len(waves)
    waveform, lengths = padded(waves)
    out = fn(waveform=tf.constant(waveform), waveform_length=tf.constant(lengths))
    got = [t.decode() for t in out["transcript"].numpy()]
    logits, frames = out["logits"].numpy(), out["frame_length"].numpy()
    for i, wave in enumerate(waves):
        alone = fn(waveform=tf.constant(wave[None]),
                   waveform_length=tf.constant([len(wave)], tf.int32))
        assert got[i] == alone["transcript"].numpy()[0].decode()
        assert frames[i] == alone["frame_length"].numpy()[0] == alone["logits"].shape[1]
        np.testing.assert_allclose(logits[i, : frames[i]], alone["logits"].numpy()[0],
                                   atol=1e-4)
    # The served transcripts are the Keras model's, and real ones.
    assert got == keras_transcripts(model, waves)
    assert sum(g == VOCABULARY.decode(t) for g, t in zip(got, truth)) >= 3
    # Serving the padding as audio (the old one-input signature) changes the valid frames
    # of every shorter row, so the agreement above is not a coincidence of the fixture.
    full = fn(waveform=tf.constant(waveform),
              waveform_length=tf.fill([len(waves)], waveform.shape[1]))
    for i in np.flatnonzero(lengths < waveform.shape[1]):
        drift = np.abs(full["logits"].numpy()[i, : frames[i]] - logits[i, : frames[i]]).max()
        assert drift > 1e-2


@pytest.mark.parametrize("lengths, message", [
    ([100, 100, 100], "one length per waveform row"),
    ([100, -1], ">= 0"),
    ([100, 1601], "exceed"),
])
def test_served_lengths_are_checked(served, lengths, message):
    import tensorflow as tf

    fn = tf.saved_model.load(served[1]).signatures["serving_default"]
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        fn(waveform=tf.zeros([2, 1600]), waveform_length=tf.constant(lengths, tf.int32))
    out = fn(waveform=tf.zeros([2, 1600]), waveform_length=tf.constant([1600, 0], tf.int32))
    np.testing.assert_array_equal(out["frame_length"].numpy(), [3, 0])


# The device path: raw audio in, text out, with causal features.
CHUNKS_MS = (10, 50, 200)


@pytest.fixture(scope="module")
def causal_model():
    keras.utils.set_random_seed(1)
    waves, labels = tone_utterances(24, 0)
    model = AdversarialAcousticModel(
        VOCABULARY.num_classes, num_domains=2, conv_filters=(24, 24), conv_strides=(2, 2),
        lstm_units=(32,), adversary_units=4,
        features={"num_mel_bins": 20, "normalization": "causal", "time_constant": 50})
    model.get_layer("features").adapt(waves)
    model.compile(optimizer=keras.optimizers.Adam(2e-2))
    model.fit(*batch(waves, labels), batch_size=8, epochs=60, verbose=0)
    return model, waves


@pytest.fixture(scope="module")
def stream_files(causal_model, tmp_path_factory):
    model, waves = causal_model
    folder = tmp_path_factory.mktemp("stream")
    return {
        mode: asr_export.export_streaming_tflite(
            model, str(folder / f"stream_{mode}.tflite"), waves[:4], chunk_frames=8, mode=mode,
            raw_audio=True)
        for mode in ("float32", "int8")
    }


def offline_log_probs(model, wave):
    out = model.predict({"waveform": wave[None], "waveform_length": np.array([len(wave)], "int32")},
                        verbose=0)
    logits = out["logits"][0].astype(np.float64)
    top = logits.max(-1, keepdims=True)
    return logits - top - np.log(np.exp(logits - top).sum(-1, keepdims=True))


def test_raw_audio_file_streams_the_offline_model(causal_model, stream_files):
    from tfmodels.export.streaming_transcriber import StreamingTranscriber

    model, _ = causal_model
    report = stream_files["float32"]
    assert not any(op.startswith("Flex") for op in report.op_types)
    assert "audio" in [name for name, _, _ in report.inputs] or "audio" in str(report)
    held_out, truth = tone_utterances(4, 99)
    want = keras_transcripts(model, held_out)
    assert sum(w == VOCABULARY.decode(t) for w, t in zip(want, truth)) >= 3
    transcriber = StreamingTranscriber(report.path, VOCABULARY.tokens)
    for wave, expected in zip(held_out, want):
        offline = offline_log_probs(model, wave)
        # 10, 50, 200 ms, and 37 ms: not a whole number of 10 ms hops.
        for chunk in [ms * 16 for ms in CHUNKS_MS] + [587]:
            assert transcriber.transcribe(wave, chunk) == expected
            np.testing.assert_allclose(transcriber.final_log_probs, offline, atol=1e-3)
    # Partial transcripts grow as the audio arrives and end in the final one.
    wave = held_out[0]
    partials = [transcriber.feed(wave[i : i + 800]) for i in range(0, len(wave), 800)]
    assert all(want[0].startswith(p) for p in partials) and partials[0] != want[0]
    assert transcriber.finish() == want[0]


def test_raw_audio_state_carries_across_chunks(causal_model, stream_files):
    """Resetting a state between chunks changes what follows, so each one is really carried."""
    from tfmodels.export.runtime import LiteRTRunner, LiteRTStepper
    from tfmodels.export.streaming_transcriber import StreamingTranscriber

    model, _ = causal_model
    wave = tone_utterances(1, 5)[0][0]
    runner = LiteRTRunner(stream_files["float32"].path)
    good = StreamingTranscriber(runner, VOCABULARY.tokens)
    good.transcribe(wave, 587)
    reference = good.final_log_probs
    for state in ("audio_buffer", "norm_mean", "conv_1_buffer", "lstm_1_h"):
        class Forgetful(LiteRTStepper):
            def step(self, inputs):
                out = super().step(inputs)
                self.states[state] = np.zeros_like(self.states[state])
                return out

        forgetful = StreamingTranscriber(runner, VOCABULARY.tokens)
        forgetful.stepper = Forgetful(runner, ["audio"])
        forgetful.reset()
        forgetful.transcribe(wave, 587)
        assert np.abs(forgetful.final_log_probs - reference).max() > 1e-2, state


def test_int8_raw_audio_agreement(causal_model, stream_files):
    """Full int8 (front end included) is reported, not exact: the log-mel input of the
    encoder loses the quiet bins in 8 bits. The float32 file above is the exact one."""
    from tfmodels.export.streaming_transcriber import StreamingTranscriber

    model, _ = causal_model
    report = stream_files["int8"]
    assert "int8" in report.weight_dtypes
    held_out, _ = tone_utterances(6, 123)
    want = keras_transcripts(model, held_out)
    transcriber = StreamingTranscriber(report.path, VOCABULARY.tokens)
    got, frames = [], []
    for wave in held_out:
        got.append(transcriber.transcribe(wave, 800))
        offline = offline_log_probs(model, wave).argmax(-1)
        frames.append(np.mean(transcriber.final_log_probs.argmax(-1) == offline))
    agreement = np.mean([g == w for g, w in zip(got, want)])
    print(f"int8 raw-audio file: transcripts {agreement:.2f}, frame argmax {np.mean(frames):.2f}")
    assert np.mean(frames) > 0.7


def test_raw_audio_export_needs_causal_features(trained, tmp_path):
    model, waves = trained
    with pytest.raises(ValueError, match="utterance"):
        asr_export.export_streaming_tflite(model, str(tmp_path / "x.tflite"), waves[:1],
                                           raw_audio=True)
    assert not (tmp_path / "x.tflite").exists()


def test_transcriber_imports_without_keras_or_tensorflow(stream_files):
    script = (
        "import sys, numpy as np\n"
        "sys.modules['keras'] = None; sys.modules['tensorflow'] = None\n"
        "from tfmodels.export.streaming_transcriber import StreamingTranscriber\n"
        "t = StreamingTranscriber(sys.argv[1], ['a', 'b', 'c', 'd'], beam_width=4)\n"
        "t.feed(np.zeros(3000, np.float32))\n"
        "print(repr(t.finish()), t.final_log_probs.shape)\n")
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    result = subprocess.run([sys.executable, "-c", script, stream_files["float32"].path],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("(5, 5)")  # 3000 // 160 = 18 frames -> 5 outputs


def test_transcriber_skips_the_output_delay_of_a_delayed_model(causal_model):
    from tfmodels.export.streaming_transcriber import StreamingTranscriber

    model, _ = causal_model
    config = {**model.get_config(), "output_delay": 2}
    delayed = AdversarialAcousticModel.from_config(config)
    for layer in model.layers:
        if layer.weights:
            delayed.get_layer(layer.name).set_weights(layer.get_weights())
    step = delayed.step_model(8, raw_audio=True)
    stepper = asr_export.KerasStepper(step, ["audio"])
    transcriber = StreamingTranscriber(stepper, VOCABULARY.tokens, output_delay=2)
    held_out, _ = tone_utterances(2, 98)
    want = keras_transcripts(delayed, held_out)
    for wave, expected in zip(held_out, want):
        for chunk in (800, 587):
            assert transcriber.transcribe(wave, chunk) == expected
            np.testing.assert_allclose(transcriber.final_log_probs,
                                       offline_log_probs(delayed, wave), atol=1e-3)
    with pytest.raises(ValueError, match="output_delay"):
        StreamingTranscriber(stepper, VOCABULARY.tokens, output_delay=-1)
