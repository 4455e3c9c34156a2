import numpy as np
import pytest

from tfmodels.data import augment

RATE = 16000


def _tone(freq, seconds=1.0, amplitude=0.5):
    t = np.arange(int(seconds * RATE)) / RATE
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _peak_hz(audio):
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    return np.argmax(spectrum) * RATE / len(audio)


def _band_power_db(audio, low, high):
    spectrum = np.abs(np.fft.rfft(audio)) ** 2
    freqs = np.fft.rfftfreq(len(audio), 1 / RATE)
    return 10 * np.log10(spectrum[(freqs >= low) & (freqs < high)].sum() + 1e-20)


def _rms(audio):
    return float(np.sqrt(np.mean(np.asarray(audio, np.float64) ** 2)))


@pytest.mark.parametrize("factor", [0.9, 1.1])
def test_speed_perturb_changes_length_and_pitch_by_the_factor(factor):
    audio = _tone(500.0)
    out = augment.speed_perturb(audio, factor)
    assert len(out) == round(len(audio) / factor)
    assert abs(_peak_hz(out) - 500.0 * factor) <= 2.0
    np.testing.assert_array_equal(augment.speed_perturb(audio, 1.0), audio)


@pytest.mark.parametrize("alpha", [0.9, 1.1])
def test_vtlp_moves_harmonics_by_alpha_and_keeps_length_and_level(alpha):
    audio = _tone(500.0) + _tone(1200.0, amplitude=0.3)
    out = augment.vtlp(audio, alpha)
    assert len(out) == len(audio)
    assert abs(_peak_hz(out) - 500.0 * alpha) <= 3.0
    # The second partial moved too, and the old frequencies are gone.
    assert _band_power_db(out, 1200 * alpha - 20, 1200 * alpha + 20) > \
        _band_power_db(out, 1180, 1220) + 20
    assert 0.7 < _rms(out) / _rms(audio) < 1.3


def test_vtlp_warp_is_monotonic_and_keeps_the_band_edges():
    freqs = np.linspace(0, RATE / 2, 200)
    for alpha in (0.8, 0.9, 1.1, 1.2):
        warped = augment.vtlp_warp(freqs, alpha, RATE)
        assert np.all(np.diff(warped) > 0)
        assert warped[0] == 0.0 and abs(warped[-1] - RATE / 2) < 1e-6
        np.testing.assert_allclose(augment.vtlp_warp(1000.0, alpha, RATE), 1000.0 * alpha)


def _rt60_from_response(response):
    """Schroeder backward integration; T20 extrapolated to 60 dB, the usual estimate."""
    energy = np.cumsum(response[1:][::-1] ** 2)[::-1]
    decay_db = 10 * np.log10(energy / energy[0])
    start, end = np.argmax(decay_db < -5), np.argmax(decay_db < -25)
    return 3.0 * (end - start) / RATE


@pytest.mark.parametrize("rt60", [0.2, 0.5, 0.9])
def test_room_impulse_response_decays_with_the_asked_rt60(rt60):
    response = augment.room_impulse_response(rt60, np.random.default_rng(0), RATE)
    assert response[0] == 1.0 and len(response) == int(1.2 * rt60 * RATE)
    assert abs(_rt60_from_response(response) - rt60) < 0.15 * rt60


def test_reverberate_spreads_energy_in_time_and_is_seeded():
    click = np.zeros(RATE, np.float32)
    click[1000] = 0.5
    wet = augment.reverberate(click, 0.5, np.random.default_rng(1), RATE,
                              direct_to_reverb_db=0.0)
    assert len(wet) == len(click)
    assert abs(_rms(wet) - _rms(click)) < 1e-6
    # Half the energy is in the tail (direct-to-reverberant ratio 0 dB), spread over time.
    tail = wet[1001:].astype(np.float64) ** 2
    assert 0.4 < tail.sum() / (wet.astype(np.float64) ** 2).sum() < 0.6
    # After 0.1 s the tail keeps 10 ** (-6 * 0.1 / RT60) of its energy (60 dB per RT60).
    expected = 10 ** (-6 * 0.1 / 0.5)
    assert 0.7 * expected < tail[int(0.1 * RATE):].sum() / tail.sum() < 1.4 * expected
    again = augment.reverberate(click, 0.5, np.random.default_rng(1), RATE,
                                direct_to_reverb_db=0.0)
    other = augment.reverberate(click, 0.5, np.random.default_rng(2), RATE,
                                direct_to_reverb_db=0.0)
    np.testing.assert_array_equal(wet, again)
    assert not np.array_equal(wet, other)


def test_band_limit_removes_energy_outside_the_telephone_band():
    out_high = augment.band_limit(_tone(5000.0), RATE, 300.0, 3400.0)
    out_low = augment.band_limit(_tone(100.0), RATE, 300.0, 3400.0)
    out_mid = augment.band_limit(_tone(1000.0), RATE, 300.0, 3400.0)
    assert _rms(out_high) < 0.01 * _rms(_tone(5000.0))
    assert _rms(out_low) < 0.05 * _rms(_tone(100.0))
    assert abs(_rms(out_mid) / _rms(_tone(1000.0)) - 1.0) < 0.05
    noise = np.random.default_rng(0).standard_normal(RATE).astype(np.float32) * 0.1
    filtered = augment.band_limit(noise, RATE)
    # Order 10: -3 dB at 3.4 kHz, below -40 dB from 4.5 kHz on.
    assert _band_power_db(filtered, 4500, 8000) < _band_power_db(noise, 4500, 8000) - 40
    assert _band_power_db(filtered, 0, 150) < _band_power_db(noise, 0, 150) - 30


def test_resample_roundtrip_removes_what_8k_audio_cannot_hold():
    noise = np.random.default_rng(0).standard_normal(RATE).astype(np.float32) * 0.1
    out = augment.resample_roundtrip(noise, RATE, 8000)
    assert len(out) == len(noise)
    # 8 kHz audio holds nothing above 4 kHz; the anti-aliasing filter's transition ends by 4.5.
    assert _band_power_db(out, 4500, 8000) < _band_power_db(noise, 4500, 8000) - 40
    assert abs(_band_power_db(out, 300, 3000) - _band_power_db(noise, 300, 3000)) < 0.5


@pytest.mark.parametrize("gain_db", [-12.0, -3.0, 4.0])
def test_gain_scales_rms(gain_db):
    audio = _tone(440.0, amplitude=0.1)
    out = augment.apply_gain(audio, gain_db)
    assert abs(20 * np.log10(_rms(out) / _rms(audio)) - gain_db) < 0.01


def test_augmenter_is_seeded_and_changes_the_audio():
    audio = np.random.default_rng(3).standard_normal(8000).astype(np.float32) * 0.05

    def run(seed):
        augmenter = augment.WaveformAugmenter(seed=seed)
        return [augmenter(audio) for _ in range(6)]

    first, again, other = run(0), run(0), run(1)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert any(len(a) != len(b) or not np.array_equal(a, b) for a, b in zip(first, other))
    assert any(len(a) != len(audio) or not np.allclose(a, audio) for a in first)
    assert all(a.dtype == np.float32 and np.abs(a).max() <= 1.0 for a in first)


@pytest.mark.parametrize("call, pattern", [
    (lambda: augment.speed_perturb(np.zeros(100), 3.0), "factor"),
    (lambda: augment.vtlp(np.zeros(100), 0.5), "alpha"),
    (lambda: augment.room_impulse_response(-1.0, np.random.default_rng(0)), "rt60"),
    (lambda: augment.band_limit(np.zeros(100), RATE, 300.0, 9000.0), "high_hz"),
    (lambda: augment.resample_roundtrip(np.zeros(100), RATE, 16000), "low_rate"),
    (lambda: augment.apply_gain(np.zeros((2, 2)), 1.0), "1-D"),
    (lambda: augment.WaveformAugmenter(vtlp_prob=2.0), "vtlp_prob"),
    (lambda: augment.WaveformAugmenter(rt60_range=(0.8, 0.2)), "rt60_range"),
])
def test_rejects_bad_arguments(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()
