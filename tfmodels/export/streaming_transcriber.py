"""Raw audio in, text out, on the device: a streaming `.tflite` and a numpy-only CTC decoder.

`StreamingTranscriber` drives the raw-audio step `.tflite` that
`tfmodels.export.asr.export_streaming_tflite(..., raw_audio=True)` writes (input `audio`,
a fixed chunk of 16 kHz samples, plus its state: `audio_buffer`, the causal normalization's
`norm_mean`/`norm_variance`, the encoder's buffers and LSTM states; output `log_probs`, the
CTC log-probabilities of the output frames the chunk completes, plus the new state) through
`LiteRTStepper`. The caller feeds audio in pieces of any size; the transcriber buffers them,
invokes the file once per complete chunk, and decodes the stream (greedy CTC collapse as it
goes; optionally a prefix beam search at the end). It imports numpy only (and LiteRT when it
loads a file): no Keras, no TensorFlow.

The stream reproduces the offline model (`LogMelFeatures(normalization="causal")`): an
utterance's first `frame_length - frame_step` samples prime `audio_buffer`, every later chunk
completes `chunk_frames` feature frames, and `finish` pads the last chunk with zeros and keeps
the output frames of the utterance's `samples // frame_step` feature frames, as the offline
model counts them.

Example:
    >>> transcriber = StreamingTranscriber("export/asr_stream.tflite", tokens)  # doctest: +SKIP
    >>> for piece in pieces:  # doctest: +SKIP
    ...     partial = transcriber.feed(piece)
    >>> text = transcriber.finish()  # doctest: +SKIP
"""

import json
import os
import time

import numpy as np

from tfmodels.export.runtime import LiteRTRunner, LiteRTStepper

BLANK = 0


def greedy_collapse(frame_ids, previous=BLANK):
    """Best-path CTC: drop repeats of the previous frame's id, then blanks (id 0).

    Args:
        frame_ids: per-frame argmax ids.
        previous: the id of the frame before `frame_ids` (to continue a stream).

    Example:
    >>> greedy_collapse([0, 3, 3, 0, 3, 5, 5, 0])
    [3, 3, 5]
    """
    out = []
    for i in np.asarray(frame_ids).reshape(-1).tolist():
        if i != previous and i != BLANK:
            out.append(int(i))
        previous = i
    return out


def prefix_beam_search(log_probs, beam_width=8):
    """CTC prefix beam search: the labeling with the highest probability summed over alignments.

    Args:
        log_probs: `(frames, classes)` log-probabilities (id 0 = blank).
        beam_width: prefixes kept per frame.

    Returns:
        The best label-id list.

    Example:
    >>> lp = np.log(np.array([[0.6, 0.4], [0.6, 0.4]]))
    >>> prefix_beam_search(lp)  # "a" (0.48) beats the blank path (0.36)
    [1]
    """
    if isinstance(beam_width, bool) or not isinstance(beam_width, int) or beam_width < 1:
        raise ValueError(f"beam_width must be a positive integer, got {beam_width!r}")
    log_probs = np.asarray(log_probs, np.float64)
    # prefix -> (log P(prefix, ends in blank), log P(prefix, ends in its last label))
    beams = {(): (0.0, -np.inf)}
    for frame in log_probs:
        following = {}

        def add(prefix, blank, label):
            b, n = following.get(prefix, (-np.inf, -np.inf))
            following[prefix] = (np.logaddexp(b, blank), np.logaddexp(n, label))

        for prefix, (b, n) in beams.items():
            total = np.logaddexp(b, n)
            add(prefix, total + frame[BLANK], -np.inf)
            for c in range(1, frame.shape[0]):
                if prefix and prefix[-1] == c:
                    # A repeat needs a blank in between; without one it extends the same label.
                    add(prefix, -np.inf, n + frame[c])
                    add(prefix + (c,), -np.inf, b + frame[c])
                else:
                    add(prefix + (c,), -np.inf, total + frame[c])
        ranked = sorted(following.items(), key=lambda kv: -np.logaddexp(*kv[1]))
        beams = dict(ranked[:beam_width])
    best = max(beams.items(), key=lambda kv: np.logaddexp(*kv[1]))[0]
    return list(best)


class StreamingTranscriber:
    """Streams raw audio through a raw-audio step `.tflite` and decodes it to text.

    Args:
        model: the `.tflite` path, a `LiteRTRunner`, or any stepper with `step(inputs)`,
            `reset()`, a `states` dict and `input_shape(name)` (e.g. a Keras step model
            wrapped for calibration).
        tokens: the vocabulary's tokens; id `i` (>= 1) is `tokens[i - 1]` (None: no text,
            only `log_probs`).
        frame_step: hop of the model's feature frames in samples (`LogMelFeatures`).
        separator: joins tokens ("" for characters).
        beam_width: None = greedy decoding; an integer = prefix beam search in `finish`.
        num_threads: LiteRT interpreter threads when `model` is a path.
        output_delay: the model's `output_delay` (output frames of look-ahead): the first
            that many output frames of an utterance are dropped, and `finish` steps that many
            frames of silence past the end so the last words come out.

    Attributes:
        log_probs: `(frames, classes)` log-probabilities streamed so far.
        invoke_seconds: wall time of each invoke so far.
        final_log_probs, final_invoke_seconds: those of the utterance `finish` completed
            (its `samples // frame_step` feature frames' outputs).
    """

    def __init__(self, model, tokens, frame_step=160, separator=" ", beam_width=None,
                 num_threads=None, output_delay=0):
        if isinstance(model, str) or hasattr(model, "__fspath__"):
            model = LiteRTRunner(model, num_threads=num_threads)
        if isinstance(model, LiteRTRunner):
            runner = model
            for name in ("audio", "audio_buffer"):
                if name not in runner.input_details:
                    raise ValueError(
                        f"{runner.path} is not a raw-audio step model (no input {name!r}; "
                        f"inputs {runner.input_names}); export it with raw_audio=True"
                    )
            model = LiteRTStepper(runner, ["audio"])
            shape_of = runner.input_shape
        else:
            shape_of = model.input_shape
        if beam_width is not None and (
            isinstance(beam_width, bool) or not isinstance(beam_width, int) or beam_width < 1
        ):
            raise ValueError(f"beam_width must be None or a positive integer, got {beam_width!r}")
        if isinstance(output_delay, bool) or not isinstance(output_delay, int) or (
            output_delay < 0
        ):
            raise ValueError(f"output_delay must be an integer >= 0, got {output_delay!r}")
        self.output_delay = output_delay
        self.stepper = model
        self.tokens = None if tokens is None else list(tokens)
        self.frame_step = int(frame_step)
        self.separator = separator
        self.beam_width = beam_width
        self.chunk_samples = int(shape_of("audio")[0])
        self.overlap = int(shape_of("audio_buffer")[0])
        if self.chunk_samples % self.frame_step:
            raise ValueError(
                f"the model's chunk of {self.chunk_samples} samples is not a whole number of "
                f"frame_step={self.frame_step} hops"
            )
        self.chunk_frames = self.chunk_samples // self.frame_step
        self.reset()

    @classmethod
    def from_export(cls, path, **kwargs):
        """A transcriber for a raw-audio `.tflite` that `export_streaming_tflite` (or
        `tfmodels-train --task=asr`) wrote, configured from the JSON beside it (tokens,
        frame_step, output_delay); `kwargs` are the other arguments (beam_width, ...).

        Example:
            >>> transcriber = StreamingTranscriber.from_export("export/asr_stream.tflite")  # doctest: +SKIP
            >>> transcriber.transcribe(waveform)  # doctest: +SKIP
        """
        config_path = decoder_config_path(path)
        try:
            with open(config_path, encoding="utf-8") as f:
                config = json.load(f)
        except FileNotFoundError:
            raise FileNotFoundError(
                f"{config_path} not found: the decoder settings written beside {path} by "
                "export_streaming_tflite(raw_audio=True); pass tokens, frame_step and "
                "output_delay to StreamingTranscriber(...) instead"
            ) from None
        except ValueError as err:
            raise ValueError(f"{config_path}: not valid JSON ({err})") from None
        missing = {"tokens", "frame_step", "output_delay"} - set(config)
        if missing:
            raise ValueError(f"{config_path}: missing {sorted(missing)}")
        return cls(path, config["tokens"], frame_step=config["frame_step"],
                   output_delay=config["output_delay"], **kwargs)

    def reset(self):
        """Starts a new utterance."""
        self.stepper.reset()
        self._pending = np.zeros(0, np.float32)
        self._primed = False
        self.samples = 0
        self.invoke_seconds = []
        self._pieces = []
        self._skip = self.output_delay
        self._ids = []
        self._previous = BLANK

    @property
    def log_probs(self):
        if not self._pieces:
            return np.zeros((0, 0), np.float32)
        return np.concatenate(self._pieces, axis=0)

    def feed(self, audio):
        """Adds samples (any count) and returns the greedy transcript so far."""
        audio = np.asarray(audio, np.float32).reshape(-1)
        self.samples += audio.shape[0]
        self._pending = np.concatenate([self._pending, audio])
        self._run_complete_chunks()
        return self.text(self._ids)

    def finish(self):
        """Completes the utterance (zero-padding its last chunk) and returns its transcript.

        The transcriber is then reset for the next utterance.
        """
        frames = self.samples // self.frame_step
        while True:
            done = sum(p.shape[0] for p in self._pieces)
            if self._pieces:
                stride = self.chunk_frames // self._pieces[0].shape[0]
                if done >= -(-frames // stride) + self.output_delay:
                    break
            need = (0 if self._primed else self.overlap) + self.chunk_samples
            self._pending = np.pad(self._pending, (0, max(0, need - self._pending.shape[0])))
            self._run_complete_chunks()
        log_probs = self.log_probs[self.output_delay : self.output_delay + -(-frames // stride)]
        if self.beam_width:
            ids = prefix_beam_search(log_probs, self.beam_width)
        else:
            ids = greedy_collapse(log_probs.argmax(-1)) if len(log_probs) else []
        text = self.text(ids)
        self.final_log_probs = log_probs
        self.final_invoke_seconds = self.invoke_seconds
        self.reset()
        return text

    def transcribe(self, waveform, chunk_samples=None):
        """One utterance fed in pieces of `chunk_samples` (None = at once); returns the text."""
        self.reset()
        waveform = np.asarray(waveform, np.float32).reshape(-1)
        step = chunk_samples or max(1, waveform.shape[0])
        for start in range(0, waveform.shape[0], step):
            self.feed(waveform[start : start + step])
        return self.finish()

    def text(self, ids):
        """The tokens of label `ids` joined by `separator`."""
        if self.tokens is None:
            return ""
        return self.separator.join(self.tokens[i - 1] for i in ids)

    def _run_complete_chunks(self):
        if not self._primed:
            if self._pending.shape[0] < self.overlap:
                return
            # The utterance's first samples fill the window overlap of frame 0 (see module doc).
            self.stepper.states["audio_buffer"] = self._pending[None, : self.overlap]
            self._pending = self._pending[self.overlap :]
            self._primed = True
        while self._pending.shape[0] >= self.chunk_samples:
            chunk = self._pending[: self.chunk_samples]
            self._pending = self._pending[self.chunk_samples :]
            start = time.perf_counter()
            out = self.stepper.step({"audio": chunk[None]})
            self.invoke_seconds.append(time.perf_counter() - start)
            log_probs = np.asarray(out["log_probs"], np.float32)[0]
            if self.tokens is not None and log_probs.shape[-1] != len(self.tokens) + 1:
                raise ValueError(
                    f"the model has {log_probs.shape[-1]} classes, tokens {len(self.tokens)} "
                    "(+ blank)"
                )
            self._pieces.append(log_probs)
            ids = log_probs[self._skip :].argmax(-1)
            self._skip = max(0, self._skip - log_probs.shape[0])
            self._ids += greedy_collapse(ids, self._previous)
            if ids.shape[0]:
                self._previous = int(ids[-1])


def decoder_config_path(tflite_path):
    """The JSON beside a raw-audio `.tflite` that holds its decoder settings."""
    root, ext = os.path.splitext(os.fspath(tflite_path))
    return (root if ext == ".tflite" else os.fspath(tflite_path)) + ".json"
