"""Hierarchical Multiscale LSTM (Chung, Ahn & Bengio, arXiv:1609.01704): cell, layer, output module.

An HM-LSTM is a stack of LSTM layers in which every layer `l` has a binary boundary detector
`z^l`. A layer above a boundary-free step of the layer below copies its state (COPY), updates
it when the layer below has just ended a segment (UPDATE), and starts afresh after ending a
segment of its own (FLUSH). In the paper, layer 1's boundaries learn to fall near the ends of
words on text, without boundary labels. The paper's equations (cited by meaning, not number:
the numbering differs between the arXiv versions), for layer `l` at step `t`, with
`h^0_t = x_t`, `z^0_t = 1` and no top-down term in the top layer `L`:

    s = U^l h^l_{t-1} + z^l_{t-1} U'^l h^{l+1}_{t-1} + z^{l-1}_t W^l h^{l-1}_t + b^l
    [f, i, o, g, z~] = [sigm, sigm, sigm, tanh, hard_sigm](s)
    c^l_t = i * g                     if z^l_{t-1} = 1                    (FLUSH)
          = f * c^l_{t-1} + i * g     if z^l_{t-1} = 0 and z^{l-1}_t = 1   (UPDATE)
          = c^l_{t-1}                 if z^l_{t-1} = 0 and z^{l-1}_t = 0   (COPY)
    h^l_t = h^l_{t-1} if COPY, else o * tanh(c^l_t)
    z^l_t = 1[z~ > 0.5],  z~ = hard_sigm(a s_z) = clip((a s_z + 1) / 2, 0, 1)

The step function has no gradient; the straight-through estimator backpropagates
through `z` as if it were `z~`: `dz / ds_z = a / 2` where `|a s_z| < 1`, 0 elsewhere. The slope
`a` starts at 1 and is annealed upward during training (`SlopeAnnealing`, the paper's
`min(5, 1 + 0.04 * epoch)`), which makes the estimator less biased. The boundary masks enter
the cell as multiplications by the 0/1 values `z` (as in the equations), so gradients also
reach `z` through the states it selects.

The top layer has a boundary detector like the others: with no layer above, its `z^L` only
decides when the top layer flushes itself (the equations read literally; re-implementations
differ here, some fixing `z^L = 0`).

The output module combines all layers with learned gates:
`h_e = ReLU(sum_l g^l W^l h^l)`, `g^l = sigm(w^l [h^1; ...; h^L])` (`HMLSTMOutput`).

Example:
    >>> cell = HMLSTMCell([8, 8])
    >>> out = keras.layers.RNN(cell, return_sequences=True)(keras.ops.ones((2, 5, 3)))
    >>> tuple(out.shape)  # [h^1, h^2, z^1, z^2] at every step
    (2, 5, 18)
"""

import math

import keras
import numpy as np
from keras import ops

from tfmodels.models.rnn.base import WeightCachingCell, WeightCachingRNN
from tfmodels.quantization import get_quantizer, serialize_quantizer

# Slots of the pre-activation, in the paper's order: forget, input, output, candidate,
# boundary (one unit).
GATES = ("f", "i", "o", "g", "z")


def hard_sigmoid(x, slope=1.0):
    """`clip((slope * x + 1) / 2, 0, 1)`, the paper's `hard_sigm` (arXiv:1609.01704)."""
    return ops.clip((slope * x + 1.0) / 2.0, 0.0, 1.0)


def boundary(pre_activation, slope=1.0, training=False):
    """The boundary detector: `1[hard_sigm(a x) > 0.5]` forward, STE of `hard_sigm(a x)` backward.

    `hard_sigm(a x) > 0.5` iff `x > 0` (for `a > 0`), so the forward value does not depend on
    the slope and is exactly 0 or 1. With `training=True` the gradient is that of
    `hard_sigm(slope * x)`: `slope / 2` where `|slope * x| < 1`, 0 elsewhere; at inference the
    function is a plain comparison (what an exported model computes).

    Args:
        pre_activation: the boundary slot `s_z` of the pre-activation.
        slope: `a`, a float or scalar tensor (annealed during training).
        training: attach the straight-through gradient.
    """
    z = ops.cast(ops.greater(pre_activation, 0.0), pre_activation.dtype)
    if not training:
        return z
    soft = hard_sigmoid(pre_activation, slope)
    # Forward exactly z (t - t == 0 in IEEE arithmetic), gradient d soft / d x.
    return z + (soft - ops.stop_gradient(soft))


def _layer_units(units, num_layers):
    if isinstance(units, int) and not isinstance(units, bool):
        if not isinstance(num_layers, int) or isinstance(num_layers, bool) or num_layers < 1:
            raise ValueError(f"num_layers must be a positive integer; got {num_layers!r}")
        units = [units] * num_layers
    elif isinstance(units, (list, tuple)):
        if num_layers is not None and num_layers != len(units):
            raise ValueError(f"num_layers={num_layers!r} does not match units={list(units)!r}")
    else:
        raise ValueError(f"units must be a positive integer or a list of them; got {units!r}")
    units = list(units)
    if not units or any(not isinstance(u, int) or isinstance(u, bool) or u < 1 for u in units):
        raise ValueError(f"units must be positive integers; got {units!r}")
    return units


@keras.saving.register_keras_serializable("tfmodels")
class HMLSTMCell(WeightCachingCell, keras.layers.Layer):
    """All layers of an HM-LSTM stack in one Keras RNN cell (arXiv:1609.01704).

    One cell holds the whole stack because layer `l` at step `t` needs layer `l + 1`'s state
    from step `t - 1` (the top-down term) and layer `l - 1`'s from step `t`. Wrap it in
    `keras.layers.RNN` (or use `HMLSTM`, which also quantizes the weights once per call).

    Weights of layer `l` (0-based names), each with `4 * units[l] + 1` columns in the order
    `f, i, o, g, z`: `kernel_l` (bottom-up `W`, `(input, 4u+1)`), `recurrent_kernel_l`
    (`U`, `(u, 4u+1)`), `topdown_kernel_l` (`U'`, `(units[l+1], 4u+1)`, not in the top layer),
    `bias_l`; with `layer_norm`, `ln_gamma_l`. Plus the non-trainable scalar `slope`.

    Args:
        units: units per layer, a list (`[512, 512, 512]`), or one integer with `num_layers`.
        num_layers: layers when `units` is an integer (default 3, the paper's).
        kernel_quantizer: quantizer of the bottom-up kernels `W` (None = float); the project's
            quantizers, e.g. `Ternary()`; `scale="glorot"` resolves per matrix.
        recurrent_quantizer: quantizer of the recurrent and top-down kernels `U`, `U'`.
        bias_quantizer: quantizer of the biases.
        layer_norm: layer-normalize each layer's pre-activation (the paper's best rows use
            layer normalization): `s = gamma * LN(sum of matmuls) + b`.
        slope: initial slope `a` of the hard sigmoid (annealed by `SlopeAnnealing`).
        forget_bias: initial bias of the forget gates (1.0, the usual LSTM choice).
        kernel_initializer, recurrent_initializer, bias_initializer: as for Keras's LSTMCell
            (the bias initializer sets every slot; `forget_bias` is added on top).
        seed: seed of the initializers' defaults and of stochastic quantizers.
        **kwargs: `keras.layers.Layer` arguments.

    Shapes: inputs `(batch, features)`; states, per layer `l`: `h^l (batch, units[l])`,
    `c^l (batch, units[l])`, `z^l (batch, 1)`; output `(batch, sum(units) + num_layers)`:
    `[h^1, ..., h^L, z^1, ..., z^L]` of the new step.

    Example:
    >>> from tfmodels.quantization import Ternary
    >>> cell = HMLSTMCell(4, num_layers=2, kernel_quantizer=Ternary())
    >>> tuple(keras.layers.RNN(cell)(keras.ops.ones((2, 5, 3))).shape)
    (2, 10)
    """

    def __init__(
        self,
        units,
        num_layers=None,
        kernel_quantizer=None,
        recurrent_quantizer=None,
        bias_quantizer=None,
        layer_norm=False,
        slope=1.0,
        forget_bias=1.0,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if isinstance(units, int) and num_layers is None:
            num_layers = 3
        self.layer_units = _layer_units(units, num_layers)
        self.num_layers = len(self.layer_units)
        if not isinstance(layer_norm, bool):
            raise ValueError(f"layer_norm must be True or False; got {layer_norm!r}")
        if isinstance(slope, bool) or not isinstance(slope, (int, float)) or not slope > 0:
            raise ValueError(f"slope must be a positive number; got {slope!r}")
        self.kernel_quantizer = get_quantizer(kernel_quantizer, "kernel_quantizer")
        self.recurrent_quantizer = get_quantizer(recurrent_quantizer, "recurrent_quantizer")
        self.bias_quantizer = get_quantizer(bias_quantizer, "bias_quantizer")
        self.layer_norm = layer_norm
        self.initial_slope = float(slope)
        self.forget_bias = float(forget_bias)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.state_size = [s for u in self.layer_units for s in (u, u, 1)]
        self.output_size = sum(self.layer_units) + self.num_layers
        # State names of the streaming step model (`tfmodels.models.rnn.step_model`).
        self.state_suffixes = tuple(
            f"{k}{l}" for l in range(self.num_layers) for k in ("h", "c", "z")
        )

    def build(self, input_shape):
        input_dim = input_shape[-1]
        self.kernels, self.recurrent_kernels, self.topdown_kernels = [], [], []
        self.biases, self.ln_gammas = [], []
        for l, u in enumerate(self.layer_units):
            below = input_dim if l == 0 else self.layer_units[l - 1]
            self.kernels.append(self.add_weight(
                shape=(below, 4 * u + 1), initializer=self.kernel_initializer,
                name=f"kernel_{l}"))
            self.recurrent_kernels.append(self.add_weight(
                shape=(u, 4 * u + 1), initializer=self.recurrent_initializer,
                name=f"recurrent_kernel_{l}"))
            if l + 1 < self.num_layers:
                self.topdown_kernels.append(self.add_weight(
                    shape=(self.layer_units[l + 1], 4 * u + 1),
                    initializer=self.recurrent_initializer, name=f"topdown_kernel_{l}"))
            self.biases.append(self.add_weight(
                shape=(4 * u + 1,), initializer=self._bias_initializer(u), name=f"bias_{l}"))
            if self.layer_norm:
                self.ln_gammas.append(self.add_weight(
                    shape=(4 * u + 1,), initializer="ones", name=f"ln_gamma_{l}"))
        self.slope = self.add_weight(
            shape=(), initializer=keras.initializers.Constant(self.initial_slope),
            trainable=False, name="slope")

    def _bias_initializer(self, u):
        base, forget_bias = self.bias_initializer, self.forget_bias

        def initializer(shape, dtype=None):
            value = base(shape, dtype=dtype)
            return ops.concatenate([value[:u] + forget_bias, value[u:]])

        return initializer

    # Quantized weights ---------------------------------------------------------------------
    def _quantize(self, quantizer, weight, bound, training):
        if quantizer is None:
            return weight
        scale = bound if getattr(quantizer, "scale", None) == "glorot" else None
        return quantizer(weight, training=bool(training), seed=self.seed_generator, scale=scale)

    def quantized_weights(self, training=False):
        """`{weight name: value}` of the weights the cell computes with (quantized ones only).

        With `training=True` stochastic quantizers draw a fresh sample. Bounds of
        `scale="glorot"` quantizers are per matrix: `sqrt(6 / (fan_in + units))` of one gate.
        """
        out = {}
        top = {l: w for l, w in enumerate(self.topdown_kernels)}
        for l, u in enumerate(self.layer_units):
            kernel = self.kernels[l]
            out[kernel.name] = self._quantize(
                self.kernel_quantizer, kernel, math.sqrt(6.0 / (kernel.shape[0] + u)), training)
            for w in (self.recurrent_kernels[l], top.get(l)):
                if w is not None:
                    out[w.name] = self._quantize(
                        self.recurrent_quantizer, w, math.sqrt(6.0 / (w.shape[0] + u)), training)
            out[self.biases[l].name] = self._quantize(
                self.bias_quantizer, self.biases[l], math.sqrt(3.0 / u), training)
        return out

    # Step ----------------------------------------------------------------------------------
    def _normalize(self, s, gamma):
        mean = ops.mean(s, axis=-1, keepdims=True)
        variance = ops.var(s, axis=-1, keepdims=True)
        return gamma * (s - mean) * ops.rsqrt(variance + 1e-5)

    def call(self, inputs, states, training=False):
        states = list(states)
        weights = self.cached_or_quantized_weights(training)
        slope = ops.convert_to_tensor(self.slope)
        h_prev = states[0::3]
        c_prev = states[1::3]
        z_prev = states[2::3]
        h_below, z_below = inputs, None  # z^0 = 1
        hs, cs, zs = [], [], []
        for l, u in enumerate(self.layer_units):
            bottom_up = ops.matmul(h_below, weights[self.kernels[l].name])
            if z_below is not None:
                bottom_up = z_below * bottom_up
            s = bottom_up + ops.matmul(h_prev[l], weights[self.recurrent_kernels[l].name])
            if l + 1 < self.num_layers:
                top_down = ops.matmul(h_prev[l + 1], weights[self.topdown_kernels[l].name])
                s = s + z_prev[l] * top_down
            if self.layer_norm:
                s = self._normalize(s, self.ln_gammas[l])
            s = s + weights[self.biases[l].name]
            f = ops.sigmoid(s[:, :u])
            i = ops.sigmoid(s[:, u : 2 * u])
            o = ops.sigmoid(s[:, 2 * u : 3 * u])
            g = ops.tanh(s[:, 3 * u : 4 * u])
            z = boundary(s[:, 4 * u :], slope, training)
            flush = z_prev[l]
            update = z_below if z_below is not None else ops.ones_like(flush)
            # FLUSH / UPDATE / COPY as products with the 0/1 masks.
            keep = 1.0 - flush
            c = flush * (i * g) + keep * (update * (f * c_prev[l] + i * g)
                                          + (1.0 - update) * c_prev[l])
            copy = keep * (1.0 - update)
            h = copy * h_prev[l] + (1.0 - copy) * (o * ops.tanh(c))
            hs.append(h)
            cs.append(c)
            zs.append(z)
            h_below, z_below = h, z
        new_states = [t for l in range(self.num_layers) for t in (hs[l], cs[l], zs[l])]
        return ops.concatenate(hs + zs, axis=-1), new_states

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, s), dtype=self.compute_dtype) for s in self.state_size]

    def get_config(self):
        return {
            **super().get_config(),
            "units": list(self.layer_units),
            "num_layers": self.num_layers,
            "kernel_quantizer": serialize_quantizer(self.kernel_quantizer),
            "recurrent_quantizer": serialize_quantizer(self.recurrent_quantizer),
            "bias_quantizer": serialize_quantizer(self.bias_quantizer),
            "layer_norm": self.layer_norm,
            "slope": self.initial_slope,
            "forget_bias": self.forget_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "seed": self.seed,
        }


_CELL_ARGS = (
    "num_layers", "kernel_quantizer", "recurrent_quantizer", "bias_quantizer", "layer_norm",
    "slope", "forget_bias", "kernel_initializer", "recurrent_initializer", "bias_initializer",
    "seed",
)


@keras.saving.register_keras_serializable("tfmodels")
class HMLSTM(WeightCachingRNN):
    """An HM-LSTM stack as one Keras RNN layer: `keras.layers.RNN(HMLSTMCell(...))`.

    On top of `keras.layers.RNN`, it quantizes the cell's weights once per call (one
    stochastic sample per minibatch, drawn outside the backend's loop) and keeps the cell's
    arguments in its own config.

    Args:
        units: units per layer (list), or one integer with `num_layers`.
        **kwargs: every `HMLSTMCell` argument (num_layers, quantizers, layer_norm, slope, ...)
            and every `keras.layers.RNN` argument (return_sequences, stateful, unroll, ...).

    Shapes: `(batch, time, features)` -> `(batch, sum(units) + num_layers)`, or with
    `return_sequences` `(batch, time, sum(units) + num_layers)`: `[h^1..h^L, z^1..z^L]`.

    Example:
    >>> rnn = HMLSTM([6, 4], return_sequences=True)
    >>> tuple(rnn(keras.ops.ones((2, 5, 3))).shape)
    (2, 5, 12)
    """

    def __init__(self, units, **kwargs):
        if "cell" in kwargs:
            raise ValueError("HMLSTM builds its own cell; do not pass `cell`")
        cell_kwargs = {k: kwargs.pop(k) for k in _CELL_ARGS if k in kwargs}
        for k in ("dtype", "trainable"):
            if k in kwargs:
                cell_kwargs[k] = kwargs[k]
        super().__init__(HMLSTMCell(units, name="hm_lstm_cell", **cell_kwargs), **kwargs)

    @property
    def layer_units(self):
        return self.cell.layer_units


@keras.saving.register_keras_serializable("tfmodels")
class HMLSTMOutput(keras.layers.Layer):
    """The HM-LSTM output module: `h_e = ReLU(sum_l g^l W^l h^l)` (arXiv:1609.01704).

    The gate `g^l = sigm(w^l [h^1; ...; h^L])` is one scalar per layer and step, so the model
    can weigh the layers by what they hold at that step.

    Args:
        units: size of `h_e`.
        layer_units: the HM-LSTM's units per layer (the input is `[h^1..h^L, z^1..z^L]`, what
            `HMLSTM` returns; the boundaries are ignored).
        kernel_initializer: of the `W^l` and `w^l`.
        **kwargs: `keras.layers.Layer` arguments.

    Shapes: `(..., sum(layer_units) + L)` -> `(..., units)`.

    Example:
    >>> tuple(HMLSTMOutput(5, [6, 4])(keras.ops.ones((2, 3, 12))).shape)
    (2, 3, 5)
    """

    def __init__(self, units, layer_units, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        if isinstance(units, bool) or not isinstance(units, int) or units < 1:
            raise ValueError(f"units must be a positive integer; got {units!r}")
        self.units = units
        self.layer_units = _layer_units(list(layer_units), None)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape):
        expected = sum(self.layer_units) + len(self.layer_units)
        if input_shape[-1] != expected:
            raise ValueError(f"HMLSTMOutput with layer_units={self.layer_units} expects "
                             f"{expected} input features; got {input_shape[-1]}")
        total = sum(self.layer_units)
        self.gate_kernel = self.add_weight(
            shape=(total, len(self.layer_units)), initializer=self.kernel_initializer,
            name="gate_kernel")
        self.kernels = [
            self.add_weight(shape=(u, self.units), initializer=self.kernel_initializer,
                            name=f"kernel_{l}")
            for l, u in enumerate(self.layer_units)
        ]

    def call(self, inputs):
        total = sum(self.layer_units)
        h_all = inputs[..., :total]
        gates = ops.sigmoid(ops.matmul(h_all, self.gate_kernel))
        out, start = 0.0, 0
        for l, u in enumerate(self.layer_units):
            out = out + gates[..., l : l + 1] * ops.matmul(
                h_all[..., start : start + u], self.kernels[l])
            start += u
        return ops.relu(out)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "layer_units": list(self.layer_units),
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        }


def hm_lstm_cells(model):
    """Every `HMLSTMCell` in `model` (nested models and RNN layers included)."""
    found, stack = [], [model]
    while stack:
        layer = stack.pop()
        if isinstance(layer, HMLSTMCell):
            found.append(layer)
        stack.extend(getattr(layer, "layers", []))
        if getattr(layer, "cell", None) is not None:
            stack.append(layer.cell)
    return found


class SlopeAnnealing(keras.callbacks.Callback):
    """Sets the hard-sigmoid slope of every `HMLSTMCell` at the start of each epoch.

    The paper (arXiv:1609.01704) anneals `a = min(5, 1 + 0.04 * epoch)`.

    Args:
        rate: slope increase per epoch (0.04).
        max_slope: the cap (5).
        initial: the slope at epoch 0 (1).
        cells: the cells to set; None finds them in the trained model.

    Example:
        model.fit(data, epochs=100, callbacks=[SlopeAnnealing()])
    """

    def __init__(self, rate=0.04, max_slope=5.0, initial=1.0, cells=None):
        super().__init__()
        for arg, value in (("rate", rate), ("max_slope", max_slope), ("initial", initial)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{arg} must be a number; got {value!r}")
        if not initial > 0 or max_slope < initial or rate < 0:
            raise ValueError(f"need 0 < initial <= max_slope and rate >= 0; got initial="
                             f"{initial!r}, max_slope={max_slope!r}, rate={rate!r}")
        self.rate, self.max_slope, self.initial = float(rate), float(max_slope), float(initial)
        self.cells = cells

    def slope(self, epoch):
        """The slope used in `epoch` (0-based)."""
        return min(self.max_slope, self.initial + self.rate * epoch)

    def on_epoch_begin(self, epoch, logs=None):
        cells = self.cells if self.cells is not None else hm_lstm_cells(self.model)
        if not cells:
            raise ValueError("SlopeAnnealing found no HMLSTMCell in the model")
        for cell in cells:
            cell.slope.assign(self.slope(epoch))


@keras.saving.register_keras_serializable("tfmodels")
class BoundaryRatePenalty(keras.losses.Loss):
    """Keeps each layer's boundary rate inside `[low, high]`: an attempt against the collapse.

    Not in the paper (arXiv:1609.01704). Short HM-LSTM runs here collapse within a few dozen
    steps to boundaries that never or always fire; this loss, on the boundaries `z`
    `(batch, time, L)` (the `HMLSTM` layer's last `L` outputs, straight-through gradient),
    adds per layer `relu(low - r_l) + relu(r_l - high)`, `r_l` the layer's rate over the batch
    and time. `y_true` is ignored. The straight-through gradient is 0 where `|a s| >= 1`, so
    it can only hold a layer in the band while its pre-activations are near 0, not revive a
    layer that has already saturated.

    Args:
        low, high: the band, `0 <= low <= high <= 1`.
    """

    def __init__(self, low=0.05, high=0.5, name="boundary_rate_penalty", **kwargs):
        super().__init__(name=name, **kwargs)
        if not 0.0 <= low <= high <= 1.0:
            raise ValueError(f"need 0 <= low <= high <= 1; got low={low!r}, high={high!r}")
        self.low, self.high = float(low), float(high)

    def call(self, y_true, y_pred):
        rates = ops.mean(ops.reshape(y_pred, (-1, ops.shape(y_pred)[-1])), axis=0)
        return ops.sum(ops.relu(self.low - rates) + ops.relu(rates - self.high))

    def get_config(self):
        return {**super().get_config(), "low": self.low, "high": self.high}


def hm_lstm_lm(
    vocabulary_size,
    units=128,
    num_layers=3,
    embedding_dim=32,
    output_units=None,
    layer_norm=False,
    kernel_quantizer=None,
    recurrent_quantizer=None,
    bias_quantizer=None,
    head_kernel_quantizer=None,
    seq_len=None,
    batch_size=None,
    stateful=False,
    seed=None,
    name="hm_lstm_lm",
):
    """Builds the HM-LSTM character language model of arXiv:1609.01704.

    `ids -> Embedding -> HMLSTM -> HMLSTMOutput (gated sum, ReLU) -> logits`, one chain of
    layers, so `tfmodels.models.rnn.step_model` and `tfmodels.export.rnn.export_step_tflite`
    take it as they take `char_lm`.

    Args:
        vocabulary_size: number of character ids (including UNK).
        units: units per HM-LSTM layer (an integer, or a list for unequal layers).
        num_layers: HM-LSTM layers when `units` is an integer (the paper uses 3).
        embedding_dim: size of the character embedding.
        output_units: size of the output module's `h_e` (None: the top layer's units).
        layer_norm: layer normalization in the cell (the paper's best rows).
        kernel_quantizer, recurrent_quantizer, bias_quantizer: quantizers of the HM-LSTM's
            weights (None = float), as in `char_lm`.
        head_kernel_quantizer: quantizer of the softmax layer's kernel.
        seq_len, batch_size, stateful: as for `char_lm`.
        seed: seed of the initializers.
        name: model name.

    Returns:
        A `keras.Model`: int ids `(batch, time)` -> logits `(batch, time, vocabulary_size)`.
        Its layer "hm_lstm" returns `[h^1..h^L, z^1..z^L]` (see `boundary_states`).

    Example:
    >>> model = hm_lstm_lm(30, units=8, num_layers=2)
    >>> tuple(model(keras.ops.zeros((2, 7), "int32")).shape)
    (2, 7, 30)
    """
    from tfmodels.quantization import QuantDense

    for arg, value in (("vocabulary_size", vocabulary_size), ("embedding_dim", embedding_dim)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{arg} must be a positive integer; got {value!r}")
    layer_units = _layer_units(units, None if isinstance(units, (list, tuple)) else num_layers)
    if output_units is None:
        output_units = layer_units[-1]
    if stateful and batch_size is None:
        raise ValueError("stateful=True needs a fixed batch_size")
    seeds = iter(range(1000 * (seed or 0), 1000 * (seed or 0) + 10))

    def next_seed():
        return None if seed is None else next(seeds)

    inputs = keras.Input(batch_shape=(batch_size, seq_len), dtype="int32", name="ids")
    x = keras.layers.Embedding(
        vocabulary_size, embedding_dim,
        embeddings_initializer=keras.initializers.RandomUniform(-0.1, 0.1, seed=next_seed()),
        name="embedding",
    )(inputs)
    x = HMLSTM(
        layer_units, layer_norm=layer_norm, kernel_quantizer=kernel_quantizer,
        recurrent_quantizer=recurrent_quantizer, bias_quantizer=bias_quantizer,
        kernel_initializer=keras.initializers.GlorotUniform(next_seed()),
        recurrent_initializer=keras.initializers.Orthogonal(seed=next_seed()),
        seed=next_seed(), return_sequences=True, stateful=stateful, name="hm_lstm",
    )(x)
    x = HMLSTMOutput(output_units, layer_units,
                     kernel_initializer=keras.initializers.GlorotUniform(next_seed()),
                     name="output_module")(x)
    logits = QuantDense(
        vocabulary_size, kernel_quantizer=head_kernel_quantizer,
        kernel_initializer=keras.initializers.GlorotUniform(next_seed()), name="logits",
    )(x)
    return keras.Model(inputs, logits, name=name)


def boundary_states(model, inputs, layer_name="hm_lstm", batch_size=64):
    """The boundary detectors `z^l_t` of the HM-LSTM layer of `model` over `inputs`.

    Args:
        model: a model with an `HMLSTM` layer (e.g. `hm_lstm_lm`).
        inputs: model inputs `(batch, time, ...)` (each row from zero state).
        layer_name: the HMLSTM layer's name.
        batch_size: prediction batch size.

    Returns:
        numpy `(batch, time, num_layers)` of 0/1: `[..., l]` is layer `l + 1`'s boundary after
        reading step `t`.
    """
    return np.asarray(boundary_probe(model, layer_name).predict(inputs, batch_size=batch_size,
                                                                verbose=0))


def boundary_probe(model, layer_name="hm_lstm"):
    """A `keras.Model` sharing `model`'s weights: inputs -> boundaries `(batch, time, L)`.

    Build it once and call `predict` on it repeatedly (as `BoundaryHistory` does during
    training): each new probe model traces its predict function again.
    """
    layer = model.get_layer(layer_name)
    if not isinstance(layer, HMLSTM):
        raise ValueError(f"layer {layer_name!r} of model {model.name!r} is not an HMLSTM")
    return keras.Model(model.inputs, layer.output[..., -layer.cell.num_layers:],
                       name=f"{model.name}_boundaries")
