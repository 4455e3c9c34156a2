"""The numpy-only streaming decoder: CTC collapse, prefix beam search, chunking of the stream."""

import itertools

import numpy as np
import pytest

from tfmodels.export.streaming_transcriber import (
    StreamingTranscriber,
    greedy_collapse,
    prefix_beam_search,
)


def test_greedy_collapse_continues_a_stream():
    assert greedy_collapse([0, 3, 3, 0, 3, 5, 5, 0]) == [3, 3, 5]
    # A piece that starts with the previous piece's last label does not repeat it.
    assert greedy_collapse([3, 3, 0, 2], previous=3) == [2]
    assert greedy_collapse([3, 0], previous=0) == [3]


def brute_force_best(log_probs):
    """The labeling with the largest summed probability over every alignment."""
    totals = {}
    for path in itertools.product(range(log_probs.shape[1]), repeat=log_probs.shape[0]):
        label = tuple(greedy_collapse(path))
        p = np.exp(sum(log_probs[t, c] for t, c in enumerate(path)))
        totals[label] = totals.get(label, 0.0) + p
    return list(max(totals, key=totals.get))


@pytest.mark.parametrize("seed", range(6))
def test_prefix_beam_search_finds_the_most_probable_labeling(seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(5, 3)) * 2.0
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    # A beam as wide as every prefix is exact.
    assert prefix_beam_search(log_probs, beam_width=64) == brute_force_best(log_probs)


def test_prefix_beam_search_sums_alignments_where_greedy_does_not():
    # Best path: blank, blank (0.36); but "1" collects 0.64 over three alignments.
    log_probs = np.log(np.array([[0.6, 0.4], [0.6, 0.4]]))
    assert greedy_collapse(log_probs.argmax(-1)) == []
    assert prefix_beam_search(log_probs) == [1]
    with pytest.raises(ValueError, match="beam_width"):
        prefix_beam_search(log_probs, beam_width=0)


class FakeStepper:
    """A step model in numpy: 4 frames of 10 samples per chunk, stride 2 (2 outputs).

    Output frame `u`'s class is 1 + (the sum of the samples it covers, buffer included) % 3,
    so the stream is decoded from what reached the model, and every chunk is recorded.
    """

    def __init__(self):
        self.chunks = []
        self.reset()

    def input_shape(self, name):
        return {"audio": (40,), "audio_buffer": (15,)}[name]

    def reset(self):
        self.states = {"audio_buffer": np.zeros((1, 15), np.float32)}

    def step(self, inputs):
        audio = np.asarray(inputs["audio"])[0]
        self.chunks.append((self.states["audio_buffer"][0].copy(), audio.copy()))
        self.states = {"audio_buffer": np.concatenate([self.states["audio_buffer"][0],
                                                       audio])[None, -15:]}
        ids = [1 + int(audio[:20].sum()) % 3, 1 + int(audio[20:].sum()) % 3]
        log_probs = np.full((1, 2, 4), -10.0, np.float32)
        log_probs[0, [0, 1], ids] = 0.0
        return {"log_probs": log_probs}


@pytest.mark.parametrize("piece", [1, 7, 40, 1000])
def test_chunking_primes_buffers_and_pads_the_end(piece):
    wave = np.arange(1, 138, dtype=np.float32)  # 137 samples -> 13 frames -> 7 outputs
    stepper = FakeStepper()
    transcriber = StreamingTranscriber(stepper, ["a", "b", "c"], frame_step=10, separator="")
    for start in range(0, len(wave), piece):
        transcriber.feed(wave[start : start + piece])
    text = transcriber.finish()
    # The first 15 samples prime the buffer; chunks follow back to back, the last zero-padded.
    stream = np.concatenate([wave, np.zeros(200, np.float32)])
    buffer, chunk = stepper.chunks[0]
    np.testing.assert_array_equal(buffer, wave[:15])
    for i, (_, chunk) in enumerate(stepper.chunks):
        np.testing.assert_array_equal(chunk, stream[15 + 40 * i : 55 + 40 * i])
    # 7 output frames need 4 chunks; the 8th output frame (padding only) is dropped.
    assert len(stepper.chunks) == 4
    ids = [1 + int(stream[15 + 20 * u : 35 + 20 * u].sum()) % 3 for u in range(7)]
    assert text == "".join("abc"[i - 1] for i in greedy_collapse(ids))
    # finish() resets: the next utterance starts primed from its own samples.
    assert transcriber.transcribe(wave[:60], piece) is not None
    np.testing.assert_array_equal(stepper.chunks[4][0], wave[:15])


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="beam_width"):
        StreamingTranscriber(FakeStepper(), ["a"], frame_step=10, beam_width=0)
    with pytest.raises(ValueError, match="frame_step"):
        StreamingTranscriber(FakeStepper(), ["a"], frame_step=16)
    with pytest.raises(FileNotFoundError):
        StreamingTranscriber(str(tmp_path / "missing.tflite"), ["a"])
    transcriber = StreamingTranscriber(FakeStepper(), ["a", "b"], frame_step=10)
    with pytest.raises(ValueError, match="classes"):
        transcriber.feed(np.zeros(100, np.float32))


def test_from_export_needs_the_decoder_json_beside_the_file(tmp_path):
    path = tmp_path / "asr_stream.tflite"
    path.write_bytes(b"")
    with pytest.raises(FileNotFoundError, match="asr_stream.json not found"):
        StreamingTranscriber.from_export(path)
    (tmp_path / "asr_stream.json").write_text('{"tokens": ["a"], "frame_step": 160}')
    with pytest.raises(ValueError, match="missing \\['output_delay'\\]"):
        StreamingTranscriber.from_export(path)
    (tmp_path / "asr_stream.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        StreamingTranscriber.from_export(path)
