"""Quantized recurrent layers: `keras.layers.RNN` around the quantized cells of `cells.py`.

`QuantSimpleRNN`, `QuantGRU` and `QuantLSTM` have Keras's RNN semantics (`return_sequences`,
`return_state`, `stateful`, `go_backwards`, `unroll`, masking, `initial_state`); looping and
state handling are `keras.layers.RNN`'s. On top, each layer quantizes its cell's weights once per
call (one stochastic sample per minibatch, drawn outside the backend loop), and can batch-normalize
its input features first, as Ott et al. do for their GRUs (arXiv:1608.06902, Sec. 3).
"""

import inspect

import keras

from tfmodels.models.rnn.base import WeightCachingRNN
from tfmodels.models.rnn.cells import QuantGRUCell, QuantLSTMCell, QuantSimpleRNNCell
from tfmodels.quantization import Binary, Exponential, Pow2Ternary, Ternary

_RNN_ARGS = (
    "return_sequences",
    "return_state",
    "go_backwards",
    "stateful",
    "unroll",
    "zero_output_for_mask",
)
# Layer arguments the cell shares with its layer.
_SHARED_ARGS = ("dtype", "trainable")


class _QuantRNN(WeightCachingRNN):
    """Shared by the quantized RNN layers: splits cell from layer arguments, config, batch norm."""

    cell_class = None
    cell_name = None

    def __init__(
        self,
        units,
        kernel_quantizer=None,
        recurrent_quantizer=None,
        bias_quantizer=None,
        input_batch_norm=False,
        **kwargs,
    ):
        cell_params = set(inspect.signature(self.cell_class.__init__).parameters)
        for base in self.cell_class.__mro__[1:]:
            if issubclass(base, keras.layers.Layer) and base is not keras.layers.Layer:
                cell_params |= set(inspect.signature(base.__init__).parameters)
                break
        cell_params -= {"self", "units", "kwargs", "name"}
        unknown_rnn = {"cell"} & set(kwargs)
        if unknown_rnn:
            raise ValueError(f"{type(self).__name__} builds its own cell; do not pass `cell`")
        cell_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in cell_params}
        for k in _SHARED_ARGS:
            if k in kwargs:
                cell_kwargs[k] = kwargs[k]
        cell = self.cell_class(
            units,
            kernel_quantizer=kernel_quantizer,
            recurrent_quantizer=recurrent_quantizer,
            bias_quantizer=bias_quantizer,
            name=self.cell_name,
            **cell_kwargs,
        )
        super().__init__(cell, **kwargs)
        self.input_spec = keras.layers.InputSpec(ndim=3)
        if not isinstance(input_batch_norm, bool):
            raise ValueError(f"input_batch_norm must be True or False; got {input_batch_norm!r}")
        self.input_batch_norm = input_batch_norm
        self.input_norm = (
            keras.layers.BatchNormalization(
                dtype=kwargs.get("dtype"), name="input_batch_norm"
            )
            if input_batch_norm
            else None
        )

    @property
    def units(self):
        return self.cell.units

    def build(self, sequences_shape, initial_state_shape=None):
        if self.input_norm is not None and not self.input_norm.built:
            self.input_norm.build(sequences_shape)
        super().build(sequences_shape, initial_state_shape)

    def call(self, sequences, initial_state=None, mask=None, training=False):
        if self.input_norm is not None:
            sequences = self.input_norm(sequences, training=training, mask=mask)
        return super().call(
            sequences, initial_state=initial_state, mask=mask, training=training
        )

    def get_config(self):
        return {**super().get_config(), "input_batch_norm": self.input_batch_norm}


@keras.saving.register_keras_serializable("tfmodels")
class QuantSimpleRNN(_QuantRNN):
    """`keras.layers.SimpleRNN` with quantized weights (a `QuantSimpleRNNCell` in an RNN).

    Args:
        units: state size.
        kernel_quantizer, recurrent_quantizer, bias_quantizer: quantizers of the input kernel,
            the recurrent kernel and the bias (None = float), e.g. `Ternary()`.
        input_batch_norm: batch-normalize the input features (over batch and time) before the
            recurrence.
        **kwargs: every `keras.layers.SimpleRNNCell` argument (activation, initializers,
            dropout, seed, ...) and every `keras.layers.RNN` argument (return_sequences,
            return_state, go_backwards, stateful, unroll, name, ...).

    Shapes: `(batch, time, features)` -> `(batch, units)`, or `(batch, time, units)` with
    `return_sequences`; plus the final state with `return_state`.

    Example:
    >>> from tfmodels.quantization import Ternary
    >>> rnn = QuantSimpleRNN(4, kernel_quantizer=Ternary(), return_sequences=True)
    >>> tuple(rnn(keras.ops.ones((2, 5, 3))).shape)
    (2, 5, 4)
    """

    cell_class = QuantSimpleRNNCell
    cell_name = "simple_rnn_cell"


@keras.saving.register_keras_serializable("tfmodels")
class QuantGRU(_QuantRNN):
    """`keras.layers.GRU` with quantized weights (a `QuantGRUCell` in an RNN).

    Keras's `reset_after=True` convention by default (see `QuantGRUCell`).

    Args:
        units: state size.
        kernel_quantizer, recurrent_quantizer, bias_quantizer: quantizers of the input kernel,
            the recurrent kernel and the biases (None = float).
        input_batch_norm: batch-normalize the input features before the recurrence, as the
            authors do for GRUs.
        **kwargs: every `keras.layers.GRUCell` and `keras.layers.RNN` argument.

    Shapes: `(batch, time, features)` -> `(batch, units)` or `(batch, time, units)`.

    Example:
    >>> from tfmodels.quantization import Pow2Ternary
    >>> gru = QuantGRU(4, kernel_quantizer=Pow2Ternary(), input_batch_norm=True)
    >>> tuple(gru(keras.ops.ones((2, 5, 3))).shape)
    (2, 4)
    """

    cell_class = QuantGRUCell
    cell_name = "gru_cell"


@keras.saving.register_keras_serializable("tfmodels")
class QuantLSTM(_QuantRNN):
    """`keras.layers.LSTM` with quantized weights (a `QuantLSTMCell` in an RNN).

    Args:
        units: state size.
        kernel_quantizer, recurrent_quantizer, bias_quantizer: quantizers of the input kernel,
            the recurrent kernel and the bias (None = float).
        input_batch_norm: batch-normalize the input features before the recurrence.
        **kwargs: every `keras.layers.LSTMCell` and `keras.layers.RNN` argument.

    Shapes: `(batch, time, features)` -> `(batch, units)` or `(batch, time, units)`; with
    `return_state`, also the final `h` and `c`.

    Example:
    >>> from tfmodels.quantization import Exponential
    >>> lstm = QuantLSTM(4, kernel_quantizer=Exponential(bits=4), return_state=True)
    >>> [tuple(t.shape) for t in lstm(keras.ops.ones((2, 5, 3)))]
    [(2, 4), (2, 4), (2, 4)]
    """

    cell_class = QuantLSTMCell
    cell_name = "lstm_cell"


RNN_LAYERS = {"rnn": QuantSimpleRNN, "gru": QuantGRU, "lstm": QuantLSTM}

# The schemes compared by Ott et al. (arXiv:1608.06902, Table 1-3). Binary and ternary scales are
# the per-matrix Glorot bounds (`scale="glorot"`, resolved by the cells); pow2-ternary levels are
# {-0.5, 0, 0.5}; exponential uses 4 bits: sign and exponents -7..0.
QUANTIZER_PRESETS = {
    "float": lambda stochastic: None,
    "binary": lambda stochastic: Binary(stochastic=stochastic, scale="glorot"),
    "ternary": lambda stochastic: Ternary(stochastic=stochastic),
    "pow2_ternary": lambda stochastic: Pow2Ternary(stochastic=stochastic),
    "exponential": lambda stochastic: Exponential(bits=4, stochastic=stochastic),
}


def quantizers(name, stochastic=False):
    """The quantizer arguments of a named preset, for `QuantLSTM(**quantizers("ternary"))`.

    Args:
        name: "float", "binary", "ternary", "pow2_ternary" or "exponential".
        stochastic: the stochastic variant (samples in training only).

    Returns:
        `{"kernel_quantizer": q, "recurrent_quantizer": q, "bias_quantizer": q}` with fresh
        quantizer objects (None for "float").
    """
    if name not in QUANTIZER_PRESETS:
        raise ValueError(f"quantizer must be one of {sorted(QUANTIZER_PRESETS)}; got {name!r}")
    make = QUANTIZER_PRESETS[name]
    return {
        "kernel_quantizer": make(stochastic),
        "recurrent_quantizer": make(stochastic),
        "bias_quantizer": make(stochastic),
    }
