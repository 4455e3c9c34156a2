"""Quantizers: the value-mapping functions of low-precision training, as Keras 3 quantizers.

Every quantizer maps a float tensor to the values its scheme allows and returns them as floats
(what a layer computes with), with a straight-through gradient so the float "shadow" weights keep
learning. Deterministic and stochastic variants follow the definitions of

- Ott et al., "Recurrent Neural Networks With Limited Numerical Precision" (arXiv:1608.06902,
  extended as arXiv:1611.07065): binarization, ternarization, pow2-ternarization, exponential
  quantization, each deterministic or stochastic;
- Hubara et al., "Quantized Neural Networks" (arXiv:1609.07061): sign binarization with the
  gradient cancelled where |x| > 1, and k-bit uniform quantization;
- and the int8 scheme of the TFLite converter (`Uniform`), which lowers to
  `keras.quantizers.fake_quant_with_min_max_vars` so the converter emits int8 kernels.

All of them use `keras.ops` only and run on every Keras backend.

Calling convention (shared by every class here)::

    q(x, training=False, seed=None, channel_axis=-1)

`training=True` lets stochastic variants sample; at inference every quantizer is deterministic.
`seed` is a `keras.random.SeedGenerator` (layers pass one they own so that sampling works inside
a compiled JAX train step); without it the quantizer uses its own. `channel_axis` is the
output-channel axis for per-channel scales (-1 for Dense/Conv2D kernels, -2 for
Conv2DTranspose kernels).
"""

import math

import keras
from keras import ops

_SCALE_MODES = ("glorot", "mean_abs", "max_abs")
_TINY = 1e-8
# Uniform ranges are capped so that `max - min` cannot overflow float32; beyond it values saturate.
_MAX_RANGE = 2.0**100


def _as_float32(x):
    x = ops.convert_to_tensor(x)
    dtype = keras.backend.standardize_dtype(x.dtype)
    if dtype != "float32":
        x = ops.cast(x, "float32")
    return x, dtype


def _reduce_axes(ndim, channel_axis, per_channel):
    if not per_channel or ndim == 0:
        return tuple(range(ndim))
    channel_axis = channel_axis % ndim
    return tuple(a for a in range(ndim) if a != channel_axis)


def glorot_bound(shape, channel_axis=-1):
    """`sqrt(6 / (fan_in + fan_out))` for a kernel shape, the scale `W0` of Ott et al.

    For a 2-D `(fan_in, fan_out)` matrix this is the Glorot-uniform bound the authors use as the
    ternary/binary scale. For conv kernels the receptive field multiplies both fans (as Keras's
    initializers do); `channel_axis` names the output-channel axis.

    Args:
        shape: the kernel shape (tuple of ints).
        channel_axis: the output-channel axis.
    """
    shape = tuple(int(d) for d in shape)
    if len(shape) == 0:
        return 1.0
    if len(shape) == 1:
        return math.sqrt(6.0 / (2 * shape[0]))
    channel_axis = channel_axis % len(shape)
    fan_out = shape[channel_axis]
    rest = [d for i, d in enumerate(shape) if i != channel_axis]
    # The axis next to the output channel is the input-channel axis; the others are spatial.
    fan_in = rest[-1] if channel_axis == len(shape) - 1 else rest[channel_axis]
    receptive = max(1, math.prod(rest) // max(fan_in, 1))
    return math.sqrt(6.0 / (receptive * (fan_in + fan_out)))


class _Quantizer(keras.quantizers.Quantizer):
    """Shared plumbing: argument checks, scale resolution, dtype handling, seeding.

    Subclasses implement `_quantize(x, training, seed)` on the *normalized* tensor `x / scale`
    in float32 and return the quantized normalized tensor (the STE is applied here).
    """

    stochastic = False
    # Normalized clip range of the straight-through gradient; None = identity gradient.
    _clip = None

    def __init__(self, scale=1.0, per_channel=False, seed=None):
        super().__init__()
        if isinstance(scale, str):
            if scale not in _SCALE_MODES:
                raise ValueError(
                    f"scale must be a positive number or one of {_SCALE_MODES}; got {scale!r}"
                )
        elif not isinstance(scale, (int, float)) or isinstance(scale, bool) or not scale > 0:
            raise ValueError(f"scale must be a positive number; got {scale!r}")
        if not isinstance(per_channel, bool):
            raise ValueError(f"per_channel must be a bool; got {per_channel!r}")
        self.scale = scale if isinstance(scale, str) else float(scale)
        self.per_channel = per_channel
        self.seed = seed
        self._seed_generator = None

    # Scale -----------------------------------------------------------------------------------
    def resolve_scale(self, x, channel_axis=-1):
        """The scale `s` for tensor `x` (a scalar, or a tensor broadcastable against `x`)."""
        if not isinstance(self.scale, str):
            return ops.convert_to_tensor(self.scale, "float32")
        if self.scale == "glorot":
            return ops.convert_to_tensor(glorot_bound(x.shape, channel_axis), "float32")
        axes = _reduce_axes(len(x.shape), channel_axis, self.per_channel)
        reduce = ops.mean if self.scale == "mean_abs" else ops.max
        s = reduce(ops.abs(x), axis=axes, keepdims=True)
        # A data-dependent scale is a constant for the gradient: the STE is d q / d x = 1.
        return ops.stop_gradient(ops.maximum(s, _TINY))

    def _seed(self, seed):
        if seed is not None:
            return seed
        if self._seed_generator is None:
            self._seed_generator = keras.random.SeedGenerator(self.seed)
        return self._seed_generator

    def __call__(self, x, training=False, seed=None, channel_axis=-1, scale=None):
        """Quantizes `x`. `scale` overrides the configured scale (e.g. per-gate RNN bounds)."""
        x, dtype = _as_float32(x)
        s = self.resolve_scale(x, channel_axis) if scale is None else ops.cast(scale, "float32")
        xn = x / s
        sample = bool(training) and self.stochastic
        qn = self._quantize(xn, sample, self._seed(seed) if sample else None)
        if self._clip is None:
            through = xn
        else:
            # Gradient 1 on the closed range [-clip, clip], 0 outside, on every backend (JAX's
            # clip splits the gradient at the boundary).
            inside = ops.abs(xn) <= self._clip
            through = ops.where(
                inside, xn, ops.stop_gradient(ops.clip(xn, -self._clip, self._clip))
            )
        # Forward value exactly qn (t - t == 0 in IEEE arithmetic; t + (qn - t) is not always
        # qn), gradient d through / d x: the straight-through estimator.
        out = (ops.stop_gradient(qn) + (through - ops.stop_gradient(through))) * s
        return out if dtype == "float32" else ops.cast(out, dtype)

    def _quantize(self, x, sample, seed):
        raise NotImplementedError

    def get_config(self):
        return {"scale": self.scale, "per_channel": self.per_channel, "seed": self.seed}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


def _bernoulli(p, seed):
    return ops.cast(keras.random.uniform(ops.shape(p), seed=seed) < p, "float32")


@keras.saving.register_keras_serializable("tfmodels")
class Binary(_Quantizer):
    """Binarization to `{-H, +H}` (arXiv:1608.06902 Sec. 2.1; arXiv:1609.07061 Eq. 1-3).

    With `p = clip((W/H + 1) / 2, 0, 1)` (the hard sigmoid):

    - deterministic: `+H if p >= 0.5 else -H` (zero maps to `+H`);
    - stochastic: `+H` with probability `p`, else `-H`; unbiased inside the clip range:
      `E[W_b] = clip(W, -H, H)`.

    The straight-through gradient is 1 for `|W| <= H` and 0 outside (Hubara et al. cancel the
    gradient of large weights).

    Args:
        stochastic: sample in training (inference is always deterministic).
        scale: `H`: a positive number (default 1.0), `"glorot"` (the Glorot-uniform bound of the
            kernel shape), `"mean_abs"` or `"max_abs"` (data-dependent, detached from the gradient).
        per_channel: for data-dependent scales, one scale per output channel.
        seed: seed of the quantizer's own generator (used when the caller passes none).

    Example:
    >>> q = Binary()
    >>> keras.ops.convert_to_numpy(q([-0.3, 0.0, 2.0])).tolist()
    [-1.0, 1.0, 1.0]
    """

    _clip = 1.0

    def __init__(self, stochastic=False, scale=1.0, per_channel=False, seed=None):
        super().__init__(scale=scale, per_channel=per_channel, seed=seed)
        self.stochastic = bool(stochastic)

    def _quantize(self, x, sample, seed):
        p = ops.clip((x + 1.0) / 2.0, 0.0, 1.0)
        if sample:
            return 2.0 * _bernoulli(p, seed) - 1.0
        return ops.where(p >= 0.5, 1.0, -1.0)

    def get_config(self):
        return {"stochastic": self.stochastic, **super().get_config()}


@keras.saving.register_keras_serializable("tfmodels")
class Ternary(_Quantizer):
    """Ternarization to `{-W0, 0, +W0}` (arXiv:1608.06902 Sec. 2.2, the authors' code).

    - deterministic: `W0 * (-1 if W <= -t*W0, +1 if W > t*W0, else 0)` with `t = threshold`
      (the authors use `t = 0.5`);
    - stochastic: `W0 * sign(W) * Bernoulli(clip(|W| / W0, 0, 1))`, unbiased inside the clip
      range: `E[W_t] = clip(W, -W0, W0)`.

    `W0` defaults to the Glorot-uniform bound `sqrt(6 / (fan_in + fan_out))` of the kernel
    (recurrent cells pass `sqrt(6 / (2 * units))` through `scale=`, as the authors do). The
    straight-through gradient is 1 for `|W| <= W0` and 0 outside.

    Args:
        stochastic: sample in training (inference is always deterministic).
        threshold: the dead-zone half-width as a fraction of `W0`, in `[0, 1)`.
        scale: `W0`: `"glorot"` (default), a positive number, `"mean_abs"` or `"max_abs"`.
        per_channel: for data-dependent scales, one scale per output channel.
        seed: seed of the quantizer's own generator.

    Example:
    >>> q = Ternary(scale=1.0)
    >>> keras.ops.convert_to_numpy(q([-0.7, -0.5, 0.2, 0.6])).tolist()
    [-1.0, -1.0, 0.0, 1.0]
    """

    _clip = 1.0

    def __init__(self, stochastic=False, threshold=0.5, scale="glorot", per_channel=False, seed=None):
        super().__init__(scale=scale, per_channel=per_channel, seed=seed)
        if not isinstance(threshold, (int, float)) or not 0.0 <= threshold < 1.0:
            raise ValueError(f"threshold must be a number in [0, 1); got {threshold!r}")
        self.stochastic = bool(stochastic)
        self.threshold = float(threshold)

    def _quantize(self, x, sample, seed):
        if sample:
            keep = _bernoulli(ops.clip(ops.abs(x), 0.0, 1.0), seed)
            return ops.sign(x) * keep
        t = self.threshold
        return ops.where(x > t, 1.0, ops.where(x <= -t, -1.0, 0.0))

    def get_config(self):
        return {"stochastic": self.stochastic, "threshold": self.threshold, **super().get_config()}


@keras.saving.register_keras_serializable("tfmodels")
class Pow2Ternary(_Quantizer):
    """Fixed-point quantization with powers-of-two levels (arXiv:1608.06902 Sec. 2.3).

    `W_q = clip(round(W * 2^f), -(2^(i+f) - 1), 2^(i+f) - 1) / 2^f` with `i` integer and `f`
    fractional bits. The authors' pow2-ternary is `i = 0, f = 1`: levels `{-0.5, 0, +0.5}`.
    The stochastic variant rounds stochastically (`floor(W * 2^f + u)`, `u ~ U[0, 1)`), which is
    unbiased inside the representable range. The straight-through gradient is 1 inside the range
    `[-(2^(i+f) - 1) / 2^f, (2^(i+f) - 1) / 2^f]` and 0 outside.

    Args:
        stochastic: stochastic rounding in training.
        integer_bits: `i >= 0`.
        fractional_bits: `f >= 0`; `i + f >= 1`.
        scale: multiplies the levels (default 1.0: the paper's fixed levels).
        per_channel: for data-dependent scales, one scale per output channel.
        seed: seed of the quantizer's own generator.

    Example:
    >>> q = Pow2Ternary()
    >>> keras.ops.convert_to_numpy(q([-0.9, -0.2, 0.3, 0.1])).tolist()
    [-0.5, 0.0, 0.5, 0.0]
    """

    def __init__(
        self,
        stochastic=False,
        integer_bits=0,
        fractional_bits=1,
        scale=1.0,
        per_channel=False,
        seed=None,
    ):
        super().__init__(scale=scale, per_channel=per_channel, seed=seed)
        for name, value in (("integer_bits", integer_bits), ("fractional_bits", fractional_bits)):
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be an integer >= 0; got {value!r}")
        if integer_bits + fractional_bits < 1:
            raise ValueError("integer_bits + fractional_bits must be >= 1; got 0")
        self.stochastic = bool(stochastic)
        self.integer_bits = integer_bits
        self.fractional_bits = fractional_bits
        self._levels = float(2 ** (integer_bits + fractional_bits) - 1)
        self._step = float(2**fractional_bits)
        self._clip = self._levels / self._step

    def _quantize(self, x, sample, seed):
        y = x * self._step
        if sample:
            y = ops.floor(y + keras.random.uniform(ops.shape(y), seed=seed))
        else:
            # Round half away from zero keeps the level set symmetric.
            y = ops.sign(y) * ops.floor(ops.abs(y) + 0.5)
        return ops.clip(y, -self._levels, self._levels) / self._step

    def get_config(self):
        return {
            "stochastic": self.stochastic,
            "integer_bits": self.integer_bits,
            "fractional_bits": self.fractional_bits,
            **super().get_config(),
        }


@keras.saving.register_keras_serializable("tfmodels")
class Exponential(_Quantizer):
    """Exponential (logarithmic) quantization to signed powers of two (arXiv:1608.06902 Sec. 2.4).

    With `k = clip(floor(log2 |W|), min_exp, max_exp - 1)` and `p = clip(|W| / 2^k - 1, 0, 1)`:
    `W_q = sign(W) * 2^(k + Bernoulli(p))` (stochastic, unbiased inside the range since
    `E = 2^k (1 + p) = |W|`), or `k + 1` when `p > 0.5` (deterministic). `bits` counts the sign
    bit plus the exponent bits: the exponents are the `2^(bits-1)` integers
    `max_exp - 2^(bits-1) + 1 ... max_exp`; magnitudes below `2^min_exp` map to `2^min_exp`
    (there is no zero level, except for an exact zero, which stays zero). The straight-through
    gradient is 1 for `|W| <= 2^max_exp` and 0 outside.

    Args:
        bits: total bits, >= 2 (2 bits: `{+-2^(max_exp-1), +-2^max_exp}`).
        stochastic: sample in training.
        max_exponent: the largest exponent (default 0: magnitudes up to 1, as for weights).
        scale: multiplies the levels (default 1.0).
        per_channel: for data-dependent scales, one scale per output channel.
        seed: seed of the quantizer's own generator.

    Example:
    >>> q = Exponential(bits=4)
    >>> keras.ops.convert_to_numpy(q([0.3, -0.2, 0.0, 5.0])).tolist()
    [0.25, -0.25, 0.0, 1.0]
    """

    def __init__(
        self, bits=4, stochastic=False, max_exponent=0, scale=1.0, per_channel=False, seed=None
    ):
        super().__init__(scale=scale, per_channel=per_channel, seed=seed)
        if not isinstance(bits, int) or isinstance(bits, bool) or not 2 <= bits <= 8:
            raise ValueError(f"bits must be an integer in [2, 8]; got {bits!r}")
        if not isinstance(max_exponent, int):
            raise ValueError(f"max_exponent must be an integer; got {max_exponent!r}")
        self.bits = bits
        self.stochastic = bool(stochastic)
        self.max_exponent = max_exponent
        self.min_exponent = max_exponent - 2 ** (bits - 1) + 1
        self._clip = float(2.0**max_exponent)

    def _quantize(self, x, sample, seed):
        mag = ops.abs(x)
        k = ops.floor(ops.log2(ops.maximum(mag, _TINY)))
        k = ops.clip(k, float(self.min_exponent), float(self.max_exponent - 1))
        base = ops.power(2.0, k)
        p = ops.clip(mag / base - 1.0, 0.0, 1.0)
        up = _bernoulli(p, seed) if sample else ops.cast(p > 0.5, "float32")
        return ops.sign(x) * base * (1.0 + up)

    def get_config(self):
        return {
            "bits": self.bits,
            "stochastic": self.stochastic,
            "max_exponent": self.max_exponent,
            **super().get_config(),
        }


@keras.saving.register_keras_serializable("tfmodels")
class Uniform(keras.quantizers.Quantizer):
    """Uniform `bits`-bit fake quantization, the int8 scheme of TFLite (and QNN's k-bit one).

    For weights the range is taken from the tensor itself: `[-max|W|, max|W|]` when
    `symmetric` (what TFLite wants for int8 weights: zero point 0), `[min(W, 0), max(W, 0)]`
    otherwise; per output channel when `per_channel`. Values are clamped to the range, rounded
    to `2^bits - 1` (narrow range) or `2^bits` levels and dequantized, through
    `keras.quantizers.fake_quant_with_min_max_vars`, which the TFLite converter turns into int8
    kernels. The gradient is straight-through inside the range (the range itself is detached).
    Ranges are capped at `+-2^100` so their width cannot overflow float32.

    Activations use `ActivationQuantizer(Uniform(symmetric=False, narrow_range=False))`, which
    tracks the range with a moving average and calls `fake_quant` below.

    Note (measured with TF 2.21): per-channel fake-quant on Dense kernels breaks TFLite
    conversion ("mismatched quantized axes"); use per-tensor there, per-channel for convs.

    Args:
        bits: 2 to 16 (8 for int8).
        symmetric: symmetric range around zero.
        per_channel: one range per output channel (`channel_axis` at call time).
        narrow_range: use `[1, 2^bits - 1]` (int8: -127..127), as TFLite requires for weights.

    Example:
    >>> q = Uniform(bits=2, narrow_range=True)
    >>> keras.ops.convert_to_numpy(q([-1.0, -0.2, 0.6, 1.0])).tolist()
    [-1.0, 0.0, 1.0, 1.0]
    """

    def __init__(self, bits=8, symmetric=True, per_channel=False, narrow_range=True):
        super().__init__()
        if not isinstance(bits, int) or isinstance(bits, bool) or not 2 <= bits <= 16:
            raise ValueError(f"bits must be an integer in [2, 16]; got {bits!r}")
        self.bits = bits
        self.symmetric = bool(symmetric)
        self.per_channel = bool(per_channel)
        self.narrow_range = bool(narrow_range)

    stochastic = False

    def range_of(self, x, channel_axis=-1):
        """The `(min, max)` range of `x` this quantizer uses (detached from the gradient)."""
        axes = _reduce_axes(len(x.shape), channel_axis, self.per_channel)
        if self.symmetric:
            hi = ops.clip(ops.max(ops.abs(x), axis=axes), _TINY, _MAX_RANGE)
            lo = -hi
        else:
            lo = ops.clip(ops.min(x, axis=axes), -_MAX_RANGE, 0.0)
            hi = ops.clip(ops.max(x, axis=axes), 0.0, _MAX_RANGE)
            hi = ops.maximum(hi, lo + _TINY)
        return ops.stop_gradient(lo), ops.stop_gradient(hi)

    def fake_quant(self, x, lo, hi, channel_axis=-1):
        """Fake-quantizes `x` to the range `[lo, hi]` (scalars, or vectors per channel)."""
        x, dtype = _as_float32(x)
        last = len(x.shape) - 1
        axis = channel_axis % len(x.shape) if self.per_channel and len(x.shape) else None
        # Keras broadcasts per-channel ranges along the last axis only on some backends (JAX
        # fails for Conv2DTranspose's axis -2): move the channel axis last and back.
        if axis is not None and axis != last:
            x = ops.swapaxes(x, axis, last)
        out = keras.quantizers.fake_quant_with_min_max_vars(
            x, lo, hi, num_bits=self.bits, narrow_range=self.narrow_range,
            axis=None if axis is None else last,
        )
        if axis is not None and axis != last:
            out = ops.swapaxes(out, axis, last)
        return out if dtype == "float32" else ops.cast(out, dtype)

    def __call__(self, x, training=False, seed=None, channel_axis=-1, scale=None):
        x32, _ = _as_float32(x)
        if scale is not None:
            hi = ops.cast(scale, "float32")
            lo = -hi if self.symmetric else ops.zeros_like(hi)
        else:
            lo, hi = self.range_of(x32, channel_axis)
        return self.fake_quant(x, lo, hi, channel_axis)

    def get_config(self):
        return {
            "bits": self.bits,
            "symmetric": self.symmetric,
            "per_channel": self.per_channel,
            "narrow_range": self.narrow_range,
        }

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"Uniform({args})"


def ap2(x):
    """`AP2(x) = sign(x) * 2^round(log2 |x|)`: the power of two nearest `x` in the log domain.

    The approximate power-of-two of Hubara et al. (arXiv:1609.07061, Sec. 3.3 and Alg. 3-4):
    multiplying by `AP2(y)` is a bit shift (`x <<>> y` in the paper). Zero stays zero.

    Example:
    >>> keras.ops.convert_to_numpy(ap2([0.3, -3.0, 0.0, 5.0])).tolist()
    [0.25, -4.0, 0.0, 4.0]
    """
    x, _ = _as_float32(x)
    mag = ops.abs(x)
    power = ops.power(2.0, ops.round(ops.log2(ops.maximum(mag, _TINY))))
    return ops.where(mag > 0, ops.sign(x) * power, 0.0)


@keras.saving.register_keras_serializable("tfmodels")
class LinearQuant(_Quantizer):
    """k-bit linear quantization on `[-1, 1]` (arXiv:1609.07061 Eq. 5, `LinearQuant`).

    `2^bits` evenly spaced levels from `-1` to `+1` (step `2 / (2^bits - 1)`), so `bits=1` is
    sign binarization and `bits=2` gives `{-1, -1/3, 1/3, 1}`: the k-bit activations and weights
    of the paper's QNNs, whose products are sums of bit-plane XNOR-popcounts. Values are clipped
    to `[-1, 1]` and rounded to the nearest level (stochastic: to one of the two neighbouring
    levels with probability proportional to proximity, unbiased inside the range). The
    straight-through gradient is 1 for `|x| <= 1` and 0 outside, as for `Binary`.

    Args:
        bits: 1 to 8.
        stochastic: stochastic rounding in training.
        scale: multiplies the levels (default 1.0).
        per_channel, seed: as for `Binary`.

    Example:
    >>> q = LinearQuant(bits=2)
    >>> [round(v, 4) for v in keras.ops.convert_to_numpy(q([-2.0, -0.2, 0.5, 0.9])).tolist()]
    [-1.0, -0.3333, 0.3333, 1.0]
    """

    _clip = 1.0

    def __init__(self, bits=2, stochastic=False, scale=1.0, per_channel=False, seed=None):
        super().__init__(scale=scale, per_channel=per_channel, seed=seed)
        if not isinstance(bits, int) or isinstance(bits, bool) or not 1 <= bits <= 8:
            raise ValueError(f"bits must be an integer in [1, 8]; got {bits!r}")
        self.bits = bits
        self.stochastic = bool(stochastic)
        self._steps = float(2**bits - 1)

    def _quantize(self, x, sample, seed):
        # Level index in [0, 2^bits - 1]; half-way values round up so that bits=1 is Binary.
        y = (ops.clip(x, -1.0, 1.0) + 1.0) * (self._steps / 2.0)
        if sample:
            y = ops.floor(y + keras.random.uniform(ops.shape(y), seed=seed))
        else:
            y = ops.floor(y + 0.5)
        return ops.clip(y, 0.0, self._steps) * (2.0 / self._steps) - 1.0

    def get_config(self):
        return {"bits": self.bits, "stochastic": self.stochastic, **super().get_config()}


@keras.saving.register_keras_serializable("tfmodels")
class LogQuant(_Quantizer):
    """k-bit logarithmic quantization (arXiv:1609.07061 Eq. 6, `LogQuant = Clip(AP2(x))`).

    `sign(x) * 2^round(log2 |x|)`, the exponent clipped to the `2^(bits-1)` values
    `max_exponent - 2^(bits-1) + 1 ... max_exponent` (the sign takes the other bit). Rounding is
    in the log domain (`ap2`), which is what distinguishes it from `Exponential`'s linear-domain
    rounding (arXiv:1608.06902). Exact zeros stay zero. Straight-through gradient 1 for
    `|x| <= 2^max_exponent`, 0 outside.

    Args:
        bits: 2 to 8.
        max_exponent: the largest exponent (0: magnitudes up to 1).
        scale, per_channel, seed: as for `Binary`.

    Example:
    >>> q = LogQuant(bits=3)
    >>> keras.ops.convert_to_numpy(q([0.3, -0.7, 0.01, 4.0])).tolist()
    [0.25, -0.5, 0.125, 1.0]
    """

    def __init__(self, bits=4, max_exponent=0, scale=1.0, per_channel=False, seed=None):
        super().__init__(scale=scale, per_channel=per_channel, seed=seed)
        if not isinstance(bits, int) or isinstance(bits, bool) or not 2 <= bits <= 8:
            raise ValueError(f"bits must be an integer in [2, 8]; got {bits!r}")
        if not isinstance(max_exponent, int) or isinstance(max_exponent, bool):
            raise ValueError(f"max_exponent must be an integer; got {max_exponent!r}")
        self.bits = bits
        self.max_exponent = max_exponent
        self.min_exponent = max_exponent - 2 ** (bits - 1) + 1
        self._clip = float(2.0**max_exponent)

    def _quantize(self, x, sample, seed):
        mag = ops.abs(x)
        k = ops.round(ops.log2(ops.maximum(mag, _TINY)))
        k = ops.clip(k, float(self.min_exponent), float(self.max_exponent))
        return ops.where(mag > 0, ops.sign(x) * ops.power(2.0, k), 0.0)

    def get_config(self):
        return {"bits": self.bits, "max_exponent": self.max_exponent, **super().get_config()}


def get_quantizer(quantizer, argument="quantizer"):
    """Returns `quantizer` as a quantizer object: None, a quantizer, or its serialized dict.

    Layers and cells call this on their quantizer arguments, so a config written by
    `serialize_quantizer` (or `keras.saving.serialize_keras_object`) comes back as an object.

    Args:
        quantizer: None, a `keras.quantizers.Quantizer` from this module, or its serialized dict.
        argument: the argument name used in the error message.

    Raises:
        ValueError: naming `argument`, for anything else (e.g. a string like "ternary").

    Example:
    >>> get_quantizer(serialize_quantizer(Ternary(scale=0.5)), "kernel_quantizer").scale
    0.5
    """
    if quantizer is None:
        return None
    if isinstance(quantizer, dict):
        quantizer = keras.saving.deserialize_keras_object(quantizer)
    if not (isinstance(quantizer, keras.quantizers.Quantizer) and callable(quantizer)):
        raise ValueError(
            f"{argument} must be a tfmodels.quantization quantizer (e.g. Uniform(), Ternary()) "
            f"or None; got {quantizer!r}"
        )
    return quantizer


def serialize_quantizer(quantizer):
    """The config of `quantizer` for a layer's `get_config` (None stays None)."""
    return None if quantizer is None else keras.saving.serialize_keras_object(quantizer)


def copy_quantizer(quantizer):
    """A fresh quantizer with the same config (None stays None).

    Layers copy the quantizers they are given, so one object passed to several layers is not
    shared state (stochastic quantizers own a seed generator).
    """
    return None if quantizer is None else type(quantizer).from_config(quantizer.get_config())
