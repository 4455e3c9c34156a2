"""Checks a `.tflite` file against the Keras model it came from, in the LiteRT interpreter."""

import dataclasses
import os

import numpy as np

from tfmodels.export import saved_model, tflite
from tfmodels.export.inputs import named_arrays
from tfmodels.export.runtime import LiteRTRunner


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
            f"  inputs:  {tflite.format_io(self.inputs)}",
            f"  outputs: {tflite.format_io(self.outputs)}",
        ]
        for name, error in self.max_abs_error.items():
            agreement = self.argmax_agreement.get(name)
            agree = "-" if agreement is None else f"{100 * agreement:.2f}%"
            lines.append(f"  {name}: max abs error {error:.4g}, argmax agreement {agree}")
        lines += [
            f"  ops:     {tflite.format_counts(self.op_types)}",
            f"  tensors: {tflite.format_counts(self.tensor_dtypes)}",
            f"  weights: {tflite.format_counts(self.weight_dtypes)}",
        ]
        return "\n".join(lines)


def verify_tflite(path, model, inputs):
    """Runs `path` in `ai_edge_litert`'s interpreter on `inputs` and compares with `model`.

    The file runs in `tfmodels.export.runtime.LiteRTRunner`: int8 inputs are quantized and int8
    outputs dequantized with the file's scale and zero point; a batch-1 file (what
    `export_tflite` writes) runs one sample at a time, its variables reset before each, so
    stateful kernels (fused LSTM) start fresh as the Keras model does.

    Args:
        path: the `.tflite` file.
        model: the Keras model it was exported from (any backend).
        inputs: the inputs to compare on, in any form `tfmodels.export.inputs.named_arrays`
            reads (an array with a leading sample axis for a one-input model, a dict keyed by
            input name, samples one by one, a generator or dataset).

    Returns:
        A `VerifyReport`.

    Example:
        >>> report = verify_tflite("export/model.tflite", model, x_test[:64])  # doctest: +SKIP
        >>> print(report)  # doctest: +SKIP
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no .tflite file at {path}")
    signature = saved_model.serving_signature(model)
    arrays = named_arrays(inputs, signature, "inputs")
    count = next(iter(arrays.values())).shape[0]

    runner = LiteRTRunner(path)
    if runner.input_names != sorted(arrays):
        raise ValueError(
            f"{path} takes inputs {runner.input_names}, model {model.name!r} takes {sorted(arrays)}"
        )
    for name in arrays:
        want, got = runner.input_shape(name), tuple(arrays[name].shape[1:])
        if len(want) != len(got) or any(w not in (None, g) for w, g in zip(want, got)):
            raise ValueError(f"{path} takes {name!r} of shape (batch,) + {want}, inputs has "
                             f"(batch,) + {got}")
    actual = runner.predict(arrays)
    with open(path, "rb") as f:
        details = tflite.inspect_tflite(f.read())

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
