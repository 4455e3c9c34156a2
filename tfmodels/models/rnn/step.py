"""Streaming step models: one time step of a sequence model, states in and out.

`step_model(model)` turns a chain `Input -> per-step layers -> RNN layers -> per-step head` (a
char-LM, a sequence classifier) into `{"x": x_t, "<layer>_h": ..., ...} -> {"y": y_t,
"<layer>_h": ..., ...}`: the same layer objects (so the same weights), each RNN replaced by one
call of its cell. This is what a device runs: it needs no loop op, so it converts to builtin
TFLite ops and to int8, and the caller keeps the states between calls.

State names are `<rnn layer name>_<k>` with `k` = `h` (SimpleRNN, GRU) or `h`, `c` (LSTM), or
the cell's own `state_suffixes` (`HMLSTMCell`: `h0`, `c0`, `z0`, `h1`, ... per stacked layer).
"""

import keras
import numpy as np

_STATE_SUFFIXES = {1: ("h",), 2: ("h", "c")}


def _state_sizes(layer):
    sizes = layer.cell.state_size
    return [sizes] if isinstance(sizes, int) else list(sizes)


def rnn_layers(model):
    """The `keras.layers.RNN` layers of `model`, in order."""
    return [layer for layer in model.layers if isinstance(layer, keras.layers.RNN)]


def state_names(model):
    """`[(name, size)]` of the step model's state inputs, in call order."""
    names = []
    for layer in rnn_layers(model):
        sizes = _state_sizes(layer)
        # A cell with other states names them (HMLSTMCell: h0, c0, z0, h1, ...).
        suffixes = getattr(layer.cell, "state_suffixes", None) or _STATE_SUFFIXES.get(len(sizes))
        if suffixes is None or len(suffixes) != len(sizes):
            raise ValueError(f"RNN layer {layer.name!r} has {len(sizes)} states; 1 or 2 supported "
                             "(or a cell with `state_suffixes`)")
        names += [(f"{layer.name}_{s}", n) for s, n in zip(suffixes, sizes)]
    return names


def step_model(model, batch_size=None):
    """Builds the one-step model `(x_t, *states) -> (y_t, *new_states)` of a sequence model.

    Args:
        model: a functional or Sequential model whose layers form one chain: an input of shape
            `(time, ...)`, per-step layers (Embedding, Dense, Dropout, ...), RNN layers (ours or
            Keras's, with `return_sequences=True` except possibly the last) and per-step layers.
            Layers after a non-sequence RNN see its last output, as in the sequence model.
        batch_size: fixed batch size of the step model (None = dynamic).

    Returns:
        A `keras.Model` with dict inputs `{"x": (batch, *features), state name: (batch, size)}`
        and dict outputs `{"y": (batch, ...), state name: (batch, size)}`, sharing the
        weights of `model`. Stepping it from zero states over a sequence reproduces `model`.

    Raises:
        ValueError: the model is not such a chain, or has no RNN layer.

    Example:
        step = step_model(char_lm_model)
        out = step({"x": ids[:, 0], **zero_states})   # out["y"]: next-character logits
    """
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    if not rnn_layers(model):
        raise ValueError(f"model {model.name!r} has no RNN layer to step")
    if len(model.inputs) != 1:
        raise ValueError(f"model {model.name!r} must have one input, has {len(model.inputs)}")
    source = model.inputs[0]
    if len(source.shape) < 2:
        raise ValueError(f"model {model.name!r} input must be (batch, time, ...), got {source.shape}")
    previous = source
    for layer in layers:
        if layer.input is not previous and not _same_tensor(layer.input, previous):
            raise ValueError(
                f"model {model.name!r} is not a chain of layers: {layer.name!r} does not take "
                "the previous layer's output"
            )
        previous = layer.output

    x = keras.Input(batch_shape=(batch_size,) + tuple(source.shape[2:]), dtype=source.dtype,
                    name="x")
    states_in = {
        name: keras.Input(batch_shape=(batch_size, size), dtype="float32", name=name)
        for name, size in state_names(model)
    }
    states_out = {}
    h = x
    for layer in layers:
        if isinstance(layer, keras.layers.RNN):
            names = [n for n, _ in state_names(model) if n.rsplit("_", 1)[0] == layer.name]
            h, *new_states = _CellStep(layer, name=f"{layer.name}_step")(
                h, [states_in[n] for n in names]
            )
            states_out.update(zip(names, new_states))
        else:
            h = layer(h, training=False)
    outputs = {"y": h, **states_out}
    return keras.Model({"x": x, **states_in}, outputs, name=f"{model.name}_step")


class _CellStep(keras.layers.Layer):
    """One step of an RNN layer: its input batch norm (if any), then its cell.

    A layer of its own so that every step gets a unique name in the functional graph (Keras
    names the cells of all LSTM layers "lstm_cell").
    """

    def __init__(self, rnn, **kwargs):
        super().__init__(**kwargs)
        self.cell = rnn.cell
        self.norm = getattr(rnn, "input_norm", None)

    def call(self, x, states):
        if self.norm is not None:
            # The inference transform of the layer's BatchNormalization (built for 3-D input).
            n = self.norm
            x = keras.ops.batch_normalization(
                x, n.moving_mean, n.moving_variance, axis=-1, offset=n.beta, scale=n.gamma,
                epsilon=n.epsilon,
            )
        h, new_states = self.cell(x, list(states), training=False)
        new_states = new_states if isinstance(new_states, (list, tuple)) else [new_states]
        return [h, *new_states]


def _same_tensor(a, b):
    return getattr(a, "_keras_history", None) == getattr(b, "_keras_history", None)


def zero_states(model, batch_size=1):
    """`{state name: zeros (batch_size, size)}` for `step_model(model)`."""
    return {name: np.zeros((batch_size, size), "float32") for name, size in state_names(model)}
