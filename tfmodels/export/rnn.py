"""RNN export for devices: streaming step models, unrolled sequence models, fused LSTM, sampling.

Three builtin-ops-only `.tflite` forms of a recurrent model (TFLite's builtins have no loop op
for Keras 3's RNN layers, which would otherwise need Flex kernels):

- `export_step_tflite`: the streaming step model `(x_t, *states) -> (y_t, *new_states)` of
  `tfmodels.models.rnn.step_model`; the caller carries the states. Float32 or int8 (weights and
  activations; the activation ranges are calibrated by stepping the Keras model over
  `calibration_sequences`).
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
                                calibration_sequences=corpus.valid[:2000].reshape(4, -1))
    print(sample_text("export/char_lm_step.int8.tflite", vocab, "def ", length=200))
"""

import os
import uuid

import numpy as np

from tfmodels.export import saved_model, tflite
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
        if hasattr(cell, "quantized_weights"):
            kernel, recurrent, bias = cell.quantized_weights()
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


def export_step_tflite(model, path, mode="float32", calibration_sequences=None, max_samples=200,
                       per_channel_dense=True):
    """Exports the streaming step model of `model` (batch 1) as a builtin-ops `.tflite`.

    Args:
        model: a sequence model `step_model` accepts (char-LM, sequence classifier).
        path: the `.tflite` path (written atomically).
        mode: "float32", "float16", "dynamic_int8" or "int8" (full integer: int8 weights and
            activations, float32 inputs/outputs at the edges).
        calibration_sequences: `(n, time, ...)` model inputs; required for "int8", whose
            activation and state ranges come from stepping the Keras model over them.
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
    if mode == "int8" and calibration_sequences is None:
        raise ValueError("mode='int8' needs calibration_sequences (model inputs to step over)")
    data = None
    if calibration_sequences is not None:
        data = step_calibration_data(model, calibration_sequences, max_samples)
    if per_channel_dense or mode not in ("int8", "dynamic_int8"):
        step = step_lib.step_model(bake_quantized_weights(model), batch_size=None)
        return tflite.export_tflite(step, path, mode=mode, representative_data=data)
    return _export(model, path, mode, _step_child, calibration=data)


def _step_child(model, path, mode, calibration):
    step = step_lib.step_model(bake_quantized_weights(model), batch_size=None)
    signature = saved_model.serving_signature(step, batch_size=1)
    content = _convert(step, saved_model.serving_function(step, signature), signature[0], mode,
                       calibration, per_channel_dense=False)
    with open(path, "wb") as f:
        f.write(content)


class TFLiteStepper:
    """Runs a step-model `.tflite` in the LiteRT interpreter, carrying the states.

    Inputs are quantized and outputs dequantized when the file has int8 I/O.

    Args:
        path: a `.tflite` written by `export_step_tflite`.

    Example:
        stepper = TFLiteStepper("export/step.int8.tflite")
        logits = stepper.run(ids)          # (time, vocab): y after each step, states carried
    """

    def __init__(self, path):
        from ai_edge_litert.interpreter import Interpreter

        path = os.fspath(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no .tflite file at {path}")
        self.path = path
        self.interpreter = Interpreter(model_path=path)
        signatures = self.interpreter.get_signature_list()
        if not signatures:
            raise ValueError(f"{path} has no signature; export it with export_step_tflite")
        self.runner = self.interpreter.get_signature_runner(next(iter(signatures)))
        self.input_details = self.runner.get_input_details()
        self.output_details = self.runner.get_output_details()
        if "x" not in self.input_details or "y" not in self.output_details:
            raise ValueError(f"{path} is not a step model: inputs {sorted(self.input_details)}")
        self.state_names = sorted(n for n in self.input_details if n != "x")
        self.reset()

    def reset(self):
        """Zero states (and reset the interpreter's variables)."""
        self.interpreter.reset_all_variables()
        self.states = {
            name: np.zeros(self.input_details[name]["shape"], np.float32)
            for name in self.state_names
        }

    def step(self, x):
        """Feeds one step `x` (shape of the `x` input without batch) and returns `y[0]`."""
        from tfmodels.export.verify import _dequantize, _quantize

        detail = self.input_details["x"]
        feed = {"x": _quantize(np.asarray(x).reshape(detail["shape"]), detail)}
        for name in self.state_names:
            feed[name] = _quantize(self.states[name], self.input_details[name])
        out = self.runner(**feed)
        self.states = {
            name: _dequantize(out[name], self.output_details[name]).astype(np.float32)
            for name in self.state_names
        }
        return _dequantize(out["y"], self.output_details["y"])[0]

    def run(self, sequence, reset=True):
        """Steps over `sequence` (`(time, ...)`) and returns the stacked `y` of every step."""
        if reset:
            self.reset()
        return np.stack([self.step(x) for x in np.asarray(sequence)])


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


# Sampling ----------------------------------------------------------------------------------


def sample_text(path, vocab, seed_text, length=200, temperature=1.0, seed=0):
    """Generates text with a char-LM step `.tflite` on the device path (LiteRT interpreter).

    Args:
        path: a step model of a char-LM (`export_step_tflite`), float32 or int8.
        vocab: the `tfmodels.data.text.CharVocabulary` (or its JSON path) the model was trained
            with; unknown seed characters map to UNK.
        seed_text: the prompt, fed first (at least one character).
        length: characters to generate after the prompt.
        temperature: > 0; logits are divided by it (lower: more conservative).
        seed: seed of the sampling.

    Returns:
        The generated characters (without the prompt). UNK is never sampled.

    Example:
        print(sample_text("export/char_lm_step.int8.tflite", "export/vocab.json", "The "))
    """
    from tfmodels.data.text import CharVocabulary

    if not isinstance(vocab, CharVocabulary):
        vocab = CharVocabulary.load(vocab)
    if not seed_text:
        raise ValueError("seed_text must contain at least one character")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0; got {temperature!r}")
    if not isinstance(length, int) or length < 0:
        raise ValueError(f"length must be a non-negative integer; got {length!r}")
    stepper = TFLiteStepper(path)
    vocab_size = int(stepper.output_details["y"]["shape"][-1])
    if vocab_size != len(vocab):
        raise ValueError(f"{path} predicts {vocab_size} characters, vocab has {len(vocab)}")
    rng = np.random.default_rng(seed)
    logits = None
    for i in vocab.encode(seed_text):
        logits = stepper.step(np.int32(i))
    out = []
    for _ in range(length):
        z = np.asarray(logits, np.float64) / temperature
        z[vocab.unk_id] = -np.inf
        p = np.exp(z - z.max())
        next_id = int(rng.choice(len(p), p=p / p.sum()))
        out.append(next_id)
        logits = stepper.step(np.int32(next_id))
    return vocab.decode(out)


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


def _fused_child(model, path, mode, seq_len, calibration):
    layers = _fusable_layers(model)
    baked = bake_quantized_weights(model, seq_len=seq_len)
    serve = _fused_serving_function([baked.get_layer(layer.name) for layer in layers])
    ((input_name, _, dtype),), (output_name, *_) = saved_model.serving_signature(model)
    content = _convert(
        baked, lambda x: {output_name: serve(x)}, [(input_name, (1, seq_len), dtype)], mode,
        None if calibration is None else {input_name: calibration},
    )
    ops = tflite.inspect_tflite(content)["op_types"]
    if "UNIDIRECTIONAL_SEQUENCE_LSTM" not in ops:
        raise ValueError(f"the converter did not fuse the LSTM of model {model.name!r}: ops {ops}")
    with open(path, "wb") as f:
        f.write(content)


def export_fused_lstm_tflite(model, path, seq_len, mode="float32", calibration_sequences=None):
    """Exports a char-LM-style LSTM model as a `.tflite` with fused `UNIDIRECTIONAL_SEQUENCE_LSTM`.

    Each LSTM layer (`QuantLSTM` with its quantized weights baked in, or `keras.layers.LSTM`)
    becomes one `UNIDIRECTIONAL_SEQUENCE_LSTM` op, the LSTM kernel device runtimes and delegates
    accelerate; the rest of the chain (embedding, dropout, softmax layer, ...) converts as usual.
    Builtin ops only, batch 1, a fixed window of `seq_len` steps.

    State: the fused op keeps `h` and `c` in variable tensors inside the interpreter, starting
    at zero. *Each `invoke()` continues from where the previous one stopped*: feeding a stream
    in consecutive `seq_len` windows gives the same outputs as running the Keras model over the
    whole stream, and two invokes of the same window give different outputs. Call
    `interpreter.reset_all_variables()` to start a new stream (zero states). The file has no
    state inputs or outputs; the final states cannot be read or set.

    Args:
        model: a model `tfmodels.models.rnn.step_model` accepts (one chain of layers) whose RNN
            layers are LSTMs with tanh / sigmoid activations (`QuantLSTM`, `keras.layers.LSTM`).
        path: the `.tflite` path (written atomically).
        seq_len: the time steps of one invoke.
        mode: "float32", or "int8": full integer (int8 weights and activations, int16 cell
            state inside the LSTM op, float32 input/output at the edges), calibrated on
            `calibration_sequences`.
        calibration_sequences: `(n, seq_len)` model inputs, required for "int8"; fed in order,
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
                                 mode="int8", calibration_sequences=valid_ids[:1024].reshape(16, 64))
        runner = Interpreter("export/char_lm_fused.int8.tflite").get_signature_runner()
        first = runner(ids=window_0)["logits"]; second = runner(ids=window_1)["logits"]  # one stream
    """
    if mode not in FUSED_MODES:
        raise ValueError(f"mode must be one of {FUSED_MODES}; got {mode!r}")
    if not isinstance(seq_len, int) or seq_len < 1:
        raise ValueError(f"seq_len must be a positive integer; got {seq_len!r}")
    calibration = None
    if mode == "int8":
        if calibration_sequences is None:
            raise ValueError("mode='int8' needs calibration_sequences ((n, seq_len) model inputs)")
        calibration = np.asarray(calibration_sequences)
        if calibration.ndim < 2 or calibration.shape[1] != seq_len or not calibration.shape[0]:
            raise ValueError(
                f"calibration_sequences must be (n, seq_len={seq_len}, ...); got "
                f"{calibration.shape}"
            )
    _fusable_layers(model)  # bad models fail here, before any child process
    return _export(model, path, mode, _fused_child, seq_len=seq_len, calibration=calibration)


# Conversion --------------------------------------------------------------------------------


def _export(model, path, mode, child, **kwargs):
    """Runs `child(model, temp_path, mode, **kwargs)` on TensorFlow, renames, reports."""
    import keras

    path = os.fspath(path)
    if not path.endswith(".tflite"):
        raise ValueError(f"path must end with .tflite, got {path!r}")
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"output directory does not exist: {directory}")
    temp_path = os.path.join(directory, f".{os.path.basename(path)}.tmp-{uuid.uuid4().hex}")
    try:
        if keras.backend.backend() == "tensorflow":
            child(model, temp_path, mode, **kwargs)
        else:
            saved_model.run_on_tensorflow(model, child, path=temp_path, mode=mode, **kwargs)
        os.replace(temp_path, path)
    finally:
        if os.path.exists(temp_path):
            os.remove(temp_path)
    with open(path, "rb") as f:
        details = tflite.inspect_tflite(f.read())
    return tflite.ExportReport(path=path, mode=mode, size_bytes=os.path.getsize(path), **details)


def _convert(model, function, input_specs, mode, calibration=None, per_channel_dense=True):
    """`.tflite` bytes (builtin ops, batch as in `input_specs`) of `function`, which computes
    with `model`'s weights; "float32", "dynamic_int8" or "int8" (calibrated on `calibration`,
    `{input name: samples}`)."""
    import tempfile
    import warnings

    import keras
    import tensorflow as tf

    with tempfile.TemporaryDirectory() as temp:
        archive = keras.export.ExportArchive()
        archive.track(model)
        archive.add_endpoint(
            "serving_default", function,
            input_signature=[tf.TensorSpec(shape, dtype, name=name)
                             for name, shape, dtype in input_specs],
        )
        archive.write_out(temp, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(temp)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if mode in ("int8", "dynamic_int8"):
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter._experimental_disable_per_channel_quantization_for_dense_layers = (
                not per_channel_dense
            )
        if mode == "int8":
            converter.representative_dataset = tflite._samples(calibration)
            # The INT8 set makes the converter fail rather than leave a float op behind.
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        try:
            with warnings.catch_warnings():
                # Calibration runs TF's own deprecated interpreter; that is not ours to fix.
                warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated")
                return converter.convert()
        except Exception as err:  # the converter raises ConverterError and plain exceptions
            error = err
    # Outside the except block, so the converter's chained traceback is not carried along.
    raise ValueError(f"TFLite conversion of model {model.name!r} (mode={mode}) failed: "
                     f"{tflite._converter_message(error)}")
