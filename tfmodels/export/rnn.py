"""RNN export for devices: streaming step models, unrolled sequence models, fused LSTM.

Three builtin-ops-only `.tflite` forms of a recurrent model (TFLite's builtins have no loop op
for Keras 3's RNN layers, which would otherwise need Flex kernels):

- `export_step_tflite`: the streaming step model `(x_t, *states) -> (y_t, *new_states)` of
  `tfmodels.models.rnn.step_model`; `step_stream` / `run_step_tflite` step it in LiteRT,
  carrying the states. Float32 or int8 (weights and activations; the activation ranges are
  calibrated by stepping the Keras model over `representative_data` sequences).
- `export_sequence_tflite`: the whole model unrolled over a fixed sequence length.
- `export_fused_lstm_tflite`: an LSTM model (char-LM style) whose every LSTM layer the
  converter fuses into one `UNIDIRECTIONAL_SEQUENCE_LSTM` op, what device runtimes accelerate;
  float32 or int8 (int16 cell state). That op keeps its `h` and `c` in variable tensors *across
  `invoke()` calls*: consecutive calls continue one stream until
  `interpreter.reset_all_variables()`.

Quantized weights survive int8 conversion as follows. The converter folds each quantizer into a
constant (the quantized weight) and stores it as int8 with a symmetric scale `max|W| / 127`
(per output channel for FULLY_CONNECTED). Ternary `{-W0, 0, W0}` and pow2-ternary
`{-0.5, 0, 0.5}` weights map to `{-127, 0, 127}` and dequantize exactly (up to the float32
rounding of the scale). Exponential weights `+-2^k` are rounded onto the grid `max|W| / 127 * n`:
with `max|W| = 2^0`, levels `2^-1 ... 2^-6` land on `n = 63.5, 31.75, ...` and are off by up to
half a grid step (`max|W| / 254`), i.e. up to 0.4% of the largest level and a relative error that
grows as `k` falls (2^-7 becomes 1/127). Export float32 (or float16) to keep them exact.
`export_step_tflite(..., per_channel_dense=False)` stores one scale per kernel instead: as exact
for ternary and binary kernels (one level per matrix), and a smaller file.

Example:
    report = export_step_tflite(model, "export/char_lm_step.int8.tflite", mode="int8",
                                representative_data=corpus.valid[:2000].reshape(4, -1))
    logits = run_step_tflite("export/char_lm_step.int8.tflite", corpus.test[:200])
"""

import uuid

import numpy as np

from tfmodels.export import saved_model, tflite
from tfmodels.export.runtime import LiteRTRunner
from tfmodels.models.rnn import step as step_lib


# Quantized weights as constants ------------------------------------------------------------


def bake_quantized_weights(model, seq_len=None, unroll=False):
    """A float copy of `model` whose weights are the quantized values the original computes with.

    At inference every quantizer is deterministic, so the copy computes exactly what `model`
    computes; its weights are plain variables, which the converter freezes into constants and
    stores as int8 kernels (left in the graph, a quantizer's comparisons and selects would be
    folded only partly and run on every invoke).

    Args:
        model: a model with quantized RNN layers (`tfmodels.models.rnn`) and/or `QuantDense`.
        seq_len: fix the sequence length of the copy (None keeps the model's).
        unroll: unroll the copy's RNN layers (and make them stateless), for a builtin-ops
            sequence model; needs `seq_len`.

    Returns:
        A new `keras.Model` without weight quantizers.
    """
    import keras

    from tfmodels.quantization import QuantDense

    source = model.inputs[0]
    shape = tuple(source.shape[1:])
    if seq_len is not None:
        if not isinstance(seq_len, int) or seq_len < 1:
            raise ValueError(f"seq_len must be a positive integer; got {seq_len!r}")
        shape = (seq_len,) + shape[1:]
    if unroll and shape[0] is None:
        raise ValueError("unroll=True needs a fixed seq_len")
    inputs = keras.Input(shape, dtype=source.dtype, name=source.name)

    def clone(layer):
        config = layer.get_config()
        if isinstance(layer, keras.layers.RNN):
            config = {**config, "stateful": False}
            if unroll:
                config["unroll"] = True
            for key in ("kernel_quantizer", "recurrent_quantizer", "bias_quantizer"):
                if key in config:
                    config[key] = None
        if isinstance(layer, QuantDense):
            config["kernel_quantizer"] = None
        return type(layer).from_config(config)

    copy = keras.models.clone_model(model, input_tensors=inputs, clone_function=clone)
    for original, baked in zip(model.layers, copy.layers):
        baked.set_weights(original.get_weights())
        cell = getattr(original, "cell", None)
        quantized = cell.quantized_weights() if hasattr(cell, "quantized_weights") else None
        if isinstance(quantized, dict):
            # Cells with more than three weight matrices (HMLSTMCell) name them.
            targets = {w.name: w for w in baked.cell.weights}
            for name, value in quantized.items():
                targets[name].assign(value)
        elif quantized is not None:
            kernel, recurrent, bias = quantized
            baked.cell.kernel.assign(kernel)
            baked.cell.recurrent_kernel.assign(recurrent)
            if bias is not None:
                baked.cell.bias.assign(bias)
        if isinstance(original, QuantDense):
            baked.kernel.assign(original.quantized_kernel())
    return copy


# Step model --------------------------------------------------------------------------------


def step_calibration_data(model, sequences, max_samples=200, seed=0):
    """Inputs of the step model met while stepping `model` over `sequences` from zero states.

    Args:
        model: the sequence model.
        sequences: `(num_sequences, time, ...)` inputs of `model`.
        max_samples: keep at most this many `(x_t, states)` samples, drawn evenly.
        seed: which samples are kept when there are more.

    Returns:
        `{input name: array (samples, ...)}` for `export_tflite(representative_data=...)`.
    """
    sequences = np.asarray(sequences)
    if sequences.ndim < 2 or not sequences.shape[0] or not sequences.shape[1]:
        raise ValueError(f"sequences must be (num_sequences, time, ...), got {sequences.shape}")
    step = step_lib.step_model(model)
    states = step_lib.zero_states(model, sequences.shape[0])
    collected = {name: [] for name in ["x", *states]}
    for t in range(sequences.shape[1]):
        feed = {"x": sequences[:, t], **states}
        for name, value in feed.items():
            collected[name].append(np.asarray(value))
        out = step(feed, training=False)
        states = {name: np.asarray(out[name]) for name in states}
    data = {name: np.concatenate(parts) for name, parts in collected.items()}
    count = len(data["x"])
    if count > max_samples:
        keep = np.sort(np.random.default_rng(seed).choice(count, max_samples, replace=False))
        data = {name: array[keep] for name, array in data.items()}
    return data


def export_step_tflite(model, path, mode="float32", representative_data=None, max_samples=200,
                       per_channel_dense=True):
    """Exports the streaming step model of `model` (batch 1) as a builtin-ops `.tflite`.

    Args:
        model: a sequence model `step_model` accepts (char-LM, sequence classifier).
        path: the `.tflite` path (written atomically).
        mode: "float32", "float16", "dynamic_int8" or "int8" (full integer: int8 weights and
            activations, float32 inputs/outputs at the edges).
        representative_data: `(n, time, ...)` inputs of the *sequence* model; required for
            "int8", whose activation and state ranges come from stepping the Keras model over
            them (`step_calibration_data`).
        max_samples: calibration samples kept (each costs a converter invocation).
        per_channel_dense: with "int8" / "dynamic_int8", give every FULLY_CONNECTED kernel one
            scale per output channel (the converter's default). False stores one scale per
            kernel: ternary and binary kernels, which have one level per matrix (the
            per-matrix Glorot scale), stay exact, and the file loses a float32 scale and an
            int64 zero point per channel (128-unit char-LM: 0.27x the float32 file instead of
            0.30x); float kernels and exponential levels get a coarser grid.

    Returns:
        `tfmodels.export.ExportReport`; the file's signature takes `x` and one input per state
        (`<rnn layer>_h`, `<rnn layer>_c`) and returns `y` and the new states, same names.

    Example:
        report = export_step_tflite(model, "export/step.int8.tflite", "int8", x_valid[:8])
    """
    tflite.check_mode(mode)
    if mode == "int8" and representative_data is None:
        raise ValueError("mode='int8' needs representative_data (sequence-model inputs to step "
                         "over)")
    data = None
    if representative_data is not None:
        data = step_calibration_data(model, representative_data, max_samples)
    return tflite.write_tflite(model, path, mode, _step_content, calibration=data,
                               per_channel_dense=per_channel_dense)


def _step_content(model, mode, calibration, per_channel_dense):
    step = step_lib.step_model(bake_quantized_weights(model), batch_size=None)
    return tflite.convert(step, mode, calibration, per_channel_dense=per_channel_dense)


def step_stream(path):
    """A `LiteRTStepper` over a step-model `.tflite` (`export_step_tflite`): feed `{"x": x_t}`.

    Example:
        stepper = step_stream("export/step.int8.tflite")
        logits = np.stack([stepper.step({"x": i})["y"][0] for i in ids])
    """
    runner = LiteRTRunner(path)
    if "x" not in runner.input_details or "y" not in runner.output_details:
        raise ValueError(f"{runner.path} is not a step model: inputs {runner.input_names}, "
                         f"outputs {runner.output_names}")
    return runner.stepper(data_inputs=["x"])


def run_step_tflite(path, sequence, return_states=False):
    """Steps a step-model `.tflite` over `sequence` (`(time, ...)`) from zero states.

    Args:
        path: a step model (`export_step_tflite`).
        sequence: the inputs `x`, one per step.
        return_states: also return every state after every step (e.g. an HM-LSTM's boundaries
            `<layer>_z<l>`).

    Returns:
        `(time, ...)` float32: the `y` after every step; with `return_states`, `(y, states)`
        where `states` is `{state name: (time, ...) float32}` (batch axis dropped, dequantized).
    """
    stepper = step_stream(path)
    ys, states = [], {name: [] for name in stepper.state_outputs}
    for x in np.asarray(sequence):
        ys.append(stepper.step({"x": x})["y"][0])
        for name, value in stepper.states.items():
            states[name].append(np.asarray(value, np.float32)[0])
    ys = np.stack(ys)
    if not return_states:
        return ys
    return ys, {name: np.stack(values) for name, values in states.items()}


# Sequence model ----------------------------------------------------------------------------


def export_sequence_tflite(model, path, seq_len, mode="float32", representative_data=None):
    """Exports `model` unrolled over `seq_len` steps as a builtin-ops `.tflite` (batch 1).

    Args:
        model: a sequence model with RNN layers.
        path: the `.tflite` path.
        seq_len: the fixed sequence length of the file.
        mode: as for `tfmodels.export.export_tflite`.
        representative_data: `(n, seq_len, ...)` inputs, required for "int8".

    Returns:
        `tfmodels.export.ExportReport`.
    """
    if mode == "int8" and representative_data is None:
        raise ValueError("mode='int8' needs representative_data (n, seq_len, ...) inputs")
    copy = bake_quantized_weights(model, seq_len=seq_len, unroll=True)
    return tflite.export_tflite(copy, path, mode=mode,
                                representative_data=representative_data)


# Fused LSTM --------------------------------------------------------------------------------

# What the TFLite converter's composite-function pass recognizes as a Keras LSTM (the contract
# tf.keras 2 defined for its `standard_lstm` backend): a function whose `api_implements`
# attribute starts with "lstm_", with `time_major` / `go_backwards` attributes, six tensor
# arguments (inputs, init_h, init_c, kernel, recurrent_kernel, bias), five results (last
# output, full sequence, final h, final c, runtime) of which only the first two are used, and
# statically shaped states and weights. The converter replaces the body by one
# UNIDIRECTIONAL_SEQUENCE_LSTM; the body below only defines what the function computes in
# TensorFlow.
FUSED_MODES = ("float32", "int8")


def _fused_lstm_function():
    import tensorflow as tf

    def standard_lstm(inputs, init_h, init_c, kernel, recurrent_kernel, bias):
        h, c = init_h, init_c
        outputs = []
        for t in range(inputs.shape[1]):
            z = tf.matmul(inputs[:, t], kernel) + tf.matmul(h, recurrent_kernel) + bias
            z_i, z_f, z_c, z_o = tf.split(z, 4, axis=1)
            c = tf.sigmoid(z_f) * c + tf.sigmoid(z_i) * tf.tanh(z_c)
            h = tf.sigmoid(z_o) * tf.tanh(c)
            outputs.append(h)
        sequence = tf.stack(outputs, axis=1)
        return sequence[:, -1], sequence, h, c, tf.constant(1.0)  # 1.0: tf.keras's "CPU" runtime

    return tf.function(
        standard_lstm,
        autograph=False,
        experimental_attributes={
            "api_implements": f"lstm_{uuid.uuid4()}",
            "api_preferred_device": "CPU",
            "time_major": False,
            "go_backwards": False,
        },
    )


def _fusable_layers(model):
    """The chain of layers of `model` (as `step_model` accepts), checking its LSTMs can fuse."""
    import keras

    step_lib.step_model(model)  # validates the chain; cheap, it shares the weights
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    for layer in layers:
        if getattr(layer, "mask_zero", False):
            # The fused op has no mask input: masked steps would update its state.
            raise ValueError(f"layer {layer.name!r} has mask_zero=True; the fused LSTM op "
                             "takes no mask")
        if not isinstance(layer, keras.layers.RNN):
            continue
        cell = layer.cell
        if not isinstance(cell, keras.layers.LSTMCell):
            raise ValueError(
                f"layer {layer.name!r} is a {type(cell).__name__} RNN; the fused TFLite op is "
                "LSTM-only (export other cells with export_step_tflite)"
            )
        activations = (getattr(cell.activation, "__name__", None),
                       getattr(cell.recurrent_activation, "__name__", None))
        if activations != ("tanh", "sigmoid"):
            raise ValueError(
                f"layer {layer.name!r} uses activations {activations}; the fused LSTM op "
                "computes ('tanh', 'sigmoid')"
            )
        if layer.go_backwards:
            raise ValueError(f"layer {layer.name!r} has go_backwards=True; not supported")
    return layers


def _fused_serving_function(layers):
    import keras
    import tensorflow as tf

    functions = {layer.name: _fused_lstm_function() for layer in layers
                 if isinstance(layer, keras.layers.RNN)}

    def serve(x):
        for layer in layers:
            if not isinstance(layer, keras.layers.RNN):
                x = layer(x, training=False)
                continue
            if getattr(layer, "input_norm", None) is not None:
                x = layer.input_norm(x, training=False)
            cell = layer.cell
            zeros = tf.zeros((1, cell.units), tf.float32)
            bias = cell.bias if cell.use_bias else tf.zeros((4 * cell.units,), tf.float32)
            # Values, not variable handles: the pass needs float tensors of static shape as the
            # weight arguments (a resource handle there crashes the converter).
            _, sequence, _, _, _ = functions[layer.name](
                tf.convert_to_tensor(x), zeros, zeros,
                tf.convert_to_tensor(cell.kernel), tf.convert_to_tensor(cell.recurrent_kernel),
                tf.convert_to_tensor(bias),
            )
            x = sequence if layer.return_sequences else sequence[:, -1]
        return x

    return serve


def _fused_content(model, mode, seq_len, calibration):
    layers = _fusable_layers(model)
    baked = bake_quantized_weights(model, seq_len=seq_len)
    serve = _fused_serving_function([baked.get_layer(layer.name) for layer in layers])
    ((input_name, _, dtype),), (output_name, *_) = saved_model.serving_signature(model)
    content = tflite.convert(
        baked, mode, None if calibration is None else {input_name: calibration},
        function=lambda x: {output_name: serve(x)}, input_specs=[(input_name, (1, seq_len), dtype)],
    )  # fmt: skip
    ops = tflite.inspect_tflite(content)["op_types"]
    if "UNIDIRECTIONAL_SEQUENCE_LSTM" not in ops:
        raise ValueError(f"the converter did not fuse the LSTM of model {model.name!r}: ops {ops}")
    return content


def export_fused_lstm_tflite(model, path, seq_len, mode="float32", representative_data=None):
    """Exports a char-LM-style LSTM model as a `.tflite` with fused `UNIDIRECTIONAL_SEQUENCE_LSTM`.

    Each LSTM layer (`QuantLSTM` with its quantized weights baked in, or `keras.layers.LSTM`)
    becomes one `UNIDIRECTIONAL_SEQUENCE_LSTM` op, the LSTM kernel device runtimes and delegates
    accelerate; the rest of the chain (embedding, dropout, softmax layer, ...) converts as usual.
    Builtin ops only, batch 1, a fixed window of `seq_len` steps.

    State: the fused op keeps `h` and `c` in variable tensors inside the interpreter, starting
    at zero. *Each `invoke()` continues from where the previous one stopped*: feeding a stream
    in consecutive `seq_len` windows gives the same outputs as running the Keras model over the
    whole stream, and two invokes of the same window give different outputs. Call
    `LiteRTRunner.reset()` (the interpreter's `reset_all_variables()`) to start a new stream. The file has no
    state inputs or outputs; the final states cannot be read or set.

    Args:
        model: a model `tfmodels.models.rnn.step_model` accepts (one chain of layers) whose RNN
            layers are LSTMs with tanh / sigmoid activations (`QuantLSTM`, `keras.layers.LSTM`).
        path: the `.tflite` path (written atomically).
        seq_len: the time steps of one invoke.
        mode: "float32", or "int8": full integer (int8 weights and activations, int16 cell
            state inside the LSTM op, float32 input/output at the edges), calibrated on
            `representative_data`.
        representative_data: `(n, seq_len)` model inputs, required for "int8"; fed in order,
            each continuing the previous one's state (consecutive windows of a text are the
            natural choice).

    Returns:
        `tfmodels.export.ExportReport`; the signature takes the model's input name with shape
        `(1, seq_len)` and returns its output name `(1, seq_len, ...)`.

    Raises:
        ValueError: bad arguments, a layer the fused op cannot express (GRU, SimpleRNN, other
            activations, `go_backwards`), or a conversion that fails or does not fuse.

    Example:
        export_fused_lstm_tflite(model, "export/char_lm_fused.int8.tflite", seq_len=64,
                                 mode="int8", representative_data=valid_ids[:1024].reshape(16, 64))
        runner = LiteRTRunner("export/char_lm_fused.int8.tflite")
        first = runner({"ids": window_0})["logits"]; second = runner({"ids": window_1})["logits"]
    """
    tflite.check_mode(mode, FUSED_MODES)
    if not isinstance(seq_len, int) or seq_len < 1:
        raise ValueError(f"seq_len must be a positive integer; got {seq_len!r}")
    calibration = None
    if mode == "int8":
        if representative_data is None:
            raise ValueError("mode='int8' needs representative_data ((n, seq_len) model inputs)")
        calibration = np.asarray(representative_data)
        if calibration.ndim < 2 or calibration.shape[1] != seq_len or not calibration.shape[0]:
            raise ValueError(
                f"representative_data must be (n, seq_len={seq_len}, ...); got "
                f"{calibration.shape}"
            )
    _fusable_layers(model)  # bad models fail here, before any child process
    return tflite.write_tflite(model, path, mode, _fused_content, seq_len=seq_len,
                               calibration=calibration)
