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
    report = asr_export.export_streaming_tflite(model, path, train_waves[:4], chunk_frames=8)
    assert not any(op.startswith("Flex") for op in report.op_types)
    assert "int8" in report.weight_dtypes and "float32" not in report.weight_dtypes
    for wave, expected in zip(held_out, want):
        features = asr_export.utterance_features(model, wave)
        log_probs = asr_export.stream_tflite(path, features)
        frames = -(-(len(wave) // 160) // 4)
        assert VOCABULARY.decode(collapse(log_probs[:frames].argmax(-1))) == expected


def test_transcriber_saved_model_in_a_fresh_process(trained, tmp_path):
    model, _ = trained
    waves, _ = tone_utterances(2, 7)
    length = max(map(len, waves))
    padded = [np.pad(w, (0, length - len(w))) for w in waves]
    # The SavedModel treats every row as `samples` long, trailing zeros included.
    want = keras_transcripts(model, padded)
    path = asr_export.export_transcriber(model, VOCABULARY, tmp_path / "serving", "asr")
    assert path.endswith(os.path.join("asr", "1"))
    np.save(tmp_path / "waves.npy", np.stack(padded))
    script = (
        "import json, sys, numpy as np, tensorflow as tf\n"
        "fn = tf.saved_model.load(sys.argv[1]).signatures['serving_default']\n"
        "out = fn(waveform=tf.constant(np.load(sys.argv[2])))\n"
        "print(json.dumps([t.decode() for t in out['transcript'].numpy()]))\n")
    result = subprocess.run([sys.executable, "-c", script, path, str(tmp_path / "waves.npy")],
                            capture_output=True, text=True, check=True)
    assert json.loads(result.stdout.strip().splitlines()[-1]) == want
    assert any(want)
    with pytest.raises(FileExistsError):
        asr_export.export_transcriber(model, VOCABULARY, tmp_path / "serving", "asr", version=1)
    with pytest.raises(ValueError, match="classes"):
        asr_export.export_transcriber(model, Vocabulary(), tmp_path / "serving", "other")
