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


# Mixing into a corpus (the public path for clean corpora)


def test_add_noise_reaches_the_snr_and_guards_clipping():
    rng = np.random.default_rng(0)
    speech = 0.3 * np.sin(np.linspace(0, 900, 16000))
    noisy = noise.add_noise(speech, "pink", 10.0, rng)
    assert noisy.dtype == np.float32 and noisy.shape == speech.shape
    residual = noisy - speech
    snr = 10 * np.log10(noise.active_power(speech) / np.mean(residual.astype(np.float64) ** 2))
    assert snr == pytest.approx(10.0, abs=0.05)
    loud = noise.add_noise(0.99 * np.sign(speech), "white", -5.0, rng)
    assert np.max(np.abs(loud)) == pytest.approx(0.99, abs=1e-6)
    silent = noise.add_noise(np.zeros(100), "white", 0.0, rng)
    assert not silent.any()


def test_recorded_noise_is_an_excerpt_of_the_recording():
    recording = np.sin(np.arange(1000) * 0.37)
    excerpt = noise.recorded_noise(2500, np.random.default_rng(1), recording)
    start = int(np.argmin([np.abs(np.roll(recording, -k)[:50] - excerpt[:50]).max()
                           for k in range(1000)]))
    np.testing.assert_allclose(excerpt, np.tile(recording, 4)[start:start + 2500], atol=1e-12)
    mixed = noise.synthesize_noise("tap", 300, np.random.default_rng(0),
                                   recordings={"tap": recording})
    assert np.sqrt(np.mean(mixed**2)) == pytest.approx(1.0)
    with pytest.raises(ValueError, match=r"'car'"):
        noise.synthesize_noise("car", 10, np.random.default_rng(0), recordings={"tap": recording})


def test_noise_mixer_is_a_function_of_seed_and_key():
    speech = 0.3 * np.sin(np.linspace(0, 900, 4000))
    mixer = noise.NoiseMixer(snrs_db=(0, 20), seed=3, babble_pool=[speech[::-1]],
                             recordings={"hum": np.sin(np.arange(800) * 0.1)})
    a = mixer(speech, "white", None, key=(1,))
    np.testing.assert_array_equal(a, mixer(speech, "white", None, key=(1,)))
    assert not np.array_equal(a, mixer(speech, "white", None, key=(2,)))
    assert not np.array_equal(a, noise.NoiseMixer((0, 20), seed=4)(speech, "white", None, (1,)))
    fixed = mixer(speech, "hum", 20.0, key=(5,)) - speech
    snr = 10 * np.log10(noise.active_power(speech) / np.mean(fixed.astype(np.float64) ** 2))
    assert snr == pytest.approx(20.0, abs=0.05)
    drawn = {round(10 * np.log10(noise.active_power(speech) / np.mean(
        (mixer(speech, "babble", None, key=(k,)) - speech).astype(np.float64) ** 2)))
        for k in range(12)}
    assert drawn == {0, 20}
    assert "hum" in mixer.noise_types and "white" in mixer.noise_types
