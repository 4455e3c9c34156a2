"""SpecAugment time and frequency masking (Park et al., arXiv:1904.08779), training only."""

import keras
from keras import ops


def _check_count_width(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be an integer >= 0, got {value!r}")


@keras.saving.register_keras_serializable("tfmodels")
class SpecAugment(keras.layers.Layer):
    """Zeroes random bands of frequency channels and runs of frames of a feature sequence.

    SpecAugment's masking (Park et al., arXiv:1904.08779, section 2): per example,
    `freq_masks` bands of `f ~ U{0..max_freq_width}` consecutive channels and `time_masks`
    runs of `t ~ U{0..max_time_width}` consecutive frames are set to `mask_value` (0, the
    mean of normalized log-mel features). A run never exceeds `max_time_fraction` of the
    sequence (the paper's p), so short lone words are not blanked out. In inference
    (`training` false or None) the layer is the identity. Time warping is left out: the
    waveform augmentations of `tfmodels.data.augment` already change speed.

    Args:
        freq_masks: number of frequency masks per example.
        max_freq_width: widest frequency mask, in channels.
        time_masks: number of time masks per example.
        max_time_width: longest time mask, in frames.
        max_time_fraction: upper bound of a time mask as a fraction of the frames (0-1].
        mask_value: value written into masked cells.
        seed: seed of the layer's `keras.random.SeedGenerator`.

    Shapes: `(batch, frames, channels)` in and out.

    Example:
    >>> layer = SpecAugment(freq_masks=1, max_freq_width=2, time_masks=0, seed=0)
    >>> x = keras.ops.ones((1, 4, 8))
    >>> keras.ops.convert_to_numpy(layer(x)).min()  # inference: unchanged
    1.0
    """

    def __init__(self, freq_masks=2, max_freq_width=8, time_masks=2, max_time_width=10,
                 max_time_fraction=0.2, mask_value=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        for name, value in (("freq_masks", freq_masks), ("max_freq_width", max_freq_width),
                            ("time_masks", time_masks), ("max_time_width", max_time_width)):
            _check_count_width(name, value)
        if isinstance(max_time_fraction, bool) or not 0.0 < max_time_fraction <= 1.0:
            raise ValueError(f"max_time_fraction must be in (0, 1], got {max_time_fraction!r}")
        self.freq_masks = freq_masks
        self.max_freq_width = max_freq_width
        self.time_masks = time_masks
        self.max_time_width = max_time_width
        self.max_time_fraction = float(max_time_fraction)
        self.mask_value = float(mask_value)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True

    def _masks(self, batch, size, count, max_width, limit):
        """A float (batch, size) array, 1 where any of `count` random runs covers a cell."""
        positions = ops.cast(ops.arange(size), "float32")[None, :]
        covered = ops.zeros((batch, size))
        for _ in range(count):
            draw = keras.random.uniform((batch, 2), seed=self.seed_generator)
            width = ops.floor(draw[:, :1] * (ops.minimum(float(max_width), limit) + 1.0))
            width = ops.minimum(width, limit)
            start = ops.floor(draw[:, 1:] * (ops.cast(size, "float32") - width + 1.0))
            inside = ops.logical_and(positions >= start, positions < start + width)
            covered = ops.maximum(covered, ops.cast(inside, "float32"))
        return covered

    def call(self, inputs, training=None):
        if not training or (self.freq_masks == 0 and self.time_masks == 0):
            return inputs
        shape = ops.shape(inputs)
        batch, frames, channels = shape[0], shape[1], shape[2]
        time_limit = ops.floor(self.max_time_fraction * ops.cast(frames, "float32"))
        covered_t = self._masks(batch, frames, self.time_masks, self.max_time_width,
                                time_limit)
        covered_f = self._masks(batch, channels, self.freq_masks, self.max_freq_width,
                                float(channels))
        covered = ops.maximum(covered_t[:, :, None], covered_f[:, None, :])
        covered = ops.cast(covered, inputs.dtype)
        return inputs * (1.0 - covered) + ops.cast(self.mask_value, inputs.dtype) * covered

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "freq_masks": self.freq_masks,
            "max_freq_width": self.max_freq_width,
            "time_masks": self.time_masks,
            "max_time_width": self.max_time_width,
            "max_time_fraction": self.max_time_fraction,
            "mask_value": self.mask_value,
            "seed": self.seed,
        }
