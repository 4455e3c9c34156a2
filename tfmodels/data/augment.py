"""Waveform augmentation for ASR training: speed, VTLP, reverberation, band-limiting, gain.

The standard recipe that makes a recognizer trained on few voices hear more of them:
speed perturbation (Ko et al., Interspeech 2015: resampling by 0.9/1.0/1.1), vocal-tract
length perturbation (Jaitly & Hinton, ICML 2013 workshop: a piecewise-linear warp of the
frequency axis), simulated room reverberation (an exponentially decaying noise impulse
response with the asked RT60), telephone band-limiting (300-3400 Hz) and 8 kHz audio
resampled back up, and level changes. Each function is numpy only and takes its randomness
from a `numpy.random.Generator`, so a seed fixes the result. SpecAugment (time and frequency
masks on features) lives in the model as `tfmodels.layers.SpecAugment`.

`WaveformAugmenter` draws a random chain of them per utterance; `speech_dataset(...,
augment=WaveformAugmenter(seed=0))` applies it in the tf.data pipeline (see there).

Example:
    rng = np.random.default_rng(0)
    faster = speed_perturb(audio, 1.1)                  # len(faster) ~ len(audio) / 1.1
    phone = band_limit(audio, 16000, 300.0, 3400.0)
    wet = reverberate(audio, 0.4, rng, 16000)           # RT60 of 0.4 s
    augmented = WaveformAugmenter(seed=0)(audio)
"""

from fractions import Fraction

import numpy as np
from scipy import signal

SAMPLE_RATE = 16000


def _check_audio(audio):
    audio = np.asarray(audio)
    if audio.ndim != 1:
        raise ValueError(f"audio must be a 1-D waveform, got shape {audio.shape}")
    return audio.astype(np.float64)


def _positive(name, value):
    if isinstance(value, bool) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")


def speed_perturb(audio, factor):
    """Plays `audio` `factor` times faster by resampling (pitch and tempo change together).

    The Kaldi recipe's speed perturbation: the output has `round(len(audio) / factor)` samples
    and every frequency is multiplied by `factor`.

    Args:
        audio: 1-D waveform.
        factor: speed ratio, e.g. 0.9, 1.0 or 1.1 (0.5-2.0).

    Returns:
        float32 waveform.
    """
    audio = _check_audio(audio)
    _positive("factor", factor)
    if not 0.5 <= factor <= 2.0:
        raise ValueError(f"factor must be in [0.5, 2], got {factor!r}")
    if factor == 1.0:
        return audio.astype(np.float32)
    ratio = Fraction(float(factor)).limit_denominator(100)
    # Resampling by down/up (= 1 / factor) keeps the samples but plays them at a new rate.
    out = signal.resample_poly(audio, ratio.denominator, ratio.numerator)
    return out[: int(round(len(audio) / factor))].astype(np.float32)


def vtlp_warp(frequencies, alpha, sample_rate=SAMPLE_RATE, boundary_hz=4800.0):
    """The VTLP frequency map: `alpha * f` below a boundary, then linear to Nyquist.

    Jaitly & Hinton (2013), eq. 1: with `f_hi = boundary_hz`, frequencies up to
    `f_hi * min(alpha, 1) / alpha` are scaled by `alpha`; above, the map is the line through
    that point and (Nyquist, Nyquist), so the band edge stays where it is.
    """
    nyquist = sample_rate / 2.0
    knee = boundary_hz * min(alpha, 1.0) / alpha
    frequencies = np.asarray(frequencies, dtype=np.float64)
    upper = nyquist - (nyquist - boundary_hz * min(alpha, 1.0)) / (nyquist - knee) * (
        nyquist - frequencies)
    return np.where(frequencies <= knee, alpha * frequencies, upper)


def vtlp(audio, alpha, sample_rate=SAMPLE_RATE, boundary_hz=4800.0, frame_length=512,
         hop=128):
    """Vocal-tract length perturbation of a waveform: warps its spectrum by `alpha`, same length.

    A phase-vocoder warp of the STFT: output bin `f` takes the magnitude and instantaneous
    frequency of input frequency `vtlp_warp^-1(f)`, the latter scaled by the warp, so a
    harmonic at `f0` moves to `alpha * f0` and formants move with it (a longer or shorter
    vocal tract and a lower or higher voice) while the duration is kept.

    Args:
        audio: 1-D waveform.
        alpha: warp factor, typically 0.9-1.1 (0.7-1.4 accepted).
        sample_rate: sampling rate of `audio`.
        boundary_hz: where the linear warp gives way to the map that keeps Nyquist fixed.
        frame_length, hop: STFT size and hop in samples.

    Returns:
        float32 waveform of the same length.
    """
    audio = _check_audio(audio)
    _positive("alpha", alpha)
    if not 0.7 <= alpha <= 1.4:
        raise ValueError(f"alpha must be in [0.7, 1.4], got {alpha!r}")
    if alpha == 1.0 or len(audio) < frame_length:
        return audio.astype(np.float32)
    window = signal.get_window("hann", frame_length)
    _, _, spec = signal.stft(audio, sample_rate, window, frame_length, frame_length - hop,
                             boundary="even", padded=True)
    bins = np.arange(spec.shape[0])
    freqs = bins * sample_rate / frame_length
    # Inverse map by interpolation: the warp is monotonic.
    dense = np.linspace(0.0, sample_rate / 2.0, 4 * len(bins))
    source = np.interp(freqs, vtlp_warp(dense, alpha, sample_rate, boundary_hz), dense)
    source_bin = source * frame_length / sample_rate
    magnitude = np.abs(spec)
    phase = np.angle(spec)
    expected = 2.0 * np.pi * hop * bins / frame_length
    advance = np.diff(phase, axis=1, prepend=phase[:, :1]) - expected[:, None]
    advance = np.mod(advance + np.pi, 2.0 * np.pi) - np.pi + expected[:, None]

    def resample_bins(values):
        low = np.clip(np.floor(source_bin).astype(int), 0, len(bins) - 1)
        high = np.clip(low + 1, 0, len(bins) - 1)
        weight = (source_bin - low)[:, None]
        return (1.0 - weight) * values[low] + weight * values[high]

    # A partial at the source frequency advances its phase in proportion to that frequency;
    # at the target frequency it must advance target / source times as fast.
    ratio = np.where(source > 0, freqs / np.maximum(source, 1e-9), alpha)
    new_advance = resample_bins(advance) * ratio[:, None]
    accumulated = np.cumsum(new_advance, axis=1) + resample_bins(phase[:, :1])
    warped_magnitude = resample_bins(magnitude)
    # Identity phase locking (Laroche & Dolson, 1999): only spectral peaks take the vocoder's
    # accumulated phase; the bins around a peak keep their source phase offsets to it, or
    # the window's main lobe would cancel itself.
    nearest = np.clip(np.round(source_bin).astype(int), 0, len(bins) - 1)
    m = warped_magnitude
    is_peak = np.zeros(m.shape, bool)
    is_peak[1:-1] = (m[1:-1] > m[:-2]) & (m[1:-1] >= m[2:])
    count = len(bins)
    column = bins[:, None]
    below = np.maximum.accumulate(np.where(is_peak, column, -1), axis=0)
    above = np.minimum.accumulate(np.where(is_peak, column, 2 * count)[::-1], axis=0)[::-1]
    owner = np.where(column - below <= above - column, below, above)
    owner = np.where((owner < 0) | (owner >= count), column, owner)
    frames = np.arange(m.shape[1])[None, :]
    source_phase = phase[nearest]
    new_phase = (accumulated[owner, frames] + source_phase
                 - source_phase[owner, frames])
    warped = warped_magnitude * np.exp(1j * new_phase)
    _, out = signal.istft(warped, sample_rate, window, frame_length, frame_length - hop,
                          boundary=True)
    out = out[: len(audio)]
    if len(out) < len(audio):
        out = np.pad(out, (0, len(audio) - len(out)))
    return out.astype(np.float32)


def room_impulse_response(rt60, rng, sample_rate=SAMPLE_RATE, direct_to_reverb_db=None):
    """A synthetic room impulse response: a direct path and an exponentially decaying tail.

    The tail is Gaussian noise under an envelope whose energy falls by 60 dB in `rt60`
    seconds (Sabine's definition of reverberation time), low-passed a little as walls absorb
    high frequencies. `direct_to_reverb_db` sets the energy ratio of the direct impulse to the
    tail (drawn from [0, 10] dB when None).

    Returns:
        float32 impulse response, `1.2 * rt60` seconds long, its first sample the direct path.
    """
    _positive("rt60", rt60)
    if rt60 > 3.0:
        raise ValueError(f"rt60 must be at most 3 seconds, got {rt60!r}")
    length = max(2, int(1.2 * rt60 * sample_rate))
    t = np.arange(length) / sample_rate
    tail = rng.standard_normal(length) * 10.0 ** (-3.0 * t / rt60)
    tail[0] = 0.0
    drr = rng.uniform(0.0, 10.0) if direct_to_reverb_db is None else direct_to_reverb_db
    tail *= np.sqrt(10.0 ** (-drr / 10.0) / np.sum(tail ** 2))
    response = tail
    response[0] = 1.0
    return response.astype(np.float32)


def reverberate(audio, rt60, rng, sample_rate=SAMPLE_RATE, direct_to_reverb_db=None):
    """Convolves `audio` with `room_impulse_response(rt60, rng, ...)`; same length and RMS.

    The tail that rings past the end is cut, so transcripts stay aligned with the audio.
    """
    audio = _check_audio(audio)
    response = room_impulse_response(rt60, rng, sample_rate, direct_to_reverb_db)
    wet = signal.fftconvolve(audio, response)[: len(audio)]
    rms_in, rms_out = np.sqrt(np.mean(audio ** 2)), np.sqrt(np.mean(wet ** 2))
    if rms_out > 0:
        wet *= rms_in / rms_out
    return wet.astype(np.float32)


def band_limit(audio, sample_rate=SAMPLE_RATE, low_hz=300.0, high_hz=3400.0, order=10):
    """Keeps `low_hz`-`high_hz` (telephone band by default): a causal Butterworth band-pass.

    Args:
        audio: 1-D waveform.
        sample_rate: its rate.
        low_hz: lower edge; 0 for a low-pass.
        high_hz: upper edge, below Nyquist.
        order: filter order.
    """
    audio = _check_audio(audio)
    if not 0.0 <= low_hz < high_hz < sample_rate / 2.0:
        raise ValueError(f"need 0 <= low_hz < high_hz < Nyquist ({sample_rate / 2:g} Hz), got "
                         f"low_hz={low_hz!r}, high_hz={high_hz!r}")
    if low_hz > 0:
        sos = signal.butter(order, [low_hz, high_hz], "bandpass", fs=sample_rate, output="sos")
    else:
        sos = signal.butter(order, high_hz, "lowpass", fs=sample_rate, output="sos")
    # Causal, as a phone line is: a zero-phase pass rings at the edges of short clips.
    return signal.sosfilt(sos, audio).astype(np.float32)


def resample_roundtrip(audio, sample_rate=SAMPLE_RATE, low_rate=8000):
    """Audio that went through `low_rate` (e.g. 8 kHz telephony) and back: nothing above
    `low_rate / 2` survives. Same length."""
    audio = _check_audio(audio)
    if isinstance(low_rate, bool) or not isinstance(low_rate, int) or not (
            0 < low_rate < sample_rate):
        raise ValueError(f"low_rate must be an integer in (0, {sample_rate}), got {low_rate!r}")
    divisor = np.gcd(low_rate, sample_rate)
    up, down = low_rate // divisor, sample_rate // divisor
    low = signal.resample_poly(audio, up, down)
    out = signal.resample_poly(low, down, up)[: len(audio)]
    if len(out) < len(audio):
        out = np.pad(out, (0, len(audio) - len(out)))
    return out.astype(np.float32)


def apply_gain(audio, gain_db):
    """`audio` times `10 ** (gain_db / 20)`, clipped to [-1, 1]."""
    audio = _check_audio(audio)
    if isinstance(gain_db, bool) or not np.isfinite(gain_db):
        raise ValueError(f"gain_db must be a finite number, got {gain_db!r}")
    return np.clip(audio * 10.0 ** (gain_db / 20.0), -1.0, 1.0).astype(np.float32)


class WaveformAugmenter:
    """Draws a random chain of waveform augmentations per call, from its own seeded generator.

    Each call applies, independently with the given probabilities: speed perturbation by one
    of `speeds`, VTLP with alpha uniform in `vtlp_range`, reverberation with RT60 uniform in
    `rt60_range`, one of telephone band-limiting or an 8 kHz round trip, and a gain uniform in
    `gain_db_range`. Calls draw from one generator, so the same sequence of inputs gives the
    same outputs for the same `seed`; `speech_dataset` calls it in a fixed order.

    Args:
        seed: generator seed.
        sample_rate: rate of the audio it will get.
        speeds: speed factors drawn uniformly (1.0 included means "unchanged" is likely).
        speed_prob, vtlp_prob, reverb_prob, band_prob, gain_prob: probabilities.
        vtlp_range, rt60_range, gain_db_range: ranges drawn uniformly.

    Example:
        augment = WaveformAugmenter(seed=0)
        noisy_room_phone = augment(audio)
    """

    def __init__(self, seed=0, sample_rate=SAMPLE_RATE, speeds=(0.9, 1.0, 1.1), speed_prob=1.0,
                 vtlp_prob=0.5, vtlp_range=(0.9, 1.1), reverb_prob=0.3, rt60_range=(0.2, 0.8),
                 band_prob=0.2, gain_prob=0.5, gain_db_range=(-10.0, 6.0)):
        for name, p in (("speed_prob", speed_prob), ("vtlp_prob", vtlp_prob),
                        ("reverb_prob", reverb_prob), ("band_prob", band_prob),
                        ("gain_prob", gain_prob)):
            if isinstance(p, bool) or not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {p!r}")
        for name, (low, high) in (("vtlp_range", vtlp_range), ("rt60_range", rt60_range),
                                  ("gain_db_range", gain_db_range)):
            if low > high:
                raise ValueError(f"{name} must be (low, high) with low <= high, got "
                                 f"{(low, high)}")
        if not speeds or any(not 0.5 <= s <= 2.0 for s in speeds):
            raise ValueError(f"speeds must be factors in [0.5, 2], got {speeds!r}")
        self.seed = seed
        self.sample_rate = sample_rate
        self.speeds = tuple(speeds)
        self.speed_prob = speed_prob
        self.vtlp_prob = vtlp_prob
        self.vtlp_range = tuple(vtlp_range)
        self.reverb_prob = reverb_prob
        self.rt60_range = tuple(rt60_range)
        self.band_prob = band_prob
        self.gain_prob = gain_prob
        self.gain_db_range = tuple(gain_db_range)
        self.rng = np.random.default_rng(seed)

    def __call__(self, audio):
        rng = self.rng
        audio = np.asarray(audio, dtype=np.float32)
        if len(audio) < 2:
            return audio
        rate = self.sample_rate
        if rng.random() < self.speed_prob:
            audio = speed_perturb(audio, float(rng.choice(self.speeds)))
        if rng.random() < self.vtlp_prob:
            audio = vtlp(audio, float(rng.uniform(*self.vtlp_range)), rate)
        if rng.random() < self.reverb_prob:
            audio = reverberate(audio, float(rng.uniform(*self.rt60_range)), rng, rate)
        if rng.random() < self.band_prob:
            if rng.random() < 0.5:
                audio = band_limit(audio, rate, 300.0, 3400.0)
            else:
                audio = resample_roundtrip(audio, rate, 8000)
        if rng.random() < self.gain_prob:
            audio = apply_gain(audio, float(rng.uniform(*self.gain_db_range)))
        return np.clip(audio, -1.0, 1.0).astype(np.float32)

    def get_config(self):
        return {k: getattr(self, k) for k in (
            "seed", "sample_rate", "speeds", "speed_prob", "vtlp_prob", "vtlp_range",
            "reverb_prob", "rt60_range", "band_prob", "gain_prob", "gain_db_range")}
