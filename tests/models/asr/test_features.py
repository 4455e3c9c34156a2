"""LogMelFeatures against a numpy reference, on every backend."""

import keras
import numpy as np
import pytest

from tests import testing_utils
from tfmodels.models.asr.features import LogMelFeatures, mel_filterbank

pytestmark = pytest.mark.multibackend


def reference(waveform, length, layer):
    """Framing, Hann window, rfft, mel pooling, log and masked normalization in plain numpy."""
    x = np.concatenate([waveform[:length], np.zeros(layer.frame_length, np.float64)])
    frames = length // layer.frame_step
    n = np.arange(layer.frame_length)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * n / layer.frame_length)
    rows = []
    for t in range(frames):
        segment = x[t * layer.frame_step : t * layer.frame_step + layer.frame_length] * window
        power = np.abs(np.fft.rfft(segment, layer.fft_length)) ** 2
        rows.append(np.log(power @ mel_filterbank(layer.num_mel_bins, layer.fft_length,
                                                  layer.sample_rate, layer.lower_hz,
                                                  layer.upper_hz) + layer.log_floor))
    feats = np.array(rows)
    return (feats - feats.mean(0)) / np.sqrt(feats.var(0) + 1e-5)


def test_filterbank_triangles():
    filters = mel_filterbank(8, 256, 8000, 0.0, 4000.0)
    assert filters.shape == (129, 8)
    assert filters.min() >= 0.0 and filters.max() <= 1.0
    peaks = filters.argmax(0)
    assert np.all(np.diff(peaks) > 0)
    # Each bin is covered by at most two neighbouring triangles.
    assert np.all((filters > 0).sum(1) <= 2)


def test_matches_numpy_reference_with_padding():
    rng = np.random.default_rng(0)
    layer = LogMelFeatures(num_mel_bins=16, frame_length=200, frame_step=80, fft_length=256)
    lengths = np.array([1600, 1123], np.int32)
    waveform = np.zeros((2, 1600), np.float32)
    t = np.arange(1600) / 16000
    waveform[0] = 0.1 * np.sin(2 * np.pi * 440 * t) + 0.01 * rng.normal(size=1600)
    waveform[1, :1123] = 0.05 * rng.normal(size=1123)
    # Padding holds garbage that must not leak into the second utterance's features.
    waveform[1, 1123:] = 5.0
    out = keras.ops.convert_to_numpy(layer(waveform, lengths=lengths))
    assert out.shape == (2, 20, 16)
    for i, length in enumerate(lengths):
        want = reference(waveform[i].astype(np.float64), length, layer)
        frames = length // layer.frame_step
        np.testing.assert_allclose(out[i, :frames], want, atol=2e-3)
        np.testing.assert_array_equal(out[i, frames:], 0.0)


def test_normalized_statistics_per_utterance():
    rng = np.random.default_rng(1)
    layer = LogMelFeatures(num_mel_bins=10)
    waveform = rng.normal(size=(3, 4000)).astype(np.float32) * np.array([[1.0], [0.1], [3.0]],
                                                                        np.float32)
    lengths = np.array([4000, 3200, 2400])
    out = keras.ops.convert_to_numpy(layer(waveform, lengths=lengths))
    for i, length in enumerate(lengths):
        valid = out[i, : length // 160]
        np.testing.assert_allclose(valid.mean(0), 0.0, atol=1e-4)
        np.testing.assert_allclose(valid.std(0), 1.0, atol=1e-2)
    # A gain change is a constant shift in log-mel, which normalization removes.
    loud = keras.ops.convert_to_numpy(layer(waveform[:1] * 10.0))
    np.testing.assert_allclose(loud, out[:1], atol=1e-3)


@pytest.mark.parametrize("pad", [1, 160, 2417])
def test_padded_batch_matches_each_utterance_alone(pad):
    """Every row of a padded batch gets, over its valid frames, its features computed alone."""
    rng = np.random.default_rng(2)
    layer = LogMelFeatures(num_mel_bins=16)
    waves = [(0.1 * rng.normal(size=n)).astype(np.float32) for n in (2345, 4000, 999)]
    lengths = np.array([len(w) for w in waves], np.int32)
    samples = lengths.max() + pad
    batch = np.zeros((len(waves), samples), np.float32)
    for i, wave in enumerate(waves):
        batch[i, : len(wave)] = wave
    # Garbage padding on one row, zeros on the others: neither may matter.
    batch[2, lengths[2]:] = 3.0 * rng.normal(size=samples - lengths[2])
    out = keras.ops.convert_to_numpy(layer(batch, lengths=lengths))
    assert out.shape == (3, samples // 160, 16)
    for i, wave in enumerate(waves):
        alone = keras.ops.convert_to_numpy(layer(wave[None]))[0]
        frames = len(wave) // 160
        assert alone.shape == (frames, 16)
        np.testing.assert_allclose(out[i, :frames], alone, atol=1e-5)
        np.testing.assert_array_equal(out[i, frames:], 0.0)
    # Without lengths the zero padding is audio and shifts the statistics: the case above
    # is not trivially equal.
    as_audio = keras.ops.convert_to_numpy(layer(batch[:1]))[0, : lengths[0] // 160]
    assert np.abs(as_audio - out[0, : lengths[0] // 160]).max() > 0.1


def test_bad_arguments():
    with pytest.raises(ValueError, match="frame_step"):
        LogMelFeatures(frame_length=100, frame_step=200)
    with pytest.raises(ValueError, match="fft_length"):
        LogMelFeatures(frame_length=400, fft_length=256)
    with pytest.raises(ValueError, match="upper_hz"):
        LogMelFeatures(upper_hz=9000.0)


def test_layer_checks(tmp_path):
    testing_utils.check_layer(
        lambda: LogMelFeatures(num_mel_bins=8, normalize=False), (2, 960), tmp_path, atol=1e-4
    )
