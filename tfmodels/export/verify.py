"""Checks a `.tflite` file against the Keras model it came from, in the LiteRT interpreter."""

import dataclasses
import os

import numpy as np

from tfmodels.export import saved_model, tflite


@dataclasses.dataclass
class VerifyReport:
    """How a `.tflite` file agrees with its Keras model on some inputs.

    Attributes:
        path: the `.tflite` file.
        size_bytes: file size.
        num_samples: how many input samples were compared.
        max_abs_error: `{output name: max |tflite - keras|}` (after dequantizing int8 outputs).
        argmax_agreement: `{output name: fraction of positions whose argmax over the last axis
            agrees}`; None for outputs whose last axis has size 1.
        op_types, tensor_dtypes, weight_dtypes: as in `ExportReport`.
        inputs, outputs: `[(name, shape, dtype name)]` of the file's signature.
    """

    path: str
    size_bytes: int
    num_samples: int
    max_abs_error: dict
    argmax_agreement: dict
    op_types: dict
    tensor_dtypes: dict
    weight_dtypes: dict
    inputs: list
    outputs: list

    @property
    def min_argmax_agreement(self):
        """The lowest argmax agreement over outputs (None if no output has one)."""
        values = [v for v in self.argmax_agreement.values() if v is not None]
        return min(values) if values else None

    def __str__(self):
        lines = [
            f"{self.path}: {self.size_bytes / 1024:.1f} KiB, {self.num_samples} samples",
            f"  inputs:  {tflite._format_io(self.inputs)}",
            f"  outputs: {tflite._format_io(self.outputs)}",
        ]
        for name, error in self.max_abs_error.items():
            agreement = self.argmax_agreement.get(name)
            agree = "-" if agreement is None else f"{100 * agreement:.2f}%"
            lines.append(f"  {name}: max abs error {error:.4g}, argmax agreement {agree}")
        lines += [
            f"  ops:     {tflite._format_counts(self.op_types)}",
            f"  tensors: {tflite._format_counts(self.tensor_dtypes)}",
            f"  weights: {tflite._format_counts(self.weight_dtypes)}",
        ]
        return "\n".join(lines)


def verify_tflite(path, model, inputs):
    """Runs `path` in `ai_edge_litert`'s interpreter on `inputs` and compares with `model`.

    Int8 inputs are quantized and int8 outputs dequantized with the file's scale and zero
    point. A file with batch 1 (what `export_tflite` writes) is run one sample at a time, with
    the interpreter's variables reset before each, so stateful kernels (fused LSTM) start fresh
    as the Keras model does.

    Args:
        path: the `.tflite` file.
        model: the Keras model it was exported from (any backend).
        inputs: an array (single-input model), or a list / dict keyed by input name of arrays,
            with a leading sample axis.

    Returns:
        A `VerifyReport`.

    Example:
        >>> report = verify_tflite("export/model.tflite", model, x_test[:64])  # doctest: +SKIP
        >>> print(report)  # doctest: +SKIP
    """
    from ai_edge_litert.interpreter import Interpreter

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no .tflite file at {path}")
    signature = saved_model.serving_signature(model)
    arrays = saved_model._named_arrays(inputs, signature, "inputs")
    count = next(iter(arrays.values())).shape[0]
    if not count:
        raise ValueError("inputs has no samples")

    with open(path, "rb") as f:
        details = tflite.inspect_tflite(f.read())
    interpreter = Interpreter(model_path=path)
    signatures = interpreter.get_signature_list()
    if not signatures:
        raise ValueError(f"{path} has no signature; export it with export_tflite")
    runner = interpreter.get_signature_runner(next(iter(signatures)))
    input_details = runner.get_input_details()
    output_details = runner.get_output_details()
    if sorted(input_details) != sorted(arrays):
        raise ValueError(
            f"{path} takes inputs {sorted(input_details)}, model {model.name!r} takes {sorted(arrays)}"
        )
    batch = int(next(iter(input_details.values()))["shape"][0])
    step = 1 if batch == 1 else count

    results = {name: [] for name in output_details}
    for start in range(0, count, step):
        interpreter.reset_all_variables()
        feed = {
            name: _quantize(array[start : start + step], input_details[name])
            for name, array in arrays.items()
        }
        outputs = runner(**feed)
        for name, value in outputs.items():
            results[name].append(_dequantize(value, output_details[name]))
    actual = {name: np.concatenate(parts) for name, parts in results.items()}

    expected = _keras_outputs(model, signature, arrays)
    max_abs_error, argmax_agreement = {}, {}
    for name in sorted(actual):
        if name not in expected:
            raise ValueError(f"{path} has output {name!r}, model {model.name!r} has {sorted(expected)}")
        want = np.asarray(expected[name], dtype=np.float64)
        got = actual[name].astype(np.float64).reshape(want.shape)
        max_abs_error[name] = float(np.max(np.abs(got - want))) if want.size else 0.0
        argmax_agreement[name] = (
            float(np.mean(np.argmax(got, -1) == np.argmax(want, -1))) if want.shape[-1] > 1 else None
        )
    return VerifyReport(
        path=path,
        size_bytes=os.path.getsize(path),
        num_samples=count,
        max_abs_error=max_abs_error,
        argmax_agreement=argmax_agreement,
        **details,
    )


def _keras_outputs(model, signature, arrays):
    specs, output_names = signature
    names = [name for name, _, _ in specs]
    feed = arrays[names[0]] if len(names) == 1 else dict(arrays)
    outputs = model.predict(feed, verbose=0, batch_size=32)
    if isinstance(outputs, dict):
        return {name: np.asarray(outputs[name]) for name in output_names}
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    return {name: np.asarray(value) for name, value in zip(output_names, outputs)}


def _quantize(array, detail):
    dtype = np.dtype(detail["dtype"])
    scale, zero_point = detail["quantization"]
    if np.issubdtype(dtype, np.integer) and scale:
        info = np.iinfo(dtype)
        array = np.clip(np.round(array / scale + zero_point), info.min, info.max)
    return array.astype(dtype)


def _dequantize(array, detail):
    scale, zero_point = detail["quantization"]
    if np.issubdtype(array.dtype, np.integer) and scale:
        return (array.astype(np.float32) - zero_point) * scale
    return array
