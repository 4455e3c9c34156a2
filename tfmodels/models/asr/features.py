"""Log-mel filterbank features computed in-graph, with per-utterance mean/variance normalization."""

import keras
import numpy as np
from keras import ops


def hz_to_mel(hz):
    """HTK mel scale: `2595 log10(1 + f / 700)`."""
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype=np.float64) / 700.0)


def mel_to_hz(mel):
    return 700.0 * (10.0 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(num_mel_bins, fft_length, sample_rate, lower_hz, upper_hz):
    """Triangular mel filters as a `(fft_length // 2 + 1, num_mel_bins)` float32 matrix.

    Filter `m` rises linearly from mel point `m` to `m + 1` and falls to `m + 2`, the points
    spaced evenly on the HTK mel scale between `lower_hz` and `upper_hz`; its peak is 1.
    """
    bins = np.fft.rfftfreq(fft_length, d=1.0 / sample_rate)
    points = mel_to_hz(np.linspace(hz_to_mel(lower_hz), hz_to_mel(upper_hz), num_mel_bins + 2))
    left, center, right = points[:-2, None], points[1:-1, None], points[2:, None]
    rising = (bins[None, :] - left) / (center - left)
    falling = (right - bins[None, :]) / (right - center)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    return weights.T.astype(np.float32)


@keras.saving.register_keras_serializable("tfmodels")
class LogMelFeatures(keras.layers.Layer):
    """Log-mel filterbank of a waveform batch, normalized per utterance over its valid frames.

    Frames of `frame_length` samples every `frame_step` samples (Hann window, `fft_length`-point
    FFT) give a power spectrum that `num_mel_bins` triangular HTK-mel filters pool;
    `log(mel + log_floor)` is then shifted and scaled to zero mean and unit variance per
    utterance and per mel bin (cepstral mean/variance normalization, which removes the
    stationary channel and level differences that noise and talkers add). Frame `t` covers
    samples `[t * frame_step, t * frame_step + frame_length)` of the zero-padded waveform, so
    an utterance of `n` samples has exactly `n // frame_step` frames. Samples past an
    utterance's length count as zeros; frames past an utterance's length are
    excluded from its statistics and output as zeros. So with `lengths`, each row of a padded
    batch gets, over its valid frames, the features of the utterance alone, whatever the
    padding holds; without `lengths`, padding is audio.

    The statistics span the whole utterance, so a streaming recognizer consumes features that
    were computed this way offline (or with running statistics, which this layer does not do).

    Args:
        sample_rate: waveform sample rate in Hz.
        frame_length: window length in samples (400 = 25 ms at 16 kHz).
        frame_step: hop in samples (160 = 10 ms at 16 kHz).
        fft_length: FFT size (>= frame_length).
        num_mel_bins: mel filters.
        lower_hz: lowest filter edge.
        upper_hz: highest filter edge (<= sample_rate / 2).
        log_floor: added to the mel energies before the log.
        normalize: apply per-utterance mean/variance normalization.

    Call arguments:
        waveform: float `(batch, samples)`.
        lengths: optional int `(batch,)`, valid samples per utterance; None = all.

    Shapes: `(batch, samples)` -> `(batch, samples // frame_step, num_mel_bins)`.

    Example:
    >>> layer = LogMelFeatures(num_mel_bins=20)
    >>> tuple(layer(np.zeros((2, 1600), "float32")).shape)
    (2, 10, 20)
    """

    def __init__(
        self,
        sample_rate=16000,
        frame_length=400,
        frame_step=160,
        fft_length=512,
        num_mel_bins=40,
        lower_hz=20.0,
        upper_hz=7600.0,
        log_floor=1e-6,
        normalize=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        for name, value in (
            ("sample_rate", sample_rate),
            ("frame_length", frame_length),
            ("frame_step", frame_step),
            ("fft_length", fft_length),
            ("num_mel_bins", num_mel_bins),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if frame_step > frame_length:
            raise ValueError(
                f"frame_step ({frame_step}) must not exceed frame_length ({frame_length})"
            )
        if fft_length < frame_length:
            raise ValueError(f"fft_length ({fft_length}) must be >= frame_length ({frame_length})")
        if not 0.0 <= lower_hz < upper_hz <= sample_rate / 2:
            raise ValueError(
                f"need 0 <= lower_hz < upper_hz <= sample_rate / 2, got lower_hz={lower_hz}, "
                f"upper_hz={upper_hz}, sample_rate={sample_rate}"
            )
        if not log_floor > 0:
            raise ValueError(f"log_floor must be > 0, got {log_floor!r}")
        self.sample_rate = sample_rate
        self.frame_length = frame_length
        self.frame_step = frame_step
        self.fft_length = fft_length
        self.num_mel_bins = num_mel_bins
        self.lower_hz = float(lower_hz)
        self.upper_hz = float(upper_hz)
        self.log_floor = float(log_floor)
        self.normalize = bool(normalize)
        self._filters = mel_filterbank(num_mel_bins, fft_length, sample_rate, lower_hz, upper_hz)
        # Periodic Hann, as in librosa and tf.signal.
        n = np.arange(frame_length)
        self._window = (0.5 - 0.5 * np.cos(2.0 * np.pi * n / frame_length)).astype(np.float32)

    def num_frames(self, lengths):
        """Valid frames for utterances of `lengths` samples: `lengths // frame_step`."""
        return ops.floor_divide(ops.cast(lengths, "int32"), self.frame_step)

    def call(self, waveform, lengths=None):
        waveform = ops.cast(waveform, "float32")
        if lengths is not None:
            # Whatever pads a batch must not reach the last frames of a shorter utterance.
            samples = ops.shape(waveform)[1]
            keep = ops.arange(samples)[None, :] < ops.cast(lengths, "int32")[:, None]
            waveform = waveform * ops.cast(keep, waveform.dtype)
        # ops.stft centres the window in an fft_length frame; padding by that offset on the
        # left puts frame t's window on samples [t * step, t * step + frame_length).
        offset = (self.fft_length - self.frame_length) // 2
        right = self.fft_length - self.frame_step - offset
        padded = ops.pad(waveform, [[0, 0], [offset, right]])
        real, imag = ops.stft(
            padded,
            sequence_length=self.frame_length,
            sequence_stride=self.frame_step,
            fft_length=self.fft_length,
            window=ops.convert_to_tensor(self._window),
            center=False,
        )
        power = ops.square(real) + ops.square(imag)
        mel = ops.matmul(power, ops.convert_to_tensor(self._filters))
        features = ops.log(mel + self.log_floor)
        if not self.normalize:
            return ops.cast(features, self.compute_dtype)
        frames = ops.shape(features)[1]
        if lengths is None:
            mask = ops.ones_like(features[:, :, :1])
        else:
            valid = ops.minimum(self.num_frames(lengths), frames)
            mask = ops.cast(ops.arange(frames)[None, :] < valid[:, None], features.dtype)
            mask = mask[:, :, None]
        count = ops.maximum(ops.sum(mask, axis=1, keepdims=True), 1.0)
        mean = ops.sum(features * mask, axis=1, keepdims=True) / count
        centered = (features - mean) * mask
        variance = ops.sum(ops.square(centered), axis=1, keepdims=True) / count
        # Computed in float32; returned in the compute dtype the layer's policy declares.
        return ops.cast(centered * ops.rsqrt(variance + 1e-5), self.compute_dtype)

    def compute_output_shape(self, waveform_shape, lengths_shape=None):
        samples = waveform_shape[1]
        frames = None if samples is None else samples // self.frame_step
        return (waveform_shape[0], frames, self.num_mel_bins)

    def get_config(self):
        return {
            **super().get_config(),
            "sample_rate": self.sample_rate,
            "frame_length": self.frame_length,
            "frame_step": self.frame_step,
            "fft_length": self.fft_length,
            "num_mel_bins": self.num_mel_bins,
            "lower_hz": self.lower_hz,
            "upper_hz": self.upper_hz,
            "log_floor": self.log_floor,
            "normalize": self.normalize,
        }
