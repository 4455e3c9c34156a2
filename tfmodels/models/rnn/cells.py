"""Quantized recurrent cells: Keras's SimpleRNN, GRU and LSTM cells with low-precision weights.

Ott et al., "Recurrent Neural Networks With Limited Numerical Precision" (arXiv:1608.06902,
extended as arXiv:1611.07065), train RNNs whose input weights, recurrent weights and biases are
binarized, ternarized, pow2-ternarized or exponentially quantized in every forward pass, while
the optimizer updates float "shadow" weights through a straight-through gradient (BinaryConnect,
arXiv:1511.00363). Each cell here is the Keras cell of the same name with that forward pass: same
weights, same layout, same equations, so with no quantizer it computes exactly what Keras's cell
computes.

Scales (the authors' per-matrix Glorot bounds): a quantizer configured with `scale="glorot"`
gets `sqrt(6 / (input_dim + units))` for the input kernel, `sqrt(6 / (2 * units))` for the
recurrent kernel and for the bias, i.e. the bound of one gate's matrix as the authors' code
allocates them, not of Keras's concatenated `(input_dim, gates * units)` kernel. Quantizers with
a numeric scale (`Pow2Ternary`, `Exponential`: fixed levels) keep their own.

Weights are quantized once per layer call when the cell runs inside `QuantSimpleRNN`,
`QuantGRU` or `QuantLSTM` (one stochastic sample per minibatch, as the authors do, and the
sampling happens outside the backend's loop, which JAX's `scan` requires). In a plain
`keras.layers.RNN`, deterministic quantizers quantize at every step (same result); stochastic
ones draw their sample before the loop, where `keras.layers.RNN` draws its dropout masks (it
calls the cell's `get_dropout_mask` there), and reuse it at every step: one sample per
minibatch too, and no random draw inside JAX's `scan` (which would leak the seed generator's
traced state: `UnexpectedTracerError`).

Mixed precision: the kernels and bias stay float32 and are not autocast; they are quantized in
float32 and the quantized weights are cast to the cell's compute dtype.
"""

import math

import keras
from keras import ops

from tfmodels.models.rnn.base import WeightCachingCell
from tfmodels.quantization import get_quantizer, serialize_quantizer


class _QuantCellMixin(WeightCachingCell):
    """Quantizer arguments, per-matrix scales, the per-call weight cache and config."""

    def _init_quantizers(self, kernel_quantizer, recurrent_quantizer, bias_quantizer):
        self.kernel_quantizer = get_quantizer(kernel_quantizer, "kernel_quantizer")
        self.recurrent_quantizer = get_quantizer(recurrent_quantizer, "recurrent_quantizer")
        self.bias_quantizer = get_quantizer(bias_quantizer, "bias_quantizer")
        self._sampled_weights = None

    def add_weight(self, *args, **kwargs):
        # Quantized in float32 from the float32 shadow weights, then cast (see `_quantize`).
        if kwargs.get("name") in ("kernel", "recurrent_kernel", "bias"):
            kwargs["autocast"] = False
        return super().add_weight(*args, **kwargs)

    @property
    def _stochastic(self):
        quantizers = (self.kernel_quantizer, self.recurrent_quantizer, self.bias_quantizer)
        return any(q is not None and q.stochastic for q in quantizers)

    def _quantize(self, quantizer, weight, bound, training):
        if weight is None:
            return None
        weight = ops.convert_to_tensor(weight)
        if quantizer is not None:
            scale = bound if getattr(quantizer, "scale", None) == "glorot" else None
            weight = quantizer(
                weight, training=bool(training), seed=self.seed_generator, scale=scale
            )
        return ops.cast(weight, self.compute_dtype)

    def quantized_weights(self, training=False):
        """`(kernel, recurrent_kernel, bias)` as the cell computes with them (bias may be None).

        With `training=True` stochastic quantizers draw a fresh sample. These are the values an
        exported model stores (before the converter's own int8 rounding).
        """
        input_dim = self.kernel.shape[0]
        kernel_bound = math.sqrt(6.0 / (input_dim + self.units))
        recurrent_bound = math.sqrt(6.0 / (2 * self.units))
        return (
            self._quantize(self.kernel_quantizer, self.kernel, kernel_bound, training),
            self._quantize(
                self.recurrent_quantizer, self.recurrent_kernel, recurrent_bound, training
            ),
            self._quantize(self.bias_quantizer, self.bias, recurrent_bound, training),
        )

    def _weights(self, training):
        if self._cached_weights is None and training and self._sampled_weights is not None:
            return self._sampled_weights
        return self.cached_or_quantized_weights(training)

    def get_dropout_mask(self, step_input):
        """Keras's dropout mask; also draws the stochastic weight sample of this sequence.

        `keras.layers.RNN` calls this once before its loop (to keep the loop free of random
        draws, which JAX's `scan` requires) and `reset_dropout_mask` after it; the sample is
        used by training-mode steps until then. The cells' own steps read the mask through
        `_input_dropout_mask`, so they never draw here.
        """
        if self._stochastic and self._cached_weights is None and self._sampled_weights is None:
            self._sampled_weights = self.quantized_weights(training=True)
        return super().get_dropout_mask(step_input)

    def reset_dropout_mask(self):
        self._sampled_weights = None
        super().reset_dropout_mask()

    def _input_dropout_mask(self, step_input):
        return super().get_dropout_mask(step_input)

    def _single_dropout_mask(self):
        # One mask shared by all gates (Keras's implementation 2); implementation 1 splits the
        # kernel per gate, which the quantized forward pass does not need.
        self.implementation = 2
        if hasattr(self, "dropout_mask_count"):
            del self.dropout_mask_count

    def _quantizer_config(self):
        return {
            "kernel_quantizer": serialize_quantizer(self.kernel_quantizer),
            "recurrent_quantizer": serialize_quantizer(self.recurrent_quantizer),
            "bias_quantizer": serialize_quantizer(self.bias_quantizer),
        }


@keras.saving.register_keras_serializable("tfmodels")
class QuantSimpleRNNCell(_QuantCellMixin, keras.layers.SimpleRNNCell):
    """`keras.layers.SimpleRNNCell` with quantized weights: `h = act(x W + h R + b)`.

    Args:
        units: state size.
        kernel_quantizer: quantizer of the input kernel (None = float), e.g. `Ternary()`.
        recurrent_quantizer: quantizer of the recurrent kernel (None = float).
        bias_quantizer: quantizer of the bias (None = float).
        **kwargs: every `keras.layers.SimpleRNNCell` argument.

    Shapes: inputs `(batch, features)`, state `(batch, units)` -> output `(batch, units)`.

    Example:
    >>> from tfmodels.quantization import Ternary
    >>> cell = QuantSimpleRNNCell(4, kernel_quantizer=Ternary(), recurrent_quantizer=Ternary())
    >>> tuple(keras.layers.RNN(cell)(keras.ops.ones((2, 5, 3))).shape)
    (2, 4)
    """

    def __init__(
        self, units, kernel_quantizer=None, recurrent_quantizer=None, bias_quantizer=None, **kwargs
    ):
        super().__init__(units, **kwargs)
        self._init_quantizers(kernel_quantizer, recurrent_quantizer, bias_quantizer)

    def call(self, sequence, states, training=False):
        prev_output = states[0] if isinstance(states, (list, tuple)) else states
        kernel, recurrent_kernel, bias = self._weights(training)
        dp_mask = self._input_dropout_mask(sequence)
        rec_dp_mask = self.get_recurrent_dropout_mask(prev_output)
        if training and dp_mask is not None:
            sequence = sequence * dp_mask
        h = ops.matmul(sequence, kernel)
        if bias is not None:
            h = ops.add(h, bias)
        if training and rec_dp_mask is not None:
            prev_output = prev_output * rec_dp_mask
        output = h + ops.matmul(prev_output, recurrent_kernel)
        if self.activation is not None:
            output = self.activation(output)
        new_state = [output] if isinstance(states, (list, tuple)) else output
        return output, new_state

    def get_config(self):
        return {**super().get_config(), **self._quantizer_config()}


@keras.saving.register_keras_serializable("tfmodels")
class QuantGRUCell(_QuantCellMixin, keras.layers.GRUCell):
    """`keras.layers.GRUCell` with quantized weights.

    Keras's default `reset_after=True` applies the reset gate after the recurrent matmul and
    keeps separate input and recurrent biases (bias shape `(2, 3 * units)`, the cuDNN
    convention); `reset_after=False` is the original GRU (Cho et al.) with one bias `(3 * units,)`
    and the reset gate applied to the state before the matmul. Both match Keras's cell exactly.
    Gate order in the kernels: update `z`, reset `r`, candidate `h`.

    Args:
        units: state size.
        kernel_quantizer: quantizer of the input kernel (None = float), e.g. `Ternary()`.
        recurrent_quantizer: quantizer of the recurrent kernel (None = float).
        bias_quantizer: quantizer of the biases (None = float).
        **kwargs: every `keras.layers.GRUCell` argument.

    Shapes: inputs `(batch, features)`, state `(batch, units)` -> output `(batch, units)`.

    Example:
    >>> from tfmodels.quantization import Pow2Ternary
    >>> cell = QuantGRUCell(4, kernel_quantizer=Pow2Ternary(), recurrent_quantizer=Pow2Ternary())
    >>> tuple(keras.layers.RNN(cell)(keras.ops.ones((2, 5, 3))).shape)
    (2, 4)
    """

    def __init__(
        self, units, kernel_quantizer=None, recurrent_quantizer=None, bias_quantizer=None, **kwargs
    ):
        super().__init__(units, **kwargs)
        self._init_quantizers(kernel_quantizer, recurrent_quantizer, bias_quantizer)
        self._single_dropout_mask()

    def call(self, inputs, states, training=False):
        h_tm1 = states[0] if isinstance(states, (list, tuple)) else states
        kernel, recurrent_kernel, bias = self._weights(training)
        input_bias = recurrent_bias = None
        if bias is not None:
            if self.reset_after:
                input_bias, recurrent_bias = bias[0], bias[1]
            else:
                input_bias = bias
        if training and 0.0 < self.dropout < 1.0:
            inputs = inputs * self._input_dropout_mask(inputs)
        if training and 0.0 < self.recurrent_dropout < 1.0:
            h_tm1_dropped = h_tm1 * self.get_recurrent_dropout_mask(h_tm1)
        else:
            h_tm1_dropped = h_tm1

        matrix_x = ops.matmul(inputs, kernel)
        if input_bias is not None:
            matrix_x = ops.add(matrix_x, input_bias)
        x_z, x_r, x_h = ops.split(matrix_x, 3, axis=-1)
        u = self.units
        if self.reset_after:
            matrix_inner = ops.matmul(h_tm1_dropped, recurrent_kernel)
            if recurrent_bias is not None:
                matrix_inner = ops.add(matrix_inner, recurrent_bias)
        else:
            matrix_inner = ops.matmul(h_tm1_dropped, recurrent_kernel[:, : 2 * u])
        z = self.recurrent_activation(x_z + matrix_inner[:, :u])
        r = self.recurrent_activation(x_r + matrix_inner[:, u : 2 * u])
        if self.reset_after:
            recurrent_h = r * matrix_inner[:, 2 * u :]
        else:
            recurrent_h = ops.matmul(r * h_tm1_dropped, recurrent_kernel[:, 2 * u :])
        hh = self.activation(x_h + recurrent_h)
        h = z * h_tm1 + (1 - z) * hh
        new_state = [h] if isinstance(states, (list, tuple)) else h
        return h, new_state

    def get_config(self):
        return {**super().get_config(), **self._quantizer_config()}


@keras.saving.register_keras_serializable("tfmodels")
class QuantLSTMCell(_QuantCellMixin, keras.layers.LSTMCell):
    """`keras.layers.LSTMCell` with quantized weights.

    Gate order in the kernels and bias: input `i`, forget `f`, candidate `c`, output `o`
    (Keras's, and TFLite's fused LSTM's). States are `[h, c]`.

    Args:
        units: state size.
        kernel_quantizer: quantizer of the input kernel (None = float), e.g. `Ternary()`.
        recurrent_quantizer: quantizer of the recurrent kernel (None = float).
        bias_quantizer: quantizer of the bias (None = float). Note that the forget-gate bias
            starts at 1 (`unit_forget_bias`), which a fixed-level quantizer rounds.
        **kwargs: every `keras.layers.LSTMCell` argument.

    Shapes: inputs `(batch, features)`, states `[(batch, units)] * 2` -> output
    `(batch, units)`.

    Example:
    >>> from tfmodels.quantization import Exponential
    >>> cell = QuantLSTMCell(4, kernel_quantizer=Exponential(bits=4))
    >>> tuple(keras.layers.RNN(cell)(keras.ops.ones((2, 5, 3))).shape)
    (2, 4)
    """

    def __init__(
        self, units, kernel_quantizer=None, recurrent_quantizer=None, bias_quantizer=None, **kwargs
    ):
        super().__init__(units, **kwargs)
        self._init_quantizers(kernel_quantizer, recurrent_quantizer, bias_quantizer)
        self._single_dropout_mask()

    def call(self, inputs, states, training=False):
        h_tm1, c_tm1 = states[0], states[1]
        kernel, recurrent_kernel, bias = self._weights(training)
        if training and 0.0 < self.dropout < 1.0:
            inputs = inputs * self._input_dropout_mask(inputs)
        if training and 0.0 < self.recurrent_dropout < 1.0:
            h_tm1 = h_tm1 * self.get_recurrent_dropout_mask(h_tm1)
        z = ops.matmul(inputs, kernel)
        z = ops.add(z, ops.matmul(h_tm1, recurrent_kernel))
        if bias is not None:
            z = ops.add(z, bias)
        z_i, z_f, z_c, z_o = ops.split(z, 4, axis=1)
        i = self.recurrent_activation(z_i)
        f = self.recurrent_activation(z_f)
        c = f * c_tm1 + i * self.activation(z_c)
        o = self.recurrent_activation(z_o)
        h = o * self.activation(c)
        return h, [h, c]

    def get_config(self):
        return {**super().get_config(), **self._quantizer_config()}
