import numpy as np
import pytest

from tfmodels.data import noise

RATE = 16000


def _speech(num_samples=32000, seed=0):
    """A speech stand-in: harmonic bursts separated by silence, plus leading silence."""
    rng = np.random.default_rng(seed)
    t = np.arange(num_samples) / RATE
    voiced = sum(np.sin(2 * np.pi * h * 140.0 * t) / h for h in range(1, 8))
    gate = (np.sin(2 * np.pi * 3.0 * t) > 0.2) & (t > 0.3)
    return 0.05 * voiced * gate + 1e-4 * rng.standard_normal(num_samples)


POOL = [_speech(20000, seed=s) for s in range(3)]


def _band_power(x, low, high):
    power = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1.0 / RATE)
    return power[(freqs >= low) & (freqs < high)].sum()


@pytest.mark.parametrize("noise_type", noise.NOISE_TYPES)
def test_noise_is_unit_rms_and_deterministic(noise_type):
    a = noise.synthesize_noise(noise_type, 24000, np.random.default_rng(3), babble_pool=POOL)
    b = noise.synthesize_noise(noise_type, 24000, np.random.default_rng(3), babble_pool=POOL)
    c = noise.synthesize_noise(noise_type, 24000, np.random.default_rng(4), babble_pool=POOL)
    assert a.shape == (24000,) and np.all(np.isfinite(a))
    assert np.sqrt(np.mean(a**2)) == pytest.approx(1.0)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


@pytest.mark.parametrize("noise_type", noise.NOISE_TYPES)
@pytest.mark.parametrize("snr_db", [0.0, 15.0])
def test_corrupt_hits_the_snr(noise_type, snr_db):
    mixture = noise.corrupt(_speech(), noise_type, snr_db, np.random.default_rng(0),
                            babble_pool=POOL)
    np.testing.assert_allclose(mixture.noisy, mixture.speech + mixture.noise)
    measured = 10 * np.log10(noise.active_power(mixture.speech) / np.mean(mixture.noise**2))
    assert measured == pytest.approx(snr_db, abs=1e-9)


def test_active_power_ignores_silence():
    tone = 0.1 * np.sin(2 * np.pi * 250.0 * np.arange(6400) / RATE)  # 20 whole frames
    padded = np.concatenate([np.zeros(3200), tone, np.zeros(6400)])
    assert noise.active_power(padded) == pytest.approx(np.mean(tone**2))
    # The whole-signal mean is diluted by the silence (16000 samples for 6400 of tone).
    assert np.mean(padded**2) == pytest.approx(np.mean(tone**2) * 6400 / 16000)
    assert noise.active_power(np.zeros(100)) == 0.0


def test_spectral_signatures_differ():
    rng = np.random.default_rng(0)
    n = 64000
    white, pink, brown = (noise.synthesize_noise(t, n, rng) for t in ("white", "pink", "brown"))
    # Per-hertz density: flat for white, 1/f for pink, 1/f^2 for brown; compare 200-400 Hz
    # with 3200-6400 Hz (16x the frequency, same width ratio).
    ratios = [_band_power(x, 200, 400) / (_band_power(x, 3200, 6400) / 16) for x in
              (white, pink, brown)]
    assert ratios[0] == pytest.approx(1.0, rel=0.3)
    assert ratios[1] == pytest.approx(16.0, rel=0.3)
    assert ratios[2] == pytest.approx(256.0, rel=0.3)
    engine = noise.synthesize_noise("engine", n, rng)
    assert _band_power(engine, 0, 300) > 0.8 * _band_power(engine, 0, RATE / 2)
    clicks = noise.synthesize_noise("clicks", n, rng)
    kurtosis = np.mean(clicks**4) / np.mean(clicks**2) ** 2
    assert kurtosis > 20.0  # Gaussian noise has 3
    telephone = noise.synthesize_noise("telephone", n, rng)
    assert _band_power(telephone, 4000, RATE / 2) < 0.01 * _band_power(telephone, 0, RATE / 2)


def test_telephone_band_limits_the_speech():
    speech = np.random.default_rng(1).standard_normal(32000)
    mixture = noise.corrupt(speech, "telephone", 10.0, np.random.default_rng(0))
    total = _band_power(mixture.speech, 0, RATE / 2)
    assert _band_power(mixture.speech, 4500, RATE / 2) < 0.01 * total
    assert _band_power(mixture.speech, 0, 150) < 0.01 * total
    assert _band_power(speech, 4500, RATE / 2) > 0.3 * _band_power(speech, 0, RATE / 2)


def test_bad_arguments():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="noise_type must be one of"):
        noise.synthesize_noise("rain", 100, rng)
    with pytest.raises(ValueError, match="babble noise needs"):
        noise.synthesize_noise("babble", 100, rng)
    with pytest.raises(ValueError, match="equal length"):
        noise.mix_at_snr(np.ones(10), np.ones(11), 5.0)
    with pytest.raises(ValueError, match="all zeros"):
        noise.mix_at_snr(np.zeros(10), np.ones(10), 5.0)
