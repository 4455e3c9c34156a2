"""SavedModel export in the TF Serving layout: `base_dir/name/<version>/`.

TF Serving watches `base_dir/name` and loads every sub-directory whose name is an integer, so a
version must appear complete or not at all: it is written to a hidden temp directory beside the
target and renamed into place.

Backends: the SavedModel is always traced on TensorFlow. A model on the TF backend is exported
in-process; a model on another backend (JAX) is saved to a temporary `.keras` file and rebuilt
on TensorFlow in a child process (`run_on_tensorflow`), which must be able to import the modules
that define its custom layers (so classes defined in `__main__` cannot cross over).
"""

import os
import pickle
import re
import subprocess
import sys
import tempfile

import keras
import numpy as np

from tfmodels.export.inputs import named_arrays
from tfmodels.utils import atomic

SIGNATURE_KEY = "serving_default"
WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")


def export_saved_model(model, base_dir, name, version=None, warmup_inputs=None):
    """Exports `model` for TF Serving as `base_dir/name/<version>/`.

    The `serving_default` signature takes the model's inputs by their Keras names
    (`keras.Input(name=...)`) with a dynamic batch dimension and returns a dict keyed by the
    model's output names (the output layers' names, or the keys of a dict-output model).

    Args:
        model: a built Keras model with defined inputs (functional, or `Sequential` with an
            `Input`).
        base_dir: TF Serving base directory; created if missing.
        name: model name, the sub-directory of `base_dir` TF Serving is pointed at.
        version: positive integer version; None takes the next integer after the highest
            existing version (1 if none). An existing version is never overwritten.
        warmup_inputs: optional batch of inputs (an array for a single-input model, or a
            list / dict keyed by input name) written as one `PredictionLog` record to
            `assets.extra/tf_serving_warmup_requests`, which TF Serving replays at load time.

    Returns:
        The path of the version directory that was written.

    Raises:
        ValueError: bad `name`, `version`, model or `warmup_inputs`.
        FileExistsError: `base_dir/name/<version>` already exists.

    Example:
        >>> path = export_saved_model(model, "export/serving", "segmenter")  # doctest: +SKIP
        >>> # tensorflow_model_server --model_base_path=$PWD/export/serving/segmenter ...
    """
    _check_name_and_version(name, version)
    signature = serving_signature(model)
    warmup = None
    if warmup_inputs is not None:
        warmup = named_arrays(warmup_inputs, signature, "warmup_inputs")

    def write(directory):
        if keras.backend.backend() == "tensorflow":
            write_saved_model(model, directory)
        else:
            run_on_tensorflow(model, write_saved_model, directory=directory)
        if warmup is not None:
            _write_warmup(os.path.join(directory, WARMUP_FILE), name, warmup)

    return publish_version(base_dir, name, version, write)


def publish_version(base_dir, name, version, write):
    """Runs `write(temp_dir)` and renames the result to `base_dir/name/<version>/` atomically.

    The TF Serving contract shared by every SavedModel export here: the version directory
    appears complete or not at all, and an existing version is never overwritten.

    Args:
        base_dir: TF Serving base directory; created if missing.
        name: model name, a plain directory name.
        version: positive integer, or None for the next after the highest existing one.
        write: `write(directory)` writes the SavedModel into the (new, empty) directory.

    Returns:
        The version directory path.

    Raises:
        ValueError: bad `name` or `version`.
        FileExistsError: the version exists (checked before writing and at the rename).
    """
    _check_name_and_version(name, version)
    model_dir = os.path.join(os.fspath(base_dir), name)
    os.makedirs(model_dir, exist_ok=True)
    if version is None:
        version = _next_version(model_dir)
    final_dir = os.path.join(model_dir, str(int(version)))
    if os.path.exists(final_dir):
        raise FileExistsError(f"SavedModel version already exists, refusing to overwrite: {final_dir}")
    # The temporary folder's name is not an integer, so TF Serving ignores it until the rename.
    with atomic.atomic_directory(final_dir) as temp_dir:
        write(temp_dir)
    return final_dir


def _check_name_and_version(name, version):
    if not name or not re.fullmatch(r"[A-Za-z0-9_.\-]+", name) or name in (".", ".."):
        raise ValueError(f"name must be a plain directory name, got {name!r}")
    if version is not None and (
        isinstance(version, bool) or not isinstance(version, (int, np.integer)) or version < 1
    ):
        raise ValueError(f"version must be a positive integer or None, got {version!r}")


def serving_signature(model, batch_size=None):
    """Returns `(input_specs, output_names)` for `model`'s serving signature.

    Args:
        model: a built Keras model with defined inputs.
        batch_size: fixed batch dimension, or None for a dynamic one.

    Returns:
        `input_specs`: list of `(name, shape, dtype)` in `model.inputs` order;
        `output_names`: list of output names in the order of the model's flattened outputs.
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a keras.Model, got {type(model).__name__}")
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        inputs = None
    if not model.built or not inputs:
        raise ValueError(
            f"model {model.name!r} is not built or has no defined inputs: build it with "
            "keras.Input(...) (functional API or Sequential([keras.Input(...), ...]))"
        )
    specs = [(t.name, (batch_size,) + tuple(t.shape[1:]), t.dtype) for t in inputs]
    names = [name for name, _, _ in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"model {model.name!r} has duplicate input names: {names}")
    outputs = model.outputs
    try:
        structure = model.output
    except AttributeError:  # Sequential: one output, and no `output` until called
        structure = None
    if isinstance(structure, dict):
        output_names = sorted(structure)
    elif hasattr(model, "output_names"):
        output_names = list(model.output_names)
    else:
        # Sequential: its one output is the last layer's.
        output_names = [model.layers[-1].name]
    if len(output_names) != len(outputs) or len(set(output_names)) != len(output_names):
        output_names = [f"output_{i}" for i in range(len(outputs))]
    return specs, output_names


def serving_function(model, signature):
    """Returns `fn(*inputs) -> {output_name: tensor}` that calls `model` in inference mode."""
    specs, output_names = signature

    def serve(*inputs):
        if len(inputs) == 1:
            outputs = model(inputs[0], training=False)
        else:
            # Functional models accept their inputs as a dict keyed by input name, whatever
            # structure they were built with.
            outputs = model({name: x for (name, _, _), x in zip(specs, inputs)}, training=False)
        if isinstance(outputs, dict):
            return {key: outputs[key] for key in output_names}
        return dict(zip(output_names, keras.tree.flatten(outputs)))

    return serve


def write_saved_model(model, directory, function=None, input_specs=None):
    """Writes a SavedModel with one `serving_default` endpoint (TF backend only).

    The one SavedModel writer: TF Serving exports, the `.tflite` converter's input and every
    family's own signatures (ASR transcriber, fused LSTM) go through it.

    Args:
        model: the Keras model whose variables the endpoint uses (tracked by the archive).
        directory: an empty or missing folder.
        function: `fn(*inputs) -> {output name: tensor}`; default `serving_function(model)`.
        input_specs: `[(name, shape, dtype)]` of `function`'s inputs; default the model's
            serving signature (dynamic batch).
    """
    import tensorflow as tf

    if function is None or input_specs is None:
        signature = serving_signature(model)
        function = function or serving_function(model, signature)
        input_specs = input_specs or signature[0]
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        SIGNATURE_KEY,
        function,
        input_signature=[tf.TensorSpec(shape, dtype, name=name) for name, shape, dtype in input_specs],
    )
    archive.write_out(directory, verbose=False)


# Runs in the child process: loads the model on TensorFlow and calls the export function. The
# last stderr line carries the error for the parent to re-raise.
_CHILD = """
import importlib, pickle, sys
for module in sys.argv[3:]:
    importlib.import_module(module)
import keras
with open(sys.argv[2], "rb") as f:
    module, function, kwargs = pickle.load(f)
try:
    model = keras.saving.load_model(sys.argv[1], compile=False)
    getattr(importlib.import_module(module), function)(model, **kwargs)
except (ValueError, OSError) as err:
    sys.stderr.write(f"\\n{type(err).__name__}: {err}\\n")
    sys.exit(1)
"""

_ERRORS = {"FileExistsError": FileExistsError, "FileNotFoundError": FileNotFoundError}


def run_on_tensorflow(model, function, **kwargs):
    """Calls `function(model_on_tf, **kwargs)` in a child process with the TensorFlow backend.

    The model crosses over as a `.keras` file, so the result is the same model rebuilt on
    TensorFlow; `kwargs` cross over pickled (arrays, strings, numbers).

    Args:
        model: a Keras model on any backend.
        function: a module-level function `(model, **kwargs)`; its return value is dropped.
        **kwargs: picklable keyword arguments for `function`.

    Raises:
        ValueError: the model uses classes the child cannot import, or `function` raised a
            ValueError (FileExistsError / FileNotFoundError are re-raised as such).
    """
    modules = sorted(
        {type(layer).__module__ for layer in model._flatten_layers(include_self=True)}
        - {"builtins"}
    )
    modules = [m for m in modules if not m.startswith("keras")]
    if "__main__" in modules:
        raise ValueError(
            "model uses classes defined in __main__, which the TensorFlow rebuild cannot "
            "import: move them into an importable module"
        )
    with tempfile.TemporaryDirectory() as temp:
        model_path = os.path.join(temp, "model.keras")
        model.save(model_path)
        args_path = os.path.join(temp, "args.pkl")
        with open(args_path, "wb") as f:
            pickle.dump((function.__module__, function.__name__, kwargs), f)
        env = dict(os.environ, KERAS_BACKEND="tensorflow")
        result = subprocess.run(
            [sys.executable, "-c", _CHILD, model_path, args_path, *modules],
            env=env,
            capture_output=True,
            text=True,
        )
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines() or [f"exit code {result.returncode}"]
        kind, _, message = lines[-1].partition(": ")
        raise _ERRORS.get(kind, ValueError)(
            message if kind in _ERRORS or kind == "ValueError" else f"TensorFlow rebuild failed: {lines[-1]}"
        )


def _next_version(model_dir):
    versions = [int(entry) for entry in os.listdir(model_dir) if entry.isdigit()]
    return max(versions, default=0) + 1


def _write_warmup(path, model_name, arrays):
    import tensorflow as tf
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

    request = predict_pb2.PredictRequest(
        model_spec=model_pb2.ModelSpec(name=model_name, signature_name=SIGNATURE_KEY)
    )
    for name, array in arrays.items():
        request.inputs[name].CopyFrom(tf.make_tensor_proto(array))
    record = prediction_log_pb2.PredictionLog(
        predict_log=prediction_log_pb2.PredictLog(request=request)
    )
    os.makedirs(os.path.dirname(path), exist_ok=True)
    # Inside the version's temporary folder: the whole version appears at once.
    with tf.io.TFRecordWriter(path) as writer:
        writer.write(record.SerializeToString())
