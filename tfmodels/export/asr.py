"""ASR export: a streaming int8 step `.tflite`, and a waveform -> transcript SavedModel.

Streaming (`export_streaming_tflite`, `stream_tflite`): the acoustic model's step model
(`AdversarialAcousticModel.step_model`) takes `chunk_frames` normalized log-mel frames and the
encoder state (causal-convolution buffers, LSTM `h`/`c`) and returns per-frame CTC
log-probabilities and the new state. Its LSTMs are unrolled over the chunk, so it converts to
TFLite builtin ops only, full int8 (ranges calibrated on states met while stepping real
utterances). With per-utterance feature normalization the device must compute the features of
the whole utterance before streaming them in; a model trained with causal features
(`LogMelFeatures(normalization="causal")`) exports instead with `raw_audio=True`: one file from
a chunk of raw 16 kHz samples (plus the audio overlap and running statistics in its state) to
log-probabilities, framing, DFT, mel, log and normalization inside, which
`tfmodels.export.streaming_transcriber.StreamingTranscriber` turns into text with numpy only.

Serving (`export_transcriber`): a TF Serving SavedModel, `base_dir/name/<version>/`, whose one
signature, `serving_default`, takes
- `waveform` float32 `[batch, samples]`: 16 kHz audio, each row padded (zeros or anything) to
  the longest row;
- `waveform_length` int32 `[batch]`: the valid samples of each row, in `[0, samples]`;
and returns
- `transcript` string `[batch]`: greedy CTC decoding, the vocabulary lookup in the graph;
- `logits` float32 `[batch, frames, num_classes]`: CTC logits (id 0 = blank), frames past a
  row's `frame_length` are padding;
- `frame_length` int32 `[batch]`: the valid output frames of each row.

Both inputs are required (a SavedModel signature has no optional inputs): a request with one
utterance sends `waveform_length: [samples]`. Samples past a row's length never reach its
result (they are zeroed before the features and left out of the per-utterance normalization,
and the encoder is causal), so every row of a batch gets what it gets served alone: the same
transcript, and its logits up to float rounding. A length outside `[0, samples]`, or a
`waveform_length` whose size is not the batch size, fails the request with `InvalidArgument`.
Over REST: `POST /v1/models/<name>:predict` with
`{"inputs": {"waveform": [[...], [...]], "waveform_length": [16000, 12345]}}`.

Example:
    report = export_streaming_tflite(model, "export/asr_step.tflite", waveforms, mode="int8")
    log_probs = stream_tflite("export/asr_step.tflite", features)  # (frames, classes)
    export_streaming_tflite(causal_model, "export/asr_stream.tflite", waveforms, raw_audio=True,
                            tokens=Vocabulary().tokens)  # + export/asr_stream.json
    text = StreamingTranscriber.from_export("export/asr_stream.tflite").transcribe(wave)
    path = export_transcriber(model, Vocabulary(), "export/serving", "asr")
"""


import json

import keras
import numpy as np

from tfmodels.export import saved_model
from tfmodels.export.runtime import LiteRTRunner
from tfmodels.export.streaming_transcriber import StreamingTranscriber, decoder_config_path
from tfmodels.export.tflite import export_tflite
from tfmodels.utils import atomic


def utterance_features(model, waveform):
    """Normalized log-mel frames of one utterance, `(frames, num_mel_bins)` numpy."""
    waveform = np.asarray(waveform, np.float32).reshape(1, -1)
    # The silence the model appends to every utterance (`tail_samples` and `output_delay`
    # frames), as it hears it; the step model's first `output_delay` outputs precede the
    # offline model's first.
    waveform = np.pad(waveform, [(0, 0), (0, getattr(model, "appended_samples", 0))])
    layer = model.get_layer("features")
    lengths = np.array([waveform.shape[1]], np.int32)
    return keras.ops.convert_to_numpy(layer(waveform, lengths=lengths))[0]


def step_through(step_fn, features, state_shapes, chunk_frames):
    """Feeds `features` `(frames, bins)` chunk by chunk to `step_fn`; returns the log-probs.

    `step_fn(inputs: dict) -> dict` follows the step model's names. The last chunk is
    zero-padded; the returned `(frames_out, classes)` covers every chunk.
    """
    frames = features.shape[0]
    padded = np.pad(features, [(0, (-frames) % chunk_frames), (0, 0)]).astype(np.float32)
    states = {name: np.zeros((1,) + tuple(shape), np.float32) for name, shape in state_shapes.items()}
    pieces = []
    for start in range(0, padded.shape[0], chunk_frames):
        out = step_fn({"features": padded[None, start : start + chunk_frames], **states})
        pieces.append(np.asarray(out["log_probs"])[0])
        states = {name: np.asarray(out[f"new_{name}"]) for name in states}
    return np.concatenate(pieces, axis=0)


class KerasStepper:
    """A Keras step model behind `LiteRTStepper`'s interface (`step`, `reset`, `states`).

    So `StreamingTranscriber` streams the Keras step model exactly as it streams the file:
    calibration and tests share the device's chunking. `record`, if given, is called with
    every step's full input dict.
    """

    def __init__(self, step, data_inputs, record=None):
        self.model = step
        self.shapes = {t.name: tuple(t.shape[1:]) for t in step.inputs}
        self.data_inputs = list(data_inputs)
        self.record = record
        self.reset()

    def input_shape(self, name):
        return self.shapes[name]

    def reset(self):
        self.states = {name: np.zeros((1,) + shape, np.float32)
                       for name, shape in self.shapes.items() if name not in self.data_inputs}

    def step(self, inputs):
        feed = {**{k: np.asarray(v, np.float32) for k, v in inputs.items()}, **self.states}
        if self.record:
            self.record(feed)
        out = self.model(feed, training=False)
        out = {k: keras.ops.convert_to_numpy(v) for k, v in out.items()}
        self.states = {name: out[f"new_{name}"] for name in self.states}
        return {k: v for k, v in out.items() if not k.startswith("new_")}


def calibration_steps(model, step, waveforms, chunk_frames, max_samples=64, raw_audio=False):
    """Step-model inputs (chunks and the states they arrive with) met on real utterances.

    Returns:
        `{input name: array with a leading sample axis}` for `export_tflite`.
    """
    shapes = model.state_shapes(raw_audio) if raw_audio else model.state_shapes()
    data = "audio" if raw_audio else "features"
    samples = {name: [] for name in [data, *shapes]}

    def record(inputs):
        for name, value in inputs.items():
            samples[name].append(np.asarray(value)[0])
        out = step(inputs, training=False)
        return {k: keras.ops.convert_to_numpy(v) for k, v in out.items()}

    if raw_audio:
        frame_step = model.get_layer("features").frame_step
        transcriber = StreamingTranscriber(
            KerasStepper(step, ["audio"], record=record), tokens=None, frame_step=frame_step)
        for waveform in waveforms:
            transcriber.feed(waveform)
            transcriber.reset()
    else:
        for waveform in waveforms:
            step_through(record, utterance_features(model, waveform), shapes, chunk_frames)
    count = len(samples[data])
    if not count:
        raise ValueError("representative_data is too short to fill one step of the model")
    pick = np.linspace(0, count - 1, min(count, max_samples)).round().astype(int)
    return {name: np.stack(values)[pick] for name, values in samples.items()}


def export_streaming_tflite(
    model, path, representative_data, chunk_frames=8, mode="float32", max_calibration=64,
    raw_audio=False, tokens=None,
):
    """Exports the streaming step model of `model` as a builtin-ops `.tflite`.

    Args:
        model: a trained `AdversarialAcousticModel` (adversarial or baseline).
        path: the `.tflite` path (written atomically).
        representative_data: a few utterances (1-D float waveforms at the model's rate) whose
            features, stepped through the model chunk by chunk, calibrate the int8 ranges of
            the chunks and of the states they arrive with.
        chunk_frames: feature frames per step (a multiple of the conv stride product).
        mode: an `export_tflite` mode; "int8" is full integer with float32 I/O, calibrated on
            `representative_data` (which every mode takes, so one call serves both).
        max_calibration: at most this many calibration steps, spread over the utterances.
        raw_audio: export the raw-audio step model (`step_model(raw_audio=True)`: audio
            chunks of `chunk_frames * frame_step` samples in, front end inside) that
            `StreamingTranscriber` runs; the model's features must be causal. Also writes
            `<path without .tflite>.json` beside it: what the decoder needs besides the file
            (`tokens`, `frame_step`, `output_delay`), read by
            `StreamingTranscriber.from_export(path)`.
        tokens: the vocabulary's tokens, for that JSON (None: the decoder gives only
            log-probabilities).

    Returns:
        The `ExportReport` of `export_tflite`.
    """
    if not len(representative_data):
        raise ValueError("representative_data must hold at least one utterance")
    step = model.step_model(chunk_frames, raw_audio=raw_audio)
    data = calibration_steps(
        model, step, representative_data, chunk_frames, max_calibration, raw_audio=raw_audio)
    report = export_tflite(step, path, mode=mode, representative_data=data, builtin_only=True)
    if raw_audio:
        decoder = {
            "tokens": None if tokens is None else list(tokens),
            "frame_step": int(model.get_layer("features").frame_step),
            "output_delay": int(getattr(model, "output_delay", 0)),
        }
        atomic.write_text(decoder_config_path(path), json.dumps(decoder, indent=1) + "\n")
    return report


def stream_tflite(path, features):
    """Runs a step `.tflite` over one utterance's features in the LiteRT interpreter.

    Args:
        path: a `.tflite` from `export_streaming_tflite`.
        features: `(frames, num_mel_bins)` normalized log-mel frames (`utterance_features`).

    Returns:
        `(frames_out, num_classes)` CTC log-probabilities for every streamed chunk.
    """
    runner = LiteRTRunner(path)
    chunk_frames = runner.input_shape("features")[0]
    state_shapes = {name: runner.input_shape(name) for name in runner.input_names
                    if name != "features"}
    return step_through(runner, np.asarray(features), state_shapes, chunk_frames)


def export_transcriber(model, vocabulary, base_dir, name, version=None):
    """Writes a TF Serving SavedModel: padded waveforms and their lengths -> transcripts.

    The `serving_default` signature (inputs `waveform`, `waveform_length`; outputs
    `transcript`, `logits`, `frame_length`) is described in this module's docstring.

    Args:
        model: a trained `AdversarialAcousticModel` (any backend; rebuilt on TensorFlow in a
            child process when needed).
        vocabulary: the `tfmodels.data.speech.Vocabulary` the model was trained with.
        base_dir: TF Serving base directory.
        name: the model name (sub-directory of `base_dir`).
        version: positive integer; None = next free version. Never overwrites.

    Returns:
        The version directory path.
    """
    if model.output["logits"].shape[-1] != vocabulary.num_classes:
        raise ValueError(
            f"model has {model.output['logits'].shape[-1]} output classes, the vocabulary "
            f"{vocabulary.num_classes} (tokens + blank)"
        )
    tokens = list(vocabulary.tokens)
    separator = " " if vocabulary.unit == "word" else ""

    def write(directory):
        if keras.backend.backend() == "tensorflow":
            write_transcriber(model, directory, tokens, separator)
        else:
            saved_model.run_on_tensorflow(
                model, write_transcriber, directory=directory, tokens=tokens, separator=separator
            )

    return saved_model.publish_version(base_dir, name, version, write)


def write_transcriber(model, directory, tokens, separator=" "):
    """Writes the transcriber SavedModel to `directory` (TensorFlow backend)."""
    import tensorflow as tf

    table = tf.constant([""] + list(tokens))
    def transcribe(waveform, waveform_length):
        shape = tf.shape(waveform, out_type=tf.int32)
        # A bad length is a client bug: fail the request rather than clip it silently.
        checks = [
            tf.debugging.assert_equal(
                tf.size(waveform_length), shape[0],
                message="waveform_length must hold one length per waveform row"),
            tf.debugging.assert_non_negative(
                waveform_length, message="waveform_length must be >= 0"),
            tf.debugging.assert_less_equal(
                waveform_length, shape[1],
                message="waveform_length must not exceed the waveform's samples"),
        ]
        with tf.control_dependencies(checks):
            lengths = tf.identity(waveform_length)
        out = model({"waveform": waveform, "waveform_length": lengths}, training=False)
        logits, frames = out["logits"], tf.cast(out["frame_length"], tf.int32)
        best = tf.argmax(logits, axis=-1, output_type=tf.int32)
        valid = tf.sequence_mask(frames, tf.shape(best)[1])
        previous = tf.pad(best[:, :-1], [[0, 0], [1, 0]])
        # Greedy CTC: keep a frame's label if it is not blank and differs from the frame before.
        keep = valid & (best > 0) & tf.not_equal(best, previous)
        ids = tf.ragged.boolean_mask(best, keep)
        words = tf.gather(table, ids)
        return {
            "transcript": tf.strings.reduce_join(words, axis=-1, separator=separator),
            "logits": logits,
            "frame_length": frames,
        }

    saved_model.write_saved_model(
        model, directory, transcribe,
        input_specs=[("waveform", (None, None), "float32"), ("waveform_length", (None,), "int32")],
    )
