"""`.tflite` export for devices: float32, float16, dynamic-range int8 and full-integer int8.

The path is always Keras model -> SavedModel (`keras.export.ExportArchive`, one
`serving_default` signature) -> `tf.lite.TFLiteConverter.from_saved_model`, the conversion route
TensorFlow documents for Keras 3 (converting a concrete function directly leaves the weights as
uninitialized resource variables).

Choices, in one place:
- Batch: the `.tflite` has a fixed batch of 1, what on-device runtimes and the fused
  `UNIDIRECTIONAL_SEQUENCE_LSTM` kernel want; other dimensions stay as the model declares them.
  `verify_tflite` loops over a batch.
- int8: full integer, int8 weights (per output channel for conv kernels) and int8 activations.
  Ranges come from the model's fake-quant ops (QAT) first; tensors without one get theirs from
  calibration on `representative_data`. With neither, export fails before converting.
- I/O: float32 inputs and outputs with QUANTIZE / DEQUANTIZE at the edges by default, so the
  file is a drop-in for the float one; `int8_io=True` makes them int8 (read the scale and
  zero point from the interpreter's input/output details).
- `builtin_only=True` refuses models that would need Flex (SELECT_TF_OPS) kernels, which most
  device runtimes lack, naming the TensorFlow ops responsible.
"""

import collections
import dataclasses
import os
import re
import tempfile
import warnings

import keras
import numpy as np

from tfmodels.export import saved_model
from tfmodels.export.inputs import named_arrays
from tfmodels.utils import atomic

MODES = ("float32", "float16", "dynamic_int8", "int8")


@dataclasses.dataclass
class ExportReport:
    """What `export_tflite` wrote.

    Attributes:
        path: the `.tflite` file.
        mode: the quantization mode it was exported with.
        size_bytes: file size.
        op_types: `{op name: count}` over all subgraphs (`FULLY_CONNECTED`, `FlexTensorListReserve`).
        tensor_dtypes: `{dtype name: count}` over all tensors.
        weight_dtypes: `{dtype name: count}` over constant tensors (weights, biases, scales).
        inputs: `[(name, shape, dtype name)]` of the signature's inputs.
        outputs: `[(name, shape, dtype name)]` of the signature's outputs.
    """

    path: str
    mode: str
    size_bytes: int
    op_types: dict
    tensor_dtypes: dict
    weight_dtypes: dict
    inputs: list
    outputs: list

    def __str__(self):
        return "\n".join(
            [
                f"{self.path} ({self.mode}, {self.size_bytes / 1024:.1f} KiB)",
                f"  inputs:  {format_io(self.inputs)}",
                f"  outputs: {format_io(self.outputs)}",
                f"  ops:     {format_counts(self.op_types)}",
                f"  tensors: {format_counts(self.tensor_dtypes)}",
                f"  weights: {format_counts(self.weight_dtypes)}",
            ]
        )


def export_tflite(
    model,
    path,
    mode="float32",
    representative_data=None,
    builtin_only=True,
    int8_io=False,
    per_channel_dense=True,
    sparse_weights=False,
):
    """Converts `model` to a `.tflite` file (batch 1) and reports what the file contains.

    Args:
        model: a built Keras model with defined inputs. Models on a non-TensorFlow backend are
            rebuilt on TensorFlow from their `.keras` serialization in a child process.
        path: output `.tflite` path; written atomically (temp file, then rename), so a failed
            conversion leaves any existing file untouched and no partial file.
        mode: `"float32"`; `"float16"` (float16 weights, float compute); `"dynamic_int8"` (int8
            weights, float activations, no calibration); `"int8"` (full integer, see module doc).
        representative_data: calibration inputs for `"int8"`, in any form
            `tfmodels.export.inputs.named_arrays` reads: an array with a leading sample axis, a
            list of samples as TFLite's `representative_dataset` yields them, a dict or list
            per input, a generator, a callable returning one, or a `tf.data.Dataset`. Fed one
            sample at a time; a few dozen samples are plenty.
        builtin_only: refuse models that need Flex (TensorFlow) kernels.
        int8_io: with `"int8"`, make the file's inputs and outputs int8 instead of float32.
        per_channel_dense: with `"int8"` / `"dynamic_int8"`, one scale per output channel for
            FULLY_CONNECTED kernels (the converter's default); False stores one per kernel
            (exact for binary and ternary kernels, smaller files).
        sparse_weights: store pruned (mostly zero) constant weights in TFLite's sparse format
            (the converter's `EXPERIMENTAL_SPARSITY`; it keeps a weight dense where sparse
            storage would not be smaller). For models pruned with
            `tfmodels.optimization.sparsity` and stripped.

    Returns:
        An `ExportReport`.

    Raises:
        ValueError: bad arguments, `"int8"` without ranges, Flex ops with `builtin_only`, a
            conversion failure (with the converter's error lines), or a file that does not
            hold the types `mode` asks for.

    Example:
        >>> report = export_tflite(model, "export/model.tflite", mode="int8",
        ...                        representative_data=x_train[:32])  # doctest: +SKIP
        >>> print(report)  # doctest: +SKIP
    """
    if int8_io and mode != "int8":
        raise ValueError(f"int8_io=True needs mode='int8', got mode={mode!r}")
    check_mode(mode)
    signature = saved_model.serving_signature(model, batch_size=1)
    calibration = None
    if representative_data is not None:
        calibration = named_arrays(representative_data, signature, "representative_data")
    return write_tflite(
        model, path, mode, convert, calibration=calibration, builtin_only=builtin_only,
        int8_io=int8_io, per_channel_dense=per_channel_dense, sparse_weights=sparse_weights,
    )  # fmt: skip


def check_mode(mode, modes=MODES):
    """Raises ValueError naming `mode` unless it is one of `modes`."""
    if mode not in modes:
        raise ValueError(f"mode must be one of {modes}, got {mode!r}")


def write_tflite(model, path, mode, content_fn, **kwargs):
    """Writes `content_fn(model, mode, **kwargs)` (`.tflite` bytes) to `path` and reports it.

    The one export path of every `.tflite` family: `content_fn` runs on TensorFlow (in a child
    process that rebuilds `model` when the backend is another one), the file is written
    atomically, and the result is checked against `mode` before it is reported.

    Args:
        model: the Keras model.
        path: the `.tflite` path; its folder must exist.
        mode: the export mode (what the file is checked for).
        content_fn: a module-level function `(model, mode, **kwargs) -> bytes`, usually one
            that ends in `convert(...)`.
        **kwargs: picklable arguments for `content_fn`.

    Returns:
        An `ExportReport`.
    """
    path = os.fspath(path)
    if not path.endswith(".tflite"):
        raise ValueError(f"path must end with .tflite, got {path!r}")
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"output directory does not exist: {directory}")
    model = float32_copy(model)
    if keras.backend.backend() == "tensorflow":
        content = content_fn(model, mode, **kwargs)
    else:
        with tempfile.TemporaryDirectory() as temp:
            temp_path = os.path.join(temp, "model.tflite")
            saved_model.run_on_tensorflow(
                model, _write_content, path=temp_path, content_fn=content_fn, mode=mode,
                kwargs=kwargs,
            )  # fmt: skip
            with open(temp_path, "rb") as f:
                content = f.read()
    details = inspect_tflite(content)
    _check_types(model, mode, details)
    atomic.write_bytes(path, content)
    return ExportReport(path=path, mode=mode, size_bytes=len(content), **details)


def convert(
    model,
    mode,
    calibration=None,
    builtin_only=True,
    int8_io=False,
    per_channel_dense=True,
    function=None,
    input_specs=None,
    sparse_weights=False,
):
    """The one converter: `.tflite` bytes for `model` (TensorFlow backend; see `export_tflite`).

    Keras model -> SavedModel (`saved_model.write_saved_model`) -> `TFLiteConverter`, with the
    calibration, the op sets, the warning filter and the error translation of every export.

    Args:
        model: the Keras model whose weights the endpoint computes with.
        mode: one of `MODES`.
        calibration: `{input name: samples}` (`inputs.named_arrays`) or None.
        builtin_only, int8_io, per_channel_dense, sparse_weights: as for `export_tflite`.
        function, input_specs: a custom endpoint `fn(*inputs) -> {name: tensor}` and its
            `[(name, shape, dtype)]` (default: the model's serving signature at batch 1).
    """
    import tensorflow as tf

    check_mode(mode)
    if function is None:
        signature = saved_model.serving_signature(model, batch_size=1)
        function, input_specs = saved_model.serving_function(model, signature), signature[0]
    if calibration is not None:
        calibration = {
            name: np.asarray(calibration[name]).astype(keras.backend.standardize_dtype(dtype))
            for name, _, dtype in input_specs
        }
    has_fake_quant = mode == "int8" and _has_fake_quant(function, input_specs)
    if mode == "int8" and calibration is None and not has_fake_quant:
        raise ValueError(
            "mode='int8' needs activation ranges: the model has no fake-quant ops (QAT) and "
            "no representative_data was given"
        )
    with tempfile.TemporaryDirectory() as temp:
        saved_model.write_saved_model(model, temp, function, input_specs)

        def converter_for(ops):
            converter = tf.lite.TFLiteConverter.from_saved_model(temp)
            converter.target_spec.supported_ops = ops
            if mode == "float16":
                converter.optimizations = [tf.lite.Optimize.DEFAULT]
                converter.target_spec.supported_types = [tf.float16]
            elif mode in ("dynamic_int8", "int8"):
                converter.optimizations = [tf.lite.Optimize.DEFAULT]
                # No public switch exists for this converter option (TF 2.21).
                converter._experimental_disable_per_channel_quantization_for_dense_layers = (
                    not per_channel_dense
                )
            if sparse_weights:
                converter.optimizations = [
                    *converter.optimizations, tf.lite.Optimize.EXPERIMENTAL_SPARSITY
                ]
            if mode == "int8":
                if calibration is not None:
                    converter.representative_dataset = calibration_samples(calibration)
                if int8_io:
                    converter.inference_input_type = tf.int8
                    converter.inference_output_type = tf.int8
            return converter

        # With calibration the INT8 op set makes the converter fail rather than leave a float op
        # behind; a QAT-only conversion must use the plain set (the converter insists on a
        # representative dataset for the INT8 one) and is checked after converting.
        if mode == "int8" and calibration is not None:
            builtins = tf.lite.OpsSet.TFLITE_BUILTINS_INT8
        else:
            builtins = tf.lite.OpsSet.TFLITE_BUILTINS
        ops = [builtins] if builtin_only else [builtins, tf.lite.OpsSet.SELECT_TF_OPS]
        try:
            with warnings.catch_warnings():
                # Calibration runs TF's own deprecated interpreter; that is not ours to fix.
                warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated")
                return converter_for(ops).convert()
        except Exception as err:  # the converter raises ConverterError and plain exceptions
            error = err
        # Outside the except block, so the converter's chained traceback is not carried along.
        if builtin_only:
            flex_ops = _flex_ops_needed(converter_for([builtins, tf.lite.OpsSet.SELECT_TF_OPS]))
            if flex_ops:
                raise ValueError(
                    f"model {model.name!r} needs TensorFlow (Flex) ops that TFLite builtins lack: "
                    f"{', '.join(flex_ops)}; rebuild it from builtin-convertible layers (e.g. "
                    "RNN layers with unroll=True) or pass builtin_only=False"
                )
    hint = ""
    if mode == "int8" and calibration is None:
        hint = " (tensors without fake-quant ranges need representative_data)"
    raise ValueError(
        f"TFLite conversion of model {model.name!r} (mode={mode}) failed{hint}: "
        f"{converter_message(error)}"
    )


def calibration_samples(calibration):
    """TFLite's `representative_dataset`: a callable yielding `{name: one sample}` dicts."""
    count = next(iter(calibration.values())).shape[0]

    def generate():
        for i in range(count):
            yield {name: array[i : i + 1] for name, array in calibration.items()}

    return generate


def inspect_tflite(content):
    """Reads op types, tensor dtypes and signature I/O out of `.tflite` flatbuffer bytes.

    Args:
        content: the file's bytes.

    Returns:
        A dict with `op_types`, `tensor_dtypes`, `weight_dtypes` (`{name: count}`) and
        `inputs`, `outputs` (`[(name, shape, dtype name)]`, signature names where present).
    """
    from ai_edge_litert import schema_py_generated as schema

    op_names = _enum_names(schema.BuiltinOperator)
    type_names = {code: name.lower() for code, name in _enum_names(schema.TensorType).items()}
    fb = schema.Model.GetRootAs(content, 0)
    op_types = collections.Counter()
    tensor_dtypes = collections.Counter()
    weight_dtypes = collections.Counter()
    codes = []
    for i in range(fb.OperatorCodesLength()):
        code = fb.OperatorCodes(i)
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        if builtin == schema.BuiltinOperator.CUSTOM:
            codes.append(code.CustomCode().decode())
        else:
            codes.append(op_names.get(builtin, str(builtin)))
    for s in range(fb.SubgraphsLength()):
        subgraph = fb.Subgraphs(s)
        for o in range(subgraph.OperatorsLength()):
            op_types[codes[subgraph.Operators(o).OpcodeIndex()]] += 1
        for t in range(subgraph.TensorsLength()):
            tensor = subgraph.Tensors(t)
            dtype = type_names.get(tensor.Type(), str(tensor.Type()))
            tensor_dtypes[dtype] += 1
            buffer = fb.Buffers(tensor.Buffer()) if tensor.Buffer() else None
            if buffer is not None and (buffer.DataLength() or buffer.Size()):
                weight_dtypes[dtype] += 1

    inputs, outputs = [], []
    if fb.SubgraphsLength():
        main = fb.Subgraphs(0)

        def describe(index, name=None):
            tensor = main.Tensors(index)
            shape = tuple(int(d) for d in tensor.ShapeSignatureAsNumpy()) if tensor.ShapeSignatureLength() else tuple(int(d) for d in tensor.ShapeAsNumpy())
            return (name or tensor.Name().decode(), shape, type_names[tensor.Type()])

        if fb.SignatureDefsLength():
            sig = fb.SignatureDefs(0)
            inputs = [describe(sig.Inputs(i).TensorIndex(), sig.Inputs(i).Name().decode()) for i in range(sig.InputsLength())]
            outputs = [describe(sig.Outputs(i).TensorIndex(), sig.Outputs(i).Name().decode()) for i in range(sig.OutputsLength())]
        else:
            inputs = [describe(main.Inputs(i)) for i in range(main.InputsLength())]
            outputs = [describe(main.Outputs(i)) for i in range(main.OutputsLength())]
    return {
        "op_types": dict(sorted(op_types.items())),
        "tensor_dtypes": dict(sorted(tensor_dtypes.items())),
        "weight_dtypes": dict(sorted(weight_dtypes.items())),
        "inputs": inputs,
        "outputs": outputs,
    }


def float32_copy(model):
    """`model` itself, or, when any of its layers computes under a mixed dtype policy, a copy
    with every policy float32 and the same weights.

    Mixed precision is for training: TFLite's kernels compute in float32 (or int8 from float32
    ranges), and the converter refuses float16 graphs (TensorFlow ops it cannot lower) and
    bfloat16 ones (operands of different types). The variables of a mixed model are float32
    already, so the copy computes what the model computes, without the float16 / bfloat16
    rounding. Rebuilt from the model's serialization, so any model `.keras` can save works.
    """
    try:
        config = keras.saving.serialize_keras_object(model)
    except Exception:  # not serializable (e.g. a Lambda layer): converted as it is
        return model
    changed = []

    def float32(node):
        if isinstance(node, dict):
            if node.get("class_name") in ("DTypePolicy", "FloatDTypePolicy") and str(
                node.get("config", {}).get("name", "")
            ).startswith("mixed_"):
                changed.append(node["config"]["name"])
                return {**node, "config": {**node["config"], "name": "float32"}}
            out = {}
            for key, value in node.items():
                if key == "dtype" and value in ("mixed_float16", "mixed_bfloat16"):
                    changed.append(value)  # a model's own config, e.g. FCDenseNet's
                    value = "float32"
                out[key] = float32(value)
            return out
        if isinstance(node, list):
            return [float32(v) for v in node]
        return node

    config = float32(config)
    if not changed:
        return model
    copy = keras.saving.deserialize_keras_object(config)
    copy.set_weights(model.get_weights())
    return copy


def _write_content(model, path, content_fn, mode, kwargs):
    with open(path, "wb") as f:
        f.write(content_fn(model, mode, **kwargs))


def _check_types(model, mode, details):
    """A file must hold what `mode` promises (the converter can silently fall back to float)."""
    if mode == "int8" and "int8" not in details["tensor_dtypes"]:
        raise ValueError(f"the int8 conversion of model {model.name!r} produced no int8 tensors "
                         f"(tensors: {details['tensor_dtypes']}); check the calibration data")


def _has_fake_quant(function, input_specs):
    import tensorflow as tf

    graph = (
        tf.function(function)
        .get_concrete_function(*[tf.TensorSpec(shape, dtype) for _, shape, dtype in input_specs])
        .graph
    )
    return any(op.type.startswith("FakeQuant") for op in graph.get_operations())


def _flex_ops_needed(converter):
    """Converts allowing Flex ops and returns the TF op names the file needs, sorted."""
    try:
        content = converter.convert()
    except Exception:  # it does not convert with Flex either: the first error stands
        return []
    return sorted(
        name[len("Flex") :] for name in inspect_tflite(content)["op_types"] if name.startswith("Flex")
    )


def converter_message(error):
    """The converter's error as one line: its `error:` lines and op summaries."""
    lines = [line.strip() for line in str(error).splitlines()]
    # "loc(...): error: 'tf.X' op is ..." plus the converter's "Custom ops: X" summary.
    kept = [re.sub(r"^.*error:\s*", "", line) for line in lines if "error:" in line]
    kept = [line.rsplit(")): ", 1)[-1] if line.startswith("loc(") else line for line in kept]
    kept += [line for line in lines if line.startswith(("Custom ops:", "TF Select ops:"))]
    kept = [line for line in kept if line and not line.startswith("failed while converting")]
    if not kept:
        kept = [line for line in lines if line][:3]
    return "; ".join(dict.fromkeys(kept)) or type(error).__name__


def _enum_names(enum_class):
    return {
        value: name
        for name, value in vars(enum_class).items()
        if not name.startswith("_") and isinstance(value, int)
    }


def format_counts(counts):
    """`{name: count}` as `name xN, ...`."""
    return ", ".join(f"{name} x{count}" for name, count in counts.items()) or "-"


def format_io(specs):
    """`[(name, shape, dtype)]` as `name[shape]:dtype, ...`."""
    return ", ".join(f"{name}{list(shape)}:{dtype}" for name, shape, dtype in specs) or "-"
