"""The one LiteRT runner: every `.tflite` tfmodels runs goes through `LiteRTRunner`.

It loads a file into `ai_edge_litert`'s interpreter, calls its first signature by input and
output names, quantizes int8/int16 inputs and dequantizes quantized outputs with the file's own
scale and zero point (so callers always feed and read float values), runs a batch through a
batch-1 file one sample at a time, and steps a stream through a step model, carrying its states.

Example:
    >>> runner = LiteRTRunner("export/model.tflite")  # doctest: +SKIP
    >>> logits = runner.predict({"image": x_test})["logits"]  # doctest: +SKIP
    >>> stepper = runner.stepper(data_inputs=["x"])  # doctest: +SKIP
    >>> y0 = stepper.step({"x": ids[0]})["y"]  # doctest: +SKIP
"""

import os
import time
import warnings

import numpy as np


class LiteRTRunner:
    """A `.tflite` file loaded in the LiteRT interpreter, called with float arrays by name.

    Args:
        path: the `.tflite` file (one signature, as every tfmodels export writes).
        num_threads: interpreter threads (None: LiteRT's default).
        xnnpack: apply LiteRT's default XNNPACK delegate (True), run the builtin kernels only
            (False), or None: the delegate unless it refuses the file (XNNPACK cannot run
            int8 FULLY_CONNECTED with sparse weights), then builtin kernels with a warning.

    Attributes:
        path: the file.
        input_details, output_details: `{name: LiteRT detail dict}` of the signature.
        batch_size: the file's fixed batch (first input's leading dimension).
        last_invoke_seconds: wall time of the most recent invoke (quantization excluded).

    Example:
        >>> runner = LiteRTRunner("export/model.int8.tflite")  # doctest: +SKIP
        >>> out = runner({"image": x[:1]})  # float32 in, dequantized float32 out
    """

    def __init__(self, path, num_threads=None, xnnpack=None):
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no .tflite file at {path}")
        self.path = path
        self.interpreter = self._load(num_threads, xnnpack is not False)
        if xnnpack is None:
            try:
                self.interpreter.allocate_tensors()
            except RuntimeError as err:
                if "delegate" not in str(err).lower():
                    raise
                warnings.warn(f"{path}: the XNNPACK delegate cannot run this file "
                              f"({str(err).splitlines()[0]}); using LiteRT's builtin kernels",
                              stacklevel=2)
                self.interpreter = self._load(num_threads, False)
        signatures = self.interpreter.get_signature_list()
        if not signatures:
            raise ValueError(f"{path} has no signature; export it with tfmodels.export")
        self._runner = self.interpreter.get_signature_runner(next(iter(signatures)))
        self.input_details = self._runner.get_input_details()
        self.output_details = self._runner.get_output_details()
        self.batch_size = int(next(iter(self.input_details.values()))["shape"][0])
        self.last_invoke_seconds = None

    def _load(self, num_threads, default_delegates):
        from ai_edge_litert.interpreter import Interpreter, OpResolverType

        resolver = (OpResolverType.AUTO if default_delegates
                    else OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        try:
            return Interpreter(model_path=self.path, num_threads=num_threads,
                               experimental_op_resolver_type=resolver)
        except ValueError as err:
            raise ValueError(f"{self.path} is not a readable .tflite file: {err}") from None

    @property
    def input_names(self):
        return sorted(self.input_details)

    @property
    def output_names(self):
        return sorted(self.output_details)

    def input_shape(self, name):
        """The shape of input `name` without its batch axis (None where it is dynamic)."""
        detail = self.input_details[name]
        shape = detail.get("shape_signature", detail["shape"])
        return tuple(None if d < 0 else int(d) for d in shape[1:])

    def reset(self):
        """Resets the interpreter's variable tensors (the state of stateful kernels)."""
        self.interpreter.reset_all_variables()

    def _named(self, inputs):
        # A one-input file also takes the bare array.
        if isinstance(inputs, dict):
            return inputs
        if len(self.input_names) != 1:
            raise ValueError(f"{self.path} takes inputs {self.input_names}: pass a dict "
                             f"{{name: array}}, got a {type(inputs).__name__}")
        return {self.input_names[0]: inputs}

    def __call__(self, inputs):
        """One invoke: `{input name: float array of the file's batch}` (or the array, for a
        one-input file) -> `{output name: float32 array}`."""
        inputs = self._named(inputs)
        if sorted(inputs) != self.input_names:
            raise ValueError(f"{self.path} takes inputs {self.input_names}, got {sorted(inputs)}")
        feed = {name: quantize(value, self.input_details[name]) for name, value in inputs.items()}
        start = time.perf_counter()
        outputs = self._runner(**feed)
        self.last_invoke_seconds = time.perf_counter() - start
        return {name: dequantize(value, self.output_details[name]) for name, value in outputs.items()}

    def predict(self, inputs, reset_each=True):
        """Runs `{input name: array (n, ...)}` through the file and stacks the outputs.

        A batch-1 file runs one sample per invoke; with `reset_each`, variable tensors are
        reset before each, so stateful kernels (the fused LSTM) start every sample fresh as a
        Keras model does.

        Returns:
            `{output name: float32 array (n, ...)}`.
        """
        inputs = self._named(inputs)
        count = len(next(iter(inputs.values())))
        step = 1 if self.batch_size == 1 else count
        parts = {name: [] for name in self.output_details}
        for start in range(0, count, step):
            if reset_each:
                self.reset()
            out = self({name: value[start : start + step] for name, value in inputs.items()})
            for name, value in out.items():
                parts[name].append(value)
        return {name: np.concatenate(values) for name, values in parts.items()}

    def stepper(self, data_inputs):
        """A `LiteRTStepper` over this file; every input not in `data_inputs` is a state."""
        return LiteRTStepper(self, data_inputs)


class LiteRTStepper:
    """Steps a streaming step model `(data, *states) -> (outputs, *new_states)`, carrying states.

    A state input `s` is fed from the output named `s` or `new_s` of the previous step; states
    start at zero.

    Args:
        runner: a `LiteRTRunner` (or a path to load one from).
        data_inputs: names of the inputs fed by the caller at each step; all other inputs are
            states.

    Example:
        >>> stepper = LiteRTStepper("export/step.int8.tflite", ["x"])  # doctest: +SKIP
        >>> ys = np.stack([stepper.step({"x": x_t})["y"][0] for x_t in sequence])
    """

    def __init__(self, runner, data_inputs):
        if not isinstance(runner, LiteRTRunner):
            runner = LiteRTRunner(runner)
        self.runner = runner
        self.data_inputs = list(data_inputs)
        missing = [n for n in self.data_inputs if n not in runner.input_details]
        if missing:
            raise ValueError(f"{runner.path} has no input {missing}; inputs {runner.input_names}")
        self.state_outputs = {}
        for name in runner.input_names:
            if name in self.data_inputs:
                continue
            source = name if name in runner.output_details else f"new_{name}"
            if source not in runner.output_details:
                raise ValueError(f"{runner.path}: state input {name!r} has no output {name!r} "
                                 f"or 'new_{name}'; outputs {runner.output_names}")
            self.state_outputs[name] = source
        self.reset()

    def reset(self):
        """Zero states, and the interpreter's variable tensors reset."""
        self.runner.reset()
        self.states = {
            name: np.zeros(self.runner.input_details[name]["shape"], np.float32)
            for name in self.state_outputs
        }

    def step(self, inputs):
        """Feeds one step (`{data input: array}`, batch axis optional) and returns the outputs.

        Returns:
            `{output name: float32 array}` of the non-state outputs (with the batch axis).
        """
        feed = {}
        for name in self.data_inputs:
            shape = self.runner.input_details[name]["shape"]
            feed[name] = np.asarray(inputs[name]).reshape(shape)
        out = self.runner({**feed, **self.states})
        self.states = {name: out[source] for name, source in self.state_outputs.items()}
        sources = set(self.state_outputs.values())
        return {name: value for name, value in out.items() if name not in sources}


def quantize(array, detail):
    """Float `array` -> the dtype of a LiteRT input `detail` (quantized if it has a scale)."""
    dtype = np.dtype(detail["dtype"])
    scale, zero_point = detail["quantization"]
    array = np.asarray(array)
    if np.issubdtype(dtype, np.integer) and scale:
        info = np.iinfo(dtype)
        array = np.clip(np.round(array / scale + zero_point), info.min, info.max)
    return array.astype(dtype)


def dequantize(array, detail):
    """A LiteRT output -> float32 (dequantized with the output's scale if it has one)."""
    scale, zero_point = detail["quantization"]
    array = np.asarray(array)
    if np.issubdtype(array.dtype, np.integer) and scale:
        return ((array.astype(np.float32) - zero_point) * scale).astype(np.float32)
    if np.issubdtype(array.dtype, np.floating):
        return array.astype(np.float32)
    return array
