"""Log-mel filterbank features computed in-graph, normalized per utterance, globally or causally."""

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


NORMALIZATIONS = ("utterance", "global", "causal", "none")
_EPSILON = 1e-5


def causal_normalize(features, mean, variance, decay, return_state=False):
    """Online mean/variance normalization: frame `t` is normalized with frames `<= t` only.

    Per bin, starting from `mean`, `variance` (the statistics before frame 0):
    `m_t = a m_{t-1} + (1 - a) x_t`, `v_t = a v_{t-1} + (1 - a) (x_t - m_t)^2`,
    `y_t = (x_t - m_t) / sqrt(v_t + 1e-5)`, with `a = decay`. Written in closed form, a
    lower-triangular `(T, T)` matrix of decay powers applied by matmul, so it runs as a few
    builtin ops in TFLite and needs no loop; chaining calls, each started from the previous
    call's last statistics, gives what one call over the concatenated frames gives.

    Args:
        features: `(batch, frames, bins)`.
        mean: `(batch, bins)` or `(bins,)` running mean before frame 0.
        variance: same shape, running variance before frame 0.
        decay: `a` in `(0, 1)`; `exp(-1 / time_constant)` for a time constant in frames.
        return_state: also return the statistics after the last frame (needs >= 1 frame).

    Returns:
        The normalized `(batch, frames, bins)`; with `return_state`, a tuple of it, the last
        running mean `(batch, bins)` and the last running variance `(batch, bins)`.
    """
    features = ops.cast(features, "float32")
    frames = ops.shape(features)[1]
    t = ops.cast(ops.arange(frames), "float32")
    lag = t[:, None] - t[None, :]
    log_decay = float(np.log(decay))
    weights = ops.where(
        lag >= 0, (1.0 - decay) * ops.exp(ops.maximum(lag, 0.0) * log_decay), 0.0
    )
    carry = ops.exp((t + 1.0) * log_decay)[None, :, None]
    mean = ops.cast(mean, "float32")
    variance = ops.cast(variance, "float32")
    if len(mean.shape) == 1:
        mean, variance = mean[None, :], variance[None, :]
    running_mean = ops.einsum("ts,bsf->btf", weights, features) + carry * mean[:, None, :]
    deviation = ops.square(features - running_mean)
    running_variance = (
        ops.einsum("ts,bsf->btf", weights, deviation) + carry * variance[:, None, :]
    )
    normalized = (features - running_mean) * ops.rsqrt(running_variance + _EPSILON)
    if not return_state:
        return normalized
    return normalized, running_mean[:, -1], running_variance[:, -1]


@keras.saving.register_keras_serializable("tfmodels")
class LogMelFeatures(keras.layers.Layer):
    """Log-mel filterbank of a waveform batch, mean/variance normalized per mel bin.

    Frames of `frame_length` samples every `frame_step` samples (Hann window, `fft_length`-point
    FFT) give a power spectrum that `num_mel_bins` triangular HTK-mel filters pool;
    `log(mel + log_floor)` is then shifted and scaled per mel bin (cepstral mean/variance
    normalization, which removes the stationary channel and level differences that noise and
    talkers add). `normalization` chooses the statistics:
    - `"utterance"` (default): mean and variance of the utterance's valid frames. Not causal:
      every frame depends on the whole utterance.
    - `"global"`: fixed per-bin `mean` and `variance` (non-trainable weights, set from training
      data by `adapt`, as `keras.layers.Normalization` does). Causal.
    - `"causal"`: online CMVN (`causal_normalize`): running per-bin mean and variance that start
      from the global statistics and follow the utterance with exponential moving averages of
      `time_constant` frames. Frame `t` depends on samples before its window's end only, so
      a device computes the same features chunk by chunk (`tfmodels.export.asr`).
    - `"none"`: the log-mel energies.
    Frame `t` covers
    samples `[t * frame_step, t * frame_step + frame_length)` of the zero-padded waveform, so
    an utterance of `n` samples has exactly `n // frame_step` frames. Samples past an
    utterance's length count as zeros; frames past an utterance's length are
    excluded from its statistics and output as zeros. So with `lengths`, each row of a padded
    batch gets, over its valid frames, the features of the utterance alone, whatever the
    padding holds; without `lengths`, padding is audio.

    Args:
        sample_rate: waveform sample rate in Hz.
        frame_length: window length in samples (400 = 25 ms at 16 kHz).
        frame_step: hop in samples (160 = 10 ms at 16 kHz).
        fft_length: FFT size (>= frame_length).
        num_mel_bins: mel filters.
        lower_hz: lowest filter edge.
        upper_hz: highest filter edge (<= sample_rate / 2).
        log_floor: added to the mel energies before the log.
        normalization: "utterance", "global", "causal" or "none" (see above).
        time_constant: frames over which "causal" statistics average (`exp(-1 / time_constant)`
            decay per frame; 100 = 1 s at a 10 ms hop).
        normalize: older spelling: True = "utterance", False = "none".

    Call arguments:
        waveform: float `(batch, samples)`.
        lengths: optional int `(batch,)`, valid samples per utterance; None = all.

    Shapes: `(batch, samples)` -> `(batch, samples // frame_step, num_mel_bins)`.

    Example:
    >>> layer = LogMelFeatures(num_mel_bins=20)
    >>> tuple(layer(np.zeros((2, 1600), "float32")).shape)
    (2, 10, 20)
    >>> causal = LogMelFeatures(num_mel_bins=20, normalization="causal", time_constant=50)
    >>> causal.adapt(np.random.default_rng(0).normal(size=(4, 1600)).astype("float32"))
    >>> tuple(causal(np.zeros((1, 800), "float32")).shape)
    (1, 5, 20)
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
        normalization=None,
        time_constant=100.0,
        normalize=None,
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
        if normalize is not None and normalization is not None and (
            (normalization == "none") == bool(normalize)
        ):
            raise ValueError(
                f"normalize={normalize!r} contradicts normalization={normalization!r}; "
                "pass normalization only"
            )
        if normalization is None:
            normalization = "none" if normalize is False else "utterance"
        if normalization not in NORMALIZATIONS:
            raise ValueError(
                f"normalization must be one of {NORMALIZATIONS}, got {normalization!r}"
            )
        if isinstance(time_constant, bool) or not (
            isinstance(time_constant, (int, float)) and time_constant > 0
        ):
            raise ValueError(
                f"time_constant must be a positive number of frames, got {time_constant!r}"
            )
        self.sample_rate = sample_rate
        self.frame_length = frame_length
        self.frame_step = frame_step
        self.fft_length = fft_length
        self.num_mel_bins = num_mel_bins
        self.lower_hz = float(lower_hz)
        self.upper_hz = float(upper_hz)
        self.log_floor = float(log_floor)
        self.normalization = normalization
        self.time_constant = float(time_constant)
        self._filters = mel_filterbank(num_mel_bins, fft_length, sample_rate, lower_hz, upper_hz)
        # Periodic Hann, as in librosa and tf.signal.
        n = np.arange(frame_length)
        self._window = (0.5 - 0.5 * np.cos(2.0 * np.pi * n / frame_length)).astype(np.float32)

    @property
    def normalize(self):
        """Whether any normalization applies (the older boolean argument)."""
        return self.normalization != "none"

    @property
    def decay(self):
        """Per-frame decay of the "causal" running statistics: `exp(-1 / time_constant)`."""
        return float(np.exp(-1.0 / self.time_constant))

    def build(self, waveform_shape=None, lengths_shape=None):
        if self.normalization in ("global", "causal"):
            # float32 and never autocast: the features are computed in float32.
            self.mean = self.add_weight(
                name="mean", shape=(self.num_mel_bins,), initializer="zeros", trainable=False,
                dtype="float32", autocast=False,
            )
            self.variance = self.add_weight(
                name="variance", shape=(self.num_mel_bins,), initializer="ones", trainable=False,
                dtype="float32", autocast=False,
            )
        self.built = True

    def adapt(self, data, lengths=None, batch_size=32):
        """Sets the "global"/"causal" starting statistics to those of `data`'s log-mel frames.

        Mean and variance per mel bin over every valid frame (float64 sums), as
        `keras.layers.Normalization.adapt` does for its inputs.

        Args:
            data: a `(utterances, samples)` array (with optional `lengths`), a list of 1-D
                waveforms, or an iterable of batches: `(waveform, lengths)` pairs, arrays, or
                dicts with `"waveform"` (and `"waveform_length"`), e.g. a
                `tfmodels.data.speech` dataset or its `(x, y)` pairs.
            lengths: valid samples per row of an array `data`.
            batch_size: rows per feature computation for array and list `data`.
        """
        if self.normalization not in ("global", "causal"):
            raise ValueError(
                f"adapt needs normalization='global' or 'causal', this layer has "
                f"{self.normalization!r}"
            )
        if not self.built:
            self.build()
        count = 0.0
        total = np.zeros(self.num_mel_bins, np.float64)
        squares = np.zeros(self.num_mel_bins, np.float64)
        for waveform, valid in _waveform_batches(data, lengths, batch_size):
            features = keras.ops.convert_to_numpy(self.log_mel(waveform, valid))
            features = features.astype(np.float64)
            frames = np.minimum(valid // self.frame_step, features.shape[1])
            mask = np.arange(features.shape[1])[None, :] < frames[:, None]
            picked = features[mask]
            count += picked.shape[0]
            total += picked.sum(0)
            squares += np.square(picked).sum(0)
        if not count:
            raise ValueError("adapt: data holds no complete frame")
        mean = total / count
        variance = np.maximum(squares / count - np.square(mean), 0.0)
        self.mean.assign(mean.astype(np.float32))
        self.variance.assign(variance.astype(np.float32))

    def num_frames(self, lengths):
        """Valid frames for utterances of `lengths` samples: `lengths // frame_step`."""
        return ops.floor_divide(ops.cast(lengths, "int32"), self.frame_step)

    def log_mel(self, waveform, lengths=None):
        """The unnormalized `log(mel + log_floor)` frames `(batch, samples // frame_step, bins)`."""
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
        return ops.log(mel + self.log_floor)

    def call(self, waveform, lengths=None):
        # Computed in float32; returned in the compute dtype the layer's policy declares.
        return ops.cast(self._normalized(waveform, lengths), self.compute_dtype)

    def _normalized(self, waveform, lengths):
        features = self.log_mel(waveform, lengths)
        if self.normalization == "none":
            return features
        frames = ops.shape(features)[1]
        if lengths is None:
            mask = ops.ones_like(features[:, :, :1])
        else:
            valid = ops.minimum(self.num_frames(lengths), frames)
            mask = ops.cast(ops.arange(frames)[None, :] < valid[:, None], features.dtype)
            mask = mask[:, :, None]
        if self.normalization == "global":
            return (features - self.mean) * ops.rsqrt(self.variance + _EPSILON) * mask
        if self.normalization == "causal":
            return causal_normalize(features, self.mean, self.variance, self.decay) * mask
        count = ops.maximum(ops.sum(mask, axis=1, keepdims=True), 1.0)
        mean = ops.sum(features * mask, axis=1, keepdims=True) / count
        centered = (features - mean) * mask
        variance = ops.sum(ops.square(centered), axis=1, keepdims=True) / count
        return centered * ops.rsqrt(variance + _EPSILON)

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
            "normalization": self.normalization,
            "time_constant": self.time_constant,
        }


def _waveform_batches(data, lengths, batch_size):
    """Yields `(waveform (B, T) float32, lengths (B,) int)` numpy batches of `adapt`'s data."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if isinstance(data, (list, tuple)) and data and np.ndim(data[0]) == 1:
        for start in range(0, len(data), batch_size):
            rows = [np.asarray(w, np.float32) for w in data[start : start + batch_size]]
            width = max(len(w) for w in rows)
            yield (np.stack([np.pad(w, (0, width - len(w))) for w in rows]),
                   np.array([len(w) for w in rows], np.int64))
        return
    if hasattr(data, "shape") and len(data.shape) == 2:
        data = np.asarray(data, np.float32)
        if lengths is None:
            lengths = np.full(data.shape[0], data.shape[1])
        lengths = np.asarray(lengths).reshape(-1)
        if lengths.shape[0] != data.shape[0]:
            raise ValueError(
                f"lengths holds {lengths.shape[0]} values for {data.shape[0]} waveforms"
            )
        for start in range(0, data.shape[0], batch_size):
            yield data[start : start + batch_size], lengths[start : start + batch_size]
        return
    if lengths is not None:
        raise ValueError("lengths is only for an array of waveforms; put them in the batches")
    for item in data:
        if isinstance(item, tuple) and item and isinstance(item[0], dict):
            item = item[0]
        if isinstance(item, dict):
            if "waveform" not in item:
                raise ValueError(f"adapt: batch dict has no 'waveform' key: {sorted(item)}")
            waveform = np.asarray(item["waveform"], np.float32)
            valid = item.get("waveform_length")
        elif isinstance(item, tuple):
            waveform, valid = np.asarray(item[0], np.float32), item[1]
        else:
            waveform, valid = np.asarray(item, np.float32), None
        if waveform.ndim == 1:
            waveform = waveform[None]
        if valid is None:
            valid = np.full(waveform.shape[0], waveform.shape[1])
        yield waveform, np.asarray(valid).reshape(-1).astype(np.int64)


@keras.saving.register_keras_serializable("tfmodels")
class StreamingLogMelFeatures(keras.layers.Layer):
    """`LogMelFeatures` one chunk of raw audio at a time, carrying its state: the device front end.

    Each call takes `chunk_frames * frame_step` new samples and the state, and returns the
    `chunk_frames` feature frames they complete and the new state:
    - `audio_buffer` `(frame_length - frame_step,)`: the samples before the chunk that its
      first windows overlap;
    - with `normalization="causal"`, `norm_mean` and `norm_variance` `(num_mel_bins,)`: the
      running statistics *minus* the global ones, so the all-zero state starts an utterance
      from the global statistics (what `LiteRTStepper`'s zero states give).
    Frames are windowed and transformed by a real DFT written as two matmuls with fixed
    cos/sin matrices (the Hann window folded in), so the graph converts to TFLite builtin ops
    (`FULLY_CONNECTED`, `LOG`, ...) in every mode; its power spectrum equals the FFT's up to
    float rounding.

    Frame `t` of an utterance covers samples `[t * frame_step, t * frame_step + frame_length)`
    (`LogMelFeatures`), so an utterance starts with `audio_buffer` holding its first
    `frame_length - frame_step` samples and the chunks following them; chunks past its end
    are zeros. Stepping an utterance this way gives `LogMelFeatures`'s frames.

    Args:
        chunk_frames: feature frames per call.
        mean, variance: the global per-bin statistics (`LogMelFeatures.mean` / `.variance`);
            required for "global" and "causal".
        **features: the `LogMelFeatures` arguments (`normalization`: "global", "causal" or
            "none"; per-utterance statistics are not causal).

    Call arguments:
        audio: `(batch, chunk_frames * frame_step)` float samples.
        states: `{state name: (batch, *shape)}` as `state_shapes()` names them.

    Returns:
        `(features (batch, chunk_frames, num_mel_bins), {state name: new state})`.

    Example:
    >>> front = StreamingLogMelFeatures(chunk_frames=4, num_mel_bins=8, normalization="none")
    >>> states = {n: np.zeros((1,) + s, "float32") for n, s in front.state_shapes().items()}
    >>> frames, states = front(np.zeros((1, 640), "float32"), states)
    >>> tuple(frames.shape)
    (1, 4, 8)
    """

    def __init__(self, chunk_frames, mean=None, variance=None, **features):
        layer_kwargs = {k: features.pop(k) for k in ("name", "dtype", "trainable")
                        if k in features}
        super().__init__(**layer_kwargs)
        if isinstance(chunk_frames, bool) or not isinstance(chunk_frames, int) or (
            chunk_frames < 1
        ):
            raise ValueError(f"chunk_frames must be a positive integer, got {chunk_frames!r}")
        # A template for the arguments' checks and derived constants, not a sublayer.
        f = LogMelFeatures(**features)
        if f.normalization == "utterance":
            raise ValueError(
                "normalization='utterance' needs the whole utterance; a streaming front end "
                "takes 'causal', 'global' or 'none'"
            )
        self.chunk_frames = chunk_frames
        self.feature_config = {
            k: v for k, v in f.get_config().items() if k not in ("name", "dtype", "trainable")
        }
        self.frame_length, self.frame_step = f.frame_length, f.frame_step
        self.num_mel_bins, self.normalization = f.num_mel_bins, f.normalization
        self.log_floor, self.decay = f.log_floor, f.decay
        self._filters = f._filters
        if self.normalization in ("global", "causal"):
            if mean is None or variance is None:
                raise ValueError(
                    f"normalization={self.normalization!r} needs the global mean and "
                    "variance (the adapted LogMelFeatures' statistics)"
                )
            bins = self.num_mel_bins
            mean = np.asarray(mean, np.float32).reshape(-1)
            variance = np.asarray(variance, np.float32).reshape(-1)
            if mean.shape != (bins,) or variance.shape != (bins,):
                raise ValueError(
                    f"mean and variance need {bins} values, got {mean.shape[0]} and "
                    f"{variance.shape[0]}"
                )
            self.mean_values, self.variance_values = mean, variance
        else:
            self.mean_values = self.variance_values = None
        n = np.arange(f.frame_length)[:, None]
        k = np.arange(f.fft_length // 2 + 1)[None, :]
        angle = 2.0 * np.pi * n * k / f.fft_length
        window = f._window.astype(np.float64)[:, None]
        self._cos = (window * np.cos(angle)).astype(np.float32)
        self._sin = (window * np.sin(angle)).astype(np.float32)

    @classmethod
    def from_features(cls, layer, chunk_frames, **kwargs):
        """The streaming twin of a (built, adapted) `LogMelFeatures` layer."""
        config = {k: v for k, v in layer.get_config().items()
                  if k not in ("name", "dtype", "trainable")}
        if layer.normalization in ("global", "causal"):
            kwargs.setdefault("mean", keras.ops.convert_to_numpy(layer.mean))
            kwargs.setdefault("variance", keras.ops.convert_to_numpy(layer.variance))
        return cls(chunk_frames, **config, **kwargs)

    @property
    def chunk_samples(self):
        """New samples per call: `chunk_frames * frame_step`."""
        return self.chunk_frames * self.frame_step

    @property
    def overlap(self):
        """Samples carried from one chunk to the next: `frame_length - frame_step`."""
        return self.frame_length - self.frame_step

    def state_shapes(self):
        """`{state name: shape without batch}`, in input order."""
        shapes = {"audio_buffer": (self.overlap,)}
        if self.normalization == "causal":
            shapes["norm_mean"] = (self.num_mel_bins,)
            shapes["norm_variance"] = (self.num_mel_bins,)
        return shapes

    def build(self, audio_shape=None, states_shape=None):
        self.built = True

    def call(self, audio, states):
        x = ops.concatenate([ops.cast(states["audio_buffer"], "float32"),
                             ops.cast(audio, "float32")], axis=1)
        new_states = {"audio_buffer": x[:, self.chunk_samples:]}
        frames = ops.stack(
            [x[:, t * self.frame_step : t * self.frame_step + self.frame_length]
             for t in range(self.chunk_frames)],
            axis=1,
        )
        real = ops.matmul(frames, ops.convert_to_tensor(self._cos))
        imag = ops.matmul(frames, ops.convert_to_tensor(self._sin))
        power = ops.square(real) + ops.square(imag)
        mel = ops.matmul(power, ops.convert_to_tensor(self._filters))
        features = ops.log(mel + self.log_floor)
        if self.normalization == "none":
            return features, new_states
        mean = ops.convert_to_tensor(self.mean_values)
        variance = ops.convert_to_tensor(self.variance_values)
        if self.normalization == "global":
            return (features - mean) * ops.rsqrt(variance + _EPSILON), new_states
        features, last_mean, last_variance = causal_normalize(
            features, states["norm_mean"] + mean, states["norm_variance"] + variance,
            self.decay, return_state=True,
        )
        new_states["norm_mean"] = last_mean - mean
        new_states["norm_variance"] = last_variance - variance
        return features, new_states

    def compute_output_spec(self, audio, states):
        batch = audio.shape[0]
        features = keras.KerasTensor((batch, self.chunk_frames, self.num_mel_bins))
        return features, {name: keras.KerasTensor((batch,) + shape)
                          for name, shape in self.state_shapes().items()}

    def get_config(self):
        config = {**super().get_config(), **self.feature_config,
                  "chunk_frames": self.chunk_frames}
        if self.mean_values is not None:
            config["mean"] = self.mean_values.tolist()
            config["variance"] = self.variance_values.tolist()
        return config
