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


def recurrence(features, mean, variance, decay):
    """`causal_normalize` as the frame-by-frame loop it stands for (float64 numpy)."""
    m, v = np.array(mean, np.float64), np.array(variance, np.float64)
    out = []
    for x in np.asarray(features, np.float64):
        m = decay * m + (1 - decay) * x
        v = decay * v + (1 - decay) * (x - m) ** 2
        out.append((x - m) / np.sqrt(v + 1e-5))
    return np.array(out), m, v


def test_causal_normalize_is_the_recurrence_and_chains():
    from tfmodels.models.asr.features import causal_normalize

    rng = np.random.default_rng(3)
    features = rng.normal(2.0, 3.0, size=(2, 23, 5)).astype(np.float32)
    mean = rng.normal(size=(2, 5)).astype(np.float32)
    variance = rng.uniform(0.5, 2.0, size=(2, 5)).astype(np.float32)
    decay = float(np.exp(-1 / 7.0))
    out, last_mean, last_var = (
        keras.ops.convert_to_numpy(v)
        for v in causal_normalize(features, mean, variance, decay, return_state=True)
    )
    for b in range(2):
        want, m, v = recurrence(features[b], mean[b], variance[b], decay)
        np.testing.assert_allclose(out[b], want, atol=1e-4)
        np.testing.assert_allclose(last_mean[b], m, atol=1e-4)
        np.testing.assert_allclose(last_var[b], v, rtol=1e-4)
    # Chunks of 4, 11 and 8 frames, each started from the previous chunk's statistics.
    pieces, state = [], (mean, variance)
    for start, stop in ((0, 4), (4, 15), (15, 23)):
        y, m, v = causal_normalize(features[:, start:stop], *state, decay, return_state=True)
        pieces.append(keras.ops.convert_to_numpy(y))
        state = (m, v)
    np.testing.assert_allclose(np.concatenate(pieces, 1), out, atol=1e-4)
    # A constant input pulls the running mean to it geometrically: x - m_t = a^(t+1)(x - m_0).
    constant = np.full((1, 6, 1), 4.0, np.float32)
    y = keras.ops.convert_to_numpy(causal_normalize(constant, [1.0], [1.0], 0.5))[0, :, 0]
    m = 4.0 - 3.0 * 0.5 ** np.arange(1, 7)
    v = np.zeros(6)
    previous = 1.0
    for t in range(6):
        v[t] = previous = 0.5 * previous + 0.5 * (4.0 - m[t]) ** 2
    np.testing.assert_allclose(y, (4.0 - m) / np.sqrt(v + 1e-5), rtol=1e-4)


def speech_like(rng, n):
    t = np.arange(n) / 16000
    return (0.2 * np.sin(2 * np.pi * 300 * t * (1 + t)) + 0.02 * rng.normal(size=n)).astype(
        np.float32
    )


@pytest.fixture(scope="module")
def adapted():
    """`{normalization: layer adapted on three utterances}` and the utterances."""
    rng = np.random.default_rng(4)
    waves = [speech_like(rng, n) for n in (3000, 4100, 2500)]
    layers = {}
    for kind in ("global", "causal"):
        layer = LogMelFeatures(num_mel_bins=12, normalization=kind, time_constant=20)
        layer.adapt(waves, batch_size=2)
        layers[kind] = layer
    return layers, waves


def test_adapt_takes_the_statistics_of_valid_frames(adapted):
    layers, waves = adapted
    raw = LogMelFeatures(num_mel_bins=12, normalization="none")
    frames = np.concatenate(
        [keras.ops.convert_to_numpy(raw(w[None]))[0] for w in waves]).astype(np.float64)
    for layer in layers.values():
        np.testing.assert_allclose(keras.ops.convert_to_numpy(layer.mean), frames.mean(0),
                                   rtol=1e-4)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(layer.variance), frames.var(0),
                                   rtol=1e-3)
    # Other spellings of the same data give the same statistics: a padded array with
    # lengths (garbage padding), and batches of dicts as the speech datasets yield them.
    width = max(map(len, waves))
    array = np.full((3, width), 9.0, np.float32)
    for i, w in enumerate(waves):
        array[i, : len(w)] = w
    lengths = np.array([len(w) for w in waves])
    for data, kwargs in (
        (array, {"lengths": lengths}),
        ([{"waveform": array[:2], "waveform_length": lengths[:2]},
          ({"waveform": array[2:], "waveform_length": lengths[2:]}, None)], {}),
    ):
        other = LogMelFeatures(num_mel_bins=12, normalization="global")
        other.adapt(data, **kwargs)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(other.mean),
                                   frames.mean(0), rtol=1e-4)


def test_global_and_causal_match_numpy(adapted):
    layers, waves = adapted
    raw = keras.ops.convert_to_numpy(
        LogMelFeatures(num_mel_bins=12, normalization="none")(waves[1][None]))[0]
    mean = keras.ops.convert_to_numpy(layers["global"].mean)
    variance = keras.ops.convert_to_numpy(layers["global"].variance)
    out = keras.ops.convert_to_numpy(layers["global"](waves[1][None]))[0]
    np.testing.assert_allclose(out, (raw - mean) / np.sqrt(variance + 1e-5), atol=1e-4)
    out = keras.ops.convert_to_numpy(layers["causal"](waves[1][None]))[0]
    want, _, _ = recurrence(raw, mean, variance, np.exp(-1 / 20))
    np.testing.assert_allclose(out, want, atol=1e-3)
    # Running statistics are not the utterance's: the causal output differs from both others.
    utterance = keras.ops.convert_to_numpy(LogMelFeatures(num_mel_bins=12)(waves[1][None]))[0]
    assert np.abs(out - utterance).max() > 0.1


@pytest.mark.parametrize("kind", ["global", "causal"])
def test_changing_future_samples_never_changes_past_frames(adapted, kind):
    layer = adapted[0][kind]
    wave = adapted[1][1]
    changed = wave.copy()
    cut = 2345
    changed[cut:] = np.random.default_rng(5).normal(size=len(wave) - cut) * 3.0
    a = keras.ops.convert_to_numpy(layer(wave[None]))[0]
    b = keras.ops.convert_to_numpy(layer(changed[None]))[0]
    # Frame t ends at sample t * 160 + 400: frames ending at or before the cut are settled.
    settled = (cut - 400) // 160 + 1
    np.testing.assert_allclose(a[:settled], b[:settled], atol=1e-6)
    assert np.abs(a[settled + 1:] - b[settled + 1:]).max() > 0.1
    # The utterance normalization is not causal: the same change moves every frame.
    utterance = LogMelFeatures(num_mel_bins=12)
    a = keras.ops.convert_to_numpy(utterance(wave[None]))[0]
    b = keras.ops.convert_to_numpy(utterance(changed[None]))[0]
    assert np.abs(a[:settled] - b[:settled]).max() > 0.01


@pytest.mark.parametrize("kind", ["global", "causal"])
def test_lengths_with_running_statistics(adapted, kind):
    layer = adapted[0][kind]
    waves = adapted[1]
    lengths = np.array([len(w) for w in waves], np.int32)
    batch = np.full((3, lengths.max() + 300), 4.0, np.float32)
    for i, w in enumerate(waves):
        batch[i, : len(w)] = w
    out = keras.ops.convert_to_numpy(layer(batch, lengths=lengths))
    for i, w in enumerate(waves):
        frames = len(w) // 160
        alone = keras.ops.convert_to_numpy(layer(w[None]))[0]
        np.testing.assert_allclose(out[i, :frames], alone, atol=1e-5)
        np.testing.assert_array_equal(out[i, frames:], 0.0)


def test_normalization_arguments():
    assert LogMelFeatures().normalization == "utterance"
    assert LogMelFeatures(normalize=False).normalization == "none"
    assert LogMelFeatures(normalize=True).normalization == "utterance"
    assert not LogMelFeatures(normalization="none").normalize
    with pytest.raises(ValueError, match="normalize"):
        LogMelFeatures(normalize=False, normalization="causal")
    with pytest.raises(ValueError, match="normalization"):
        LogMelFeatures(normalization="batch")
    with pytest.raises(ValueError, match="time_constant"):
        LogMelFeatures(normalization="causal", time_constant=0)
    with pytest.raises(ValueError, match="adapt needs"):
        LogMelFeatures().adapt(np.zeros((1, 1600), np.float32))
    with pytest.raises(ValueError, match="no complete frame"):
        LogMelFeatures(normalization="global").adapt(np.zeros((2, 1600), np.float32),
                                                      lengths=[100, 150])
    # Configs written before `normalization` existed still load.
    old = LogMelFeatures(num_mel_bins=8).get_config()
    del old["normalization"]
    old["normalize"] = False
    assert LogMelFeatures.from_config(old).normalization == "none"


@pytest.mark.parametrize("kind", ["global", "causal"])
def test_keras_round_trip_keeps_adapted_statistics(kind, tmp_path):
    rng = np.random.default_rng(6)
    data = rng.normal(size=(3, 1600)).astype(np.float32) * 0.3

    def factory():
        layer = LogMelFeatures(num_mel_bins=8, normalization=kind, time_constant=5)
        layer.adapt(data)
        return layer

    model = testing_utils.check_layer(factory, (2, 960), tmp_path, atol=1e-4)
    path = str(tmp_path / "again.keras")
    model.save(path)
    loaded = keras.saving.load_model(path).layers[-1]
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded.mean),
                               keras.ops.convert_to_numpy(factory().mean), rtol=1e-6)
    # Far from the zero initial mean: the statistics are the adapted ones, not a fresh build.
    assert np.abs(keras.ops.convert_to_numpy(loaded.mean)).min() > 1.0
    assert loaded.normalization == kind and loaded.time_constant == 5.0


def stream_features(front, wave):
    """Steps `front` over `wave` as a device does: primed buffer, whole chunks, zero tail."""
    states = {n: np.zeros((1,) + s, np.float32) for n, s in front.state_shapes().items()}
    states["audio_buffer"] = wave[None, : front.overlap]
    frames = len(wave) // front.frame_step
    rest = wave[front.overlap :]
    need = frames * front.frame_step + front.frame_length - front.frame_step - front.overlap
    rest = np.pad(rest, (0, -(-need // front.chunk_samples) * front.chunk_samples - len(rest)))
    pieces = []
    for start in range(0, len(rest), front.chunk_samples):
        y, states = front(rest[None, start : start + front.chunk_samples], states)
        states = {k: keras.ops.convert_to_numpy(v) for k, v in states.items()}
        pieces.append(keras.ops.convert_to_numpy(y)[0])
    return np.concatenate(pieces)[:frames], states


@pytest.mark.parametrize("kind", ["none", "global", "causal"])
@pytest.mark.parametrize("chunk_frames", [1, 3, 8])
def test_streaming_front_end_gives_the_offline_frames(adapted, kind, chunk_frames):
    from tfmodels.models.asr.features import StreamingLogMelFeatures

    layers, waves = adapted
    layer = layers.get(kind) or LogMelFeatures(num_mel_bins=12, normalization="none")
    front = StreamingLogMelFeatures.from_features(layer, chunk_frames)
    assert front.chunk_samples == 160 * chunk_frames and front.overlap == 240
    wave = waves[1]
    offline = keras.ops.convert_to_numpy(layer(wave[None]))[0]
    streamed, states = stream_features(front, wave)
    # A DFT by matmul, not the FFT: equal up to float rounding.
    np.testing.assert_allclose(streamed, offline, atol=1e-3)
    assert sorted(states) == sorted(front.state_shapes())
    if kind == "causal":
        # The state is the running statistics minus the global ones: it has moved.
        assert np.abs(states["norm_mean"]).max() > 0.1


def test_streaming_front_end_arguments_and_config():
    from tfmodels.models.asr.features import StreamingLogMelFeatures

    with pytest.raises(ValueError, match="utterance"):
        StreamingLogMelFeatures(4)
    with pytest.raises(ValueError, match="mean and variance"):
        StreamingLogMelFeatures(4, normalization="causal")
    with pytest.raises(ValueError, match="values"):
        StreamingLogMelFeatures(4, num_mel_bins=8, normalization="global", mean=[0.0] * 7,
                                variance=[1.0] * 8)
    with pytest.raises(ValueError, match="chunk_frames"):
        StreamingLogMelFeatures(0, normalization="none")
    front = StreamingLogMelFeatures(2, num_mel_bins=8, normalization="causal",
                                    mean=np.arange(8.0), variance=np.ones(8), time_constant=9)
    clone = StreamingLogMelFeatures.from_config(front.get_config())
    assert clone.get_config() == front.get_config()
    np.testing.assert_array_equal(clone.mean_values, np.arange(8.0))
    assert clone.state_shapes() == {"audio_buffer": (240,), "norm_mean": (8,),
                                    "norm_variance": (8,)}


@pytest.mark.parametrize("normalization", ["utterance", "global", "causal", "none"])
def test_mixed_precision_returns_the_compute_dtype_and_float32_values(normalization):
    waveform = np.random.default_rng(0).normal(size=(2, 3200)).astype("float32")
    layers = [LogMelFeatures(num_mel_bins=8, normalization=normalization, dtype=dtype)
              for dtype in ("mixed_float16", "float32")]
    outputs = []
    for layer in layers:
        if normalization in ("global", "causal"):
            layer.adapt(waveform)
        outputs.append(layer(waveform))
    assert keras.backend.standardize_dtype(outputs[0].dtype) == "float16"
    # The statistics stay float32 (never autocast); only the result is rounded to float16.
    assert layers[0].weights == [] or all(w.dtype == "float32" for w in layers[0].weights)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(outputs[0]).astype("float32"),
                               keras.ops.convert_to_numpy(outputs[1]), atol=5e-3, rtol=2e-3)


# Keras's layer harness (#9), with the mixed-precision training check of testing_utils.
@pytest.mark.parametrize("normalization", [
    testing_utils.on_tensorflow_only("none"), testing_utils.on_tensorflow_only("global"),
    "causal"])
def test_keras_layer_conformance_with_mixed_precision(normalization):
    testing_utils.run_layer_test(
        LogMelFeatures, dict(num_mel_bins=8, normalization=normalization),
        input_shape=(2, 960), expected_output_shape=(2, 6, 8))
