"""Exports a saved `.keras` model as a TF Serving SavedModel or a `.tflite` file.

Usage:
  tfmodels-export --model=export/runs/segmentation/model.keras --format=saved_model \
      --output=export/serving [--name=segmenter] [--version=3] [--warmup_data=warmup.npz]
  tfmodels-export --model=model.keras --format=tflite --output=export/model.tflite \
      --mode=int8 [--representative_data=calibration.npy] [--int8_io]

Export always runs on the TensorFlow backend (KERAS_BACKEND is set here): a model trained on
JAX is rebuilt on TensorFlow from its `.keras` file. Bad input (a missing or non-`.keras` file,
an unbuilt model, an existing version, ops TFLite lacks) ends with one `error:` line and exit
code 1. See `tfmodels.export` for what each format and mode writes.
"""

import os

os.environ["KERAS_BACKEND"] = "tensorflow"

import sys  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402
from absl import app, flags, logging  # noqa: E402

# Imported for their side effect: they register the custom Keras objects a .keras file names.
import tfmodels.layers  # noqa: E402,F401
import tfmodels.models.asr  # noqa: E402,F401
import tfmodels.models.rnn  # noqa: E402,F401
import tfmodels.models.segmentation  # noqa: E402,F401
import tfmodels.quantization  # noqa: E402,F401
from tfmodels.export import export_saved_model, export_tflite  # noqa: E402
from tfmodels.export.tflite import MODES  # noqa: E402

_MODEL = flags.DEFINE_string("model", None, "Path of the Keras model to export (a .keras file).", required=True)
_FORMAT = flags.DEFINE_enum(
    "format", None, ["tflite", "saved_model"],
    "tflite: one .tflite file (batch 1) for devices; saved_model: a TF Serving version directory "
    "<output>/<name>/<version>/ with a dynamic-batch serving_default signature.",
    required=True,
)
_OUTPUT = flags.DEFINE_string(
    "output", None,
    "tflite: the .tflite path to write. saved_model: the TF Serving base directory.",
    required=True,
)
_MODE = flags.DEFINE_enum(
    "mode", "float32", list(MODES),
    "tflite only. float32; float16 (float16 weights); dynamic_int8 (int8 weights, float "
    "activations); int8 (full integer: ranges from the model's fake-quant ops, otherwise from "
    "--representative_data).",
)
_REPRESENTATIVE_DATA = flags.DEFINE_string(
    "representative_data", None,
    "tflite int8 only: calibration inputs, a .npy array (single-input model) or a .npz keyed by "
    "input name, leading axis = samples. A few dozen samples suffice.",
)
_INT8_IO = flags.DEFINE_bool(
    "int8_io", False,
    "tflite int8 only: int8 inputs and outputs (default: float32 I/O with quantize/dequantize "
    "ops at the edges).",
)
_BUILTIN_ONLY = flags.DEFINE_bool(
    "builtin_only", True,
    "tflite only: refuse models that need Flex (TensorFlow) ops, naming them. --nobuiltin_only "
    "allows them (the runtime then needs the Flex delegate).",
)
_NAME = flags.DEFINE_string(
    "name", None, "saved_model only: the model name (sub-directory of --output). Default: the "
    ".keras file name without its extension.",
)
_VERSION = flags.DEFINE_integer(
    "version", None, "saved_model only: version number; default the next after the highest "
    "existing one (1 if none). An existing version is never overwritten.",
)
_WARMUP_DATA = flags.DEFINE_string(
    "warmup_data", None,
    "saved_model only: one batch of inputs (.npy or .npz keyed by input name) written as the "
    "TF Serving warmup request (assets.extra/tf_serving_warmup_requests).",
)


def _load_model(path):
    if not os.path.isfile(path):
        raise FileNotFoundError(f"--model: no such file: {path}")
    if not path.endswith(".keras"):
        raise ValueError(f"--model must be a .keras file (model.save('m.keras')), got {path}")
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as err:  # Keras raises many kinds for corrupt or foreign files
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ValueError(f"--model: cannot load {path}: {message}") from None


def _load_arrays(path, flag):
    if path is None:
        return None
    if not os.path.isfile(path):
        raise FileNotFoundError(f"--{flag}: no such file: {path}")
    if path.endswith(".npy"):
        return np.load(path)
    if path.endswith(".npz"):
        with np.load(path) as data:
            arrays = {key: data[key] for key in data.files}
        return next(iter(arrays.values())) if len(arrays) == 1 else arrays
    raise ValueError(f"--{flag} must be a .npy or .npz file, got {path}")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    tflite_only = {"mode": _MODE.value != "float32", "representative_data": _REPRESENTATIVE_DATA.value,
                   "int8_io": _INT8_IO.value, "builtin_only": not _BUILTIN_ONLY.value}
    saved_model_only = {"name": _NAME.value, "version": _VERSION.value, "warmup_data": _WARMUP_DATA.value}
    wrong = saved_model_only if _FORMAT.value == "tflite" else tflite_only
    # TensorFlow logs every SavedModel write at INFO through absl.
    logging.set_verbosity(logging.WARNING)
    try:
        for flag, given in wrong.items():
            if given:
                raise ValueError(f"--{flag} does not apply to --format={_FORMAT.value}")
        model = _load_model(_MODEL.value)
        if _FORMAT.value == "saved_model":
            name = _NAME.value or os.path.splitext(os.path.basename(_MODEL.value))[0]
            print(
                export_saved_model(
                    model, _OUTPUT.value, name, version=_VERSION.value,
                    warmup_inputs=_load_arrays(_WARMUP_DATA.value, "warmup_data"),
                )
            )
        else:
            print(
                export_tflite(
                    model, _OUTPUT.value, mode=_MODE.value,
                    representative_data=_load_arrays(_REPRESENTATIVE_DATA.value, "representative_data"),
                    builtin_only=_BUILTIN_ONLY.value, int8_io=_INT8_IO.value,
                )
            )
    except (ValueError, OSError) as err:
        sys.stderr.write(f"tfmodels-export: error: {err}\n")
        sys.exit(1)


def run():
    app.run(main)


if __name__ == "__main__":
    run()
