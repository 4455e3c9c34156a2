"""Synthetic noise types and SNR-controlled mixing for the generated speech corpus.

Aurora-4's recorded noises (airport, babble, car, restaurant, street, train) cannot be
downloaded, so `tfmodels.data.speech.generate` corrupts its speech with noises synthesized
here instead. Each type has its own spectral and temporal signature, so that a model trained
on some types can be tested on acoustically different, held-out ones (Serdyuk et al.,
"Invariant Representations for Noisy Speech Recognition", arXiv:1612.01928, Section 4).

SNR convention: `snr_db = 10 log10(P_speech / P_noise)`, where `P_speech` is the mean power of
the speech over its *active* 20 ms frames (those within 30 dB of the loudest frame, a simple
stand-in for the ITU-T P.56 active speech level that Aurora-2 used) and `P_noise` is the mean
power of the noise over the whole utterance. Leading and trailing silence therefore does not
dilute the speech level.

Example:
    rng = np.random.default_rng(0)
    speech = np.sin(np.linspace(0, 2000, 16000))
    mixture = corrupt(speech, "pink", snr_db=10.0, rng=rng)
    mixture.noisy.shape  # (16000,)
"""

from typing import NamedTuple, Sequence

import numpy as np
from scipy import signal

NOISE_TYPES = (
    "white",
    "pink",
    "brown",
    "babble",
    "engine",
    "street",
    "clicks",
    "telephone",
    "factory",
    "music",
)
"""Every synthesized noise type, in the order the corpus generator numbers them."""

_FRAME_SECONDS = 0.02
_ACTIVE_THRESHOLD_DB = 30.0
# ITU-T G.712 telephone pass band.
_TELEPHONE_BAND_HZ = (300.0, 3400.0)


class Mixture(NamedTuple):
    """A corrupted utterance: `noisy == speech + noise` sample for sample.

    `speech` is the clean speech after any channel (the telephone type band-limits it), so
    the SNR is measured between the two parts a listener actually hears.
    """

    noisy: np.ndarray
    speech: np.ndarray
    noise: np.ndarray


def active_power(x, sample_rate=16000, threshold_db=_ACTIVE_THRESHOLD_DB):
    """Mean power of `x` over its active frames (within `threshold_db` of the loudest).

    Args:
        x: 1-D signal.
        sample_rate: samples per second; frames are 20 ms long.
        threshold_db: frames more than this far below the loudest frame count as silence.

    Returns:
        A float; 0.0 for an all-zero signal.
    """
    x = np.asarray(x, dtype=np.float64)
    frame = max(1, int(round(_FRAME_SECONDS * sample_rate)))
    num_frames = max(1, len(x) // frame)
    frames = np.zeros(num_frames * frame)
    frames[: min(len(x), num_frames * frame)] = x[: num_frames * frame]
    power = np.mean(frames.reshape(num_frames, frame) ** 2, axis=1)
    peak = power.max()
    if peak <= 0.0:
        return 0.0
    return float(power[power >= peak * 10.0 ** (-threshold_db / 10.0)].mean())


def mix_at_snr(speech, noise, snr_db, sample_rate=16000):
    """Scales `noise` so that the active-speech SNR is `snr_db`, and adds it to `speech`.

    Args:
        speech: 1-D clean signal, shape `(n,)`.
        noise: 1-D noise of the same length.
        snr_db: target SNR in dB (see the module docstring for the convention).
        sample_rate: samples per second of both signals.

    Returns:
        A `Mixture(noisy, speech, scaled_noise)`, each of shape `(n,)`, float64.
    """
    speech = np.asarray(speech, dtype=np.float64)
    noise = np.asarray(noise, dtype=np.float64)
    if speech.shape != noise.shape or speech.ndim != 1:
        raise ValueError(
            f"speech and noise must be 1-D of equal length, got {speech.shape} and {noise.shape}"
        )
    speech_power = active_power(speech, sample_rate)
    noise_power = float(np.mean(noise**2))
    if speech_power <= 0.0:
        raise ValueError("speech is all zeros: its SNR is undefined")
    if noise_power <= 0.0:
        raise ValueError("noise is all zeros: it cannot be scaled to an SNR")
    gain = np.sqrt(speech_power / (noise_power * 10.0 ** (snr_db / 10.0)))
    scaled = noise * gain
    return Mixture(speech + scaled, speech, scaled)


def colored_noise(num_samples, rng, exponent, sample_rate=16000, low_hz=20.0):
    """Gaussian noise with power spectral density proportional to `1 / f**exponent`.

    `exponent=0` is white, 1 pink, 2 brown. Frequencies below `low_hz` are removed so that
    brown noise does not drift.
    """
    spectrum = np.fft.rfft(rng.standard_normal(num_samples))
    freqs = np.fft.rfftfreq(num_samples, 1.0 / sample_rate)
    shape = np.zeros_like(freqs)
    keep = freqs >= low_hz
    shape[keep] = freqs[keep] ** (-exponent / 2.0)
    return np.fft.irfft(spectrum * shape, n=num_samples)


def _bandpass(x, low_hz, high_hz, sample_rate, order=4):
    sos = signal.butter(order, [low_hz, high_hz], btype="bandpass", fs=sample_rate, output="sos")
    return signal.sosfilt(sos, x)


def _lowpass(x, cutoff_hz, sample_rate, order=4):
    sos = signal.butter(order, cutoff_hz, btype="lowpass", fs=sample_rate, output="sos")
    return signal.sosfilt(sos, x)


def _unit_rms(x):
    rms = np.sqrt(np.mean(x**2))
    return x / rms if rms > 0 else x


def babble_noise(num_samples, rng, pool, sample_rate=16000):
    """Several overlapping talkers: 5-8 utterances from `pool`, looped and offset at random."""
    if len(pool) == 0:
        raise ValueError("babble noise needs a non-empty pool of speech utterances")
    num_talkers = int(rng.integers(5, 9))
    out = np.zeros(num_samples)
    for index in rng.choice(len(pool), size=num_talkers, replace=num_talkers > len(pool)):
        talker = np.asarray(pool[index], dtype=np.float64)
        looped = np.tile(talker, num_samples // len(talker) + 2)
        start = int(rng.integers(0, len(talker)))
        level = active_power(talker, sample_rate)
        out += looped[start : start + num_samples] / np.sqrt(max(level, 1e-12))
    return out


def engine_noise(num_samples, rng, sample_rate=16000):
    """A car-like engine: a low harmonic hum whose speed drifts, over a low-passed rumble."""
    t = np.arange(num_samples) / sample_rate
    base = rng.uniform(22.0, 45.0)
    drift = 1.0 + 0.08 * np.sin(2 * np.pi * rng.uniform(0.1, 0.5) * t + rng.uniform(0, 2 * np.pi))
    phase = 2 * np.pi * np.cumsum(base * drift) / sample_rate
    hum = sum(np.sin(h * phase + rng.uniform(0, 2 * np.pi)) / h for h in range(1, 16))
    rumble = _lowpass(rng.standard_normal(num_samples), 300.0, sample_rate)
    return _unit_rms(hum) + 0.7 * _unit_rms(rumble)


def street_noise(num_samples, rng, sample_rate=16000):
    """Street traffic: a pink background with passing-vehicle swells and occasional horns."""
    duration = num_samples / sample_rate
    t = np.arange(num_samples) / sample_rate
    out = 0.5 * _unit_rms(colored_noise(num_samples, rng, 1.0, sample_rate))
    swoosh = _unit_rms(_lowpass(colored_noise(num_samples, rng, 1.0, sample_rate), 2000.0,
                                sample_rate))
    for _ in range(int(rng.poisson(1.0 * duration)) + 1):
        center, width = rng.uniform(0, duration), rng.uniform(0.3, 1.2)
        out += rng.uniform(0.8, 2.5) * swoosh * np.exp(-0.5 * ((t - center) / width) ** 2)
    for _ in range(int(rng.poisson(0.3 * duration))):
        start, length = rng.uniform(0, duration), rng.uniform(0.15, 0.5)
        on = (t >= start) & (t < start + length)
        pitch = rng.uniform(300.0, 500.0)
        horn = sum(np.sin(2 * np.pi * h * pitch * t) / h for h in range(1, 6))
        out += rng.uniform(1.0, 3.0) * horn * on
    return out


def click_noise(num_samples, rng, sample_rate=16000):
    """Impulsive noise: short decaying bursts at random times over a faint hiss."""
    out = 0.03 * rng.standard_normal(num_samples)
    rate = rng.uniform(3.0, 10.0)
    num_clicks = int(rng.poisson(rate * num_samples / sample_rate)) + 1
    for start in rng.integers(0, num_samples, size=num_clicks):
        length = int(rng.uniform(0.001, 0.01) * sample_rate) + 1
        end = min(num_samples, start + length)
        decay = np.exp(-np.arange(end - start) / (0.2 * length + 1))
        # Heavy-tailed amplitudes: a few loud cracks among many soft ticks.
        amplitude = min(rng.pareto(1.5) + 0.5, 10.0)
        out[start:end] += amplitude * decay * rng.standard_normal(end - start)
    return out


def telephone_noise(num_samples, rng, sample_rate=16000):
    """Line noise of a telephone channel: band-limited hiss plus mains hum."""
    t = np.arange(num_samples) / sample_rate
    mains = rng.choice([50.0, 60.0])
    hum = sum(np.sin(2 * np.pi * h * mains * t + rng.uniform(0, 2 * np.pi)) / h
              for h in (1, 3, 5))
    hiss = _bandpass(rng.standard_normal(num_samples), *_TELEPHONE_BAND_HZ, sample_rate)
    return _unit_rms(hiss) + 0.5 * _unit_rms(hum)


def factory_noise(num_samples, rng, sample_rate=16000):
    """Machinery: periodic ringing hammer impacts, a tonal whine and a pink floor."""
    t = np.arange(num_samples) / sample_rate
    period = rng.uniform(0.25, 0.9)
    whine_hz = rng.uniform(700.0, 2000.0)
    out = 0.5 * _unit_rms(colored_noise(num_samples, rng, 1.0, sample_rate))
    out += 0.3 * sum(np.sin(2 * np.pi * h * whine_hz * t) / h for h in (1, 2, 3))
    ring_t = np.arange(int(0.25 * sample_rate)) / sample_rate
    ring = sum(
        np.sin(2 * np.pi * rng.uniform(500.0, 4000.0) * ring_t)
        * np.exp(-ring_t / rng.uniform(0.02, 0.08))
        for _ in range(3)
    )
    hit = rng.uniform(0.0, period)
    while hit * sample_rate < num_samples:
        start = int(hit * sample_rate)
        end = min(num_samples, start + len(ring))
        out[start:end] += rng.uniform(2.0, 5.0) * ring[: end - start]
        hit += period * rng.uniform(0.9, 1.1)
    return out


def music_noise(num_samples, rng, sample_rate=16000):
    """Background music: triad chords with harmonics and a bass line, changing on the beat."""
    beat = int(60.0 / rng.uniform(80.0, 160.0) * sample_rate)
    out = np.zeros(num_samples)
    root = int(rng.integers(48, 66))
    for start in range(0, num_samples, beat):
        end = min(num_samples, start + beat)
        t = np.arange(end - start) / sample_rate
        envelope = np.minimum(1.0, t / 0.01) * np.exp(-t / rng.uniform(0.2, 0.6))
        chord_root = root + int(rng.choice([0, 5, 7, 9]))
        third = 3 if rng.random() < 0.5 else 4
        for midi in (chord_root - 12, chord_root, chord_root + third, chord_root + 7):
            freq = 440.0 * 2.0 ** ((midi - 69) / 12.0)
            for h in range(1, 5):
                if h * freq < sample_rate / 2:
                    out[start:end] += envelope * np.sin(2 * np.pi * h * freq * t) / h**1.5
    return out


def recorded_noise(num_samples, rng, recording):
    """A random excerpt of a noise recording (looped when shorter than `num_samples`)."""
    recording = np.asarray(recording, dtype=np.float64)
    if recording.ndim != 1 or not np.any(recording):
        raise ValueError("a noise recording must be a 1-D signal that is not all zeros")
    looped = np.tile(recording, num_samples // len(recording) + 2)
    start = int(rng.integers(0, len(recording)))
    return looped[start : start + num_samples]


def synthesize_noise(noise_type, num_samples, rng, sample_rate=16000, babble_pool=(),
                     recordings=None):
    """Draws `num_samples` of the noise `noise_type` (one of `NOISE_TYPES`, or a recording).

    Args:
        noise_type: name from `NOISE_TYPES`, or a key of `recordings`.
        num_samples: output length.
        rng: a `numpy.random.Generator`; the same generator state gives the same noise.
        sample_rate: samples per second.
        babble_pool: speech utterances (1-D arrays) that `"babble"` overlaps.
        recordings: `{name: 1-D array at sample_rate}` of recorded noises (Speech Commands'
            `_background_noise_` files, Aurora's car or airport recordings); a recording of
            the same name as a synthesized type replaces it.

    Returns:
        float64 array of shape `(num_samples,)`, unit RMS.
    """
    if recordings and noise_type in recordings:
        noise = recorded_noise(num_samples, rng, recordings[noise_type])
    elif noise_type == "white":
        noise = rng.standard_normal(num_samples)
    elif noise_type == "pink":
        noise = colored_noise(num_samples, rng, 1.0, sample_rate)
    elif noise_type == "brown":
        noise = colored_noise(num_samples, rng, 2.0, sample_rate)
    elif noise_type == "babble":
        noise = babble_noise(num_samples, rng, babble_pool, sample_rate)
    elif noise_type == "engine":
        noise = engine_noise(num_samples, rng, sample_rate)
    elif noise_type == "street":
        noise = street_noise(num_samples, rng, sample_rate)
    elif noise_type == "clicks":
        noise = click_noise(num_samples, rng, sample_rate)
    elif noise_type == "telephone":
        noise = telephone_noise(num_samples, rng, sample_rate)
    elif noise_type == "factory":
        noise = factory_noise(num_samples, rng, sample_rate)
    elif noise_type == "music":
        noise = music_noise(num_samples, rng, sample_rate)
    else:
        known = NOISE_TYPES + tuple(recordings or ())
        raise ValueError(f"noise_type must be one of {known}, got {noise_type!r}")
    return _unit_rms(np.asarray(noise, dtype=np.float64))


def corrupt(speech, noise_type, snr_db, rng, sample_rate=16000,
            babble_pool: Sequence[np.ndarray] = (), recordings=None):
    """Corrupts clean `speech` with `noise_type` at `snr_db`.

    The `"telephone"` type is a channel as well as a noise: the speech is band-limited to
    300-3400 Hz before the line noise is added, and the SNR is taken against that filtered
    speech.

    Args:
        speech: 1-D clean signal.
        noise_type: name from `NOISE_TYPES`.
        snr_db: target SNR in dB (active speech power over mean noise power).
        rng: a `numpy.random.Generator`.
        sample_rate: samples per second.
        babble_pool: speech utterances for `"babble"`.
        recordings: recorded noises by name (see `synthesize_noise`).

    Returns:
        A `Mixture(noisy, speech, noise)` with `noisy == speech + noise`.

    Example:
        mixture = corrupt(speech, "babble", 5.0, np.random.default_rng(0), babble_pool=pool)
    """
    speech = np.asarray(speech, dtype=np.float64)
    if noise_type == "telephone":
        speech = _bandpass(speech, *_TELEPHONE_BAND_HZ, sample_rate)
    noise = synthesize_noise(noise_type, len(speech), rng, sample_rate, babble_pool, recordings)
    return mix_at_snr(speech, noise, snr_db, sample_rate)


def add_noise(speech, noise_type, snr_db, rng, sample_rate=16000, babble_pool=(),
              recordings=None, peak=0.99):
    """Mixes `noise_type` into clean `speech` at `snr_db` and returns what a microphone hears.

    The public way to corrupt a corpus: `corrupt` plus the generator's clipping guard (speech
    and noise are scaled together when the mixture's peak exceeds `peak`, which keeps the SNR).
    An all-silent utterance has no SNR; it is returned unchanged.

    Args:
        speech: 1-D clean signal at `sample_rate`.
        noise_type: one of `NOISE_TYPES`, or a key of `recordings`.
        snr_db: target SNR in dB (see the module docstring).
        rng: a `numpy.random.Generator`.
        sample_rate: samples per second.
        babble_pool: speech utterances for `"babble"` (other utterances of the same split,
            so that test babble never carries training speakers).
        recordings: recorded noises by name (see `synthesize_noise`).
        peak: largest absolute sample allowed in the result.

    Returns:
        A float32 array of the same length as `speech`.

    Example:
        noisy = add_noise(speech, "street", 10.0, np.random.default_rng(0))
    """
    speech = np.asarray(speech, dtype=np.float64)
    if active_power(speech, sample_rate) <= 0.0:
        return speech.astype(np.float32)
    noisy = corrupt(speech, noise_type, snr_db, rng, sample_rate, babble_pool, recordings).noisy
    top = np.max(np.abs(noisy))
    if top > peak:
        noisy = noisy * (peak / top)
    return noisy.astype(np.float32)


class NoiseMixer:
    """Corrupts clean utterances on the fly, reproducibly: the noise a corpus lacks.

    A corpus of clean recordings (a Kaldi data directory, Speech Commands) has no noisy copies
    for the seen/unseen-noise experiment; the ASR input pipeline calls a mixer per example
    instead of reading noisy files. The noise of an example is a function of `seed` and the
    integer `key` it is called with (the pipeline passes the example's index, plus a fresh
    random draw per epoch for training data).

    Args:
        snrs_db: SNRs an example without its own SNR is drawn from.
        seed: the mixing seed.
        sample_rate: samples per second.
        babble_pool: clean utterances `"babble"` overlaps.
        recordings: recorded noises by name (see `synthesize_noise`).

    Example:
        mixer = NoiseMixer(snrs_db=(0, 5, 10), seed=0)
        noisy = mixer(speech, "white", None, key=(3,))  # an SNR drawn from snrs_db
    """

    def __init__(self, snrs_db=(0, 5, 10, 15, 20), seed=0, sample_rate=16000, babble_pool=(),
                 recordings=None):
        self.snrs_db = tuple(float(s) for s in snrs_db)
        if not self.snrs_db:
            raise ValueError("snrs_db must list at least one SNR")
        self.seed = int(seed)
        self.sample_rate = int(sample_rate)
        self.babble_pool = [np.asarray(p, np.float64) for p in babble_pool]
        self.recordings = dict(recordings or {})

    @property
    def noise_types(self):
        """Every type the mixer can add: the synthesized ones and the recordings."""
        return tuple(dict.fromkeys(NOISE_TYPES + tuple(self.recordings)))

    def __call__(self, speech, noise_type, snr_db=None, key=(0,)):
        rng = np.random.default_rng([self.seed, *(int(k) % 2**63 for k in key)])
        if snr_db is None or not np.isfinite(snr_db):
            snr_db = self.snrs_db[int(rng.integers(len(self.snrs_db)))]
        return add_noise(speech, noise_type, float(snr_db), rng, self.sample_rate,
                         self.babble_pool, self.recordings)
