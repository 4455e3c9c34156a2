"""Exports a saved `.keras` model as a TF Serving SavedModel or a `.tflite` file.

Usage:
  tfmodels-export --model=export/runs/segmentation/model.keras --format=saved_model \
      --output=export/serving [--name=segmenter] [--version=3] [--warmup_data=warmup.npz]
  tfmodels-export --model=model.keras --format=tflite --output=export/model.tflite \
      --mode=int8 [--representative_data=calibration.npy] [--int8_io]
  tfmodels-export --format=sample --model=export/char_lm_step.int8.tflite \
      --vocab=export/char_lm.vocab.json --seed_text="The " --length=200 --temperature=0.8

Export always runs on the TensorFlow backend (KERAS_BACKEND is set here): a model trained on
JAX is rebuilt on TensorFlow from its `.keras` file. Bad input (a missing or non-`.keras` file,
an unbuilt model, an existing version, ops TFLite lacks) ends with one `error:` line and exit
code 1. See `tfmodels.export` for what each format and mode writes.
"""

import os

os.environ["KERAS_BACKEND"] = "tensorflow"


import keras  # noqa: E402
from absl import app, flags, logging  # noqa: E402

# Imported for their side effect: they register the custom Keras objects a .keras file names.
import tfmodels.layers  # noqa: E402,F401
import tfmodels.models.asr  # noqa: E402,F401
import tfmodels.models.coordinate  # noqa: E402,F401
import tfmodels.models.qnn  # noqa: E402,F401
import tfmodels.models.rnn  # noqa: E402,F401
import tfmodels.models.segmentation  # noqa: E402,F401
import tfmodels.optimizers  # noqa: E402,F401
import tfmodels.quantization  # noqa: E402,F401
from tfmodels.export import export_saved_model, export_tflite  # noqa: E402
from tfmodels.cli import errors  # noqa: E402
from tfmodels.cli.files import load_arrays, load_keras_model  # noqa: E402
from tfmodels.tasks.char_lm import sample_text  # noqa: E402
from tfmodels.export.tflite import MODES  # noqa: E402

_MODEL = flags.DEFINE_string(
    "model", None,
    "The Keras model to export (a .keras file); with --format=sample, a char-LM step .tflite.",
    required=True,
)
_FORMAT = flags.DEFINE_enum(
    "format", None, ["tflite", "saved_model", "sample"],
    "tflite: one .tflite file (batch 1) for devices; saved_model: a TF Serving version directory "
    "<output>/<name>/<version>/ with a dynamic-batch serving_default signature; sample: generate "
    "text with a char-LM step .tflite in the LiteRT interpreter (the device path) and print it.",
    required=True,
)
_OUTPUT = flags.DEFINE_string(
    "output", None,
    "tflite: the .tflite path to write. saved_model: the TF Serving base directory. "
    "Required for both.",
)
_VOCAB = flags.DEFINE_string(
    "vocab", None, "sample only: the char-LM's vocabulary JSON (written beside the .tflite)."
)
_SEED_TEXT = flags.DEFINE_string("seed_text", "The ", "sample only: the prompt fed first.")
_LENGTH = flags.DEFINE_integer("length", 200, "sample only: characters to generate.", lower_bound=1)
_TEMPERATURE = flags.DEFINE_float(
    "temperature", 1.0, "sample only: > 0; lower is more conservative."
)
_SAMPLE_SEED = flags.DEFINE_integer("sample_seed", 0, "sample only: seed of the sampling.",
                                    lower_bound=0)
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
    "existing one (1 if none). An existing version is never overwritten.", lower_bound=1
)
_WARMUP_DATA = flags.DEFINE_string(
    "warmup_data", None,
    "saved_model only: one batch of inputs (.npy or .npz keyed by input name) written as the "
    "TF Serving warmup request (assets.extra/tf_serving_warmup_requests).",
)


def _sample():
    if not _MODEL.value.endswith(".tflite"):
        raise ValueError(f"--format=sample needs --model=<char-LM step .tflite>, got {_MODEL.value}")
    for flag, value in (("model", _MODEL.value), ("vocab", _VOCAB.value)):
        if value is None:
            raise ValueError(f"--format=sample needs --{flag}")
        if not os.path.isfile(value):
            raise FileNotFoundError(f"--{flag}: no such file: {value}")
    print(
        _SEED_TEXT.value
        + sample_text(
            _MODEL.value, _VOCAB.value, _SEED_TEXT.value, length=_LENGTH.value,
            temperature=_TEMPERATURE.value, seed=_SAMPLE_SEED.value,
        )
    )


def _export():
    tflite_only = {"mode": _MODE.value != "float32", "representative_data": _REPRESENTATIVE_DATA.value,
                   "int8_io": _INT8_IO.value, "builtin_only": not _BUILTIN_ONLY.value}
    saved_model_only = {"name": _NAME.value, "version": _VERSION.value, "warmup_data": _WARMUP_DATA.value}
    wrong = saved_model_only if _FORMAT.value == "tflite" else tflite_only
    for flag, given in wrong.items():
        if given:
            raise ValueError(f"--{flag} does not apply to --format={_FORMAT.value}")
    if not _OUTPUT.value:
        raise ValueError(f"--format={_FORMAT.value} needs --output")
    model = load_keras_model(_MODEL.value)
    if _FORMAT.value == "saved_model":
        name = _NAME.value or os.path.splitext(os.path.basename(_MODEL.value))[0]
        print(
            export_saved_model(
                model, _OUTPUT.value, name, version=_VERSION.value,
                warmup_inputs=load_arrays(_WARMUP_DATA.value, "warmup_data"),
            )
        )
    else:
        print(
            export_tflite(
                model, _OUTPUT.value, mode=_MODE.value,
                representative_data=load_arrays(_REPRESENTATIVE_DATA.value, "representative_data"),
                builtin_only=_BUILTIN_ONLY.value, int8_io=_INT8_IO.value,
            )
        )


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    # TensorFlow logs every SavedModel write at INFO through absl.
    logging.set_verbosity(logging.WARNING)
    errors.run_or_exit("tfmodels-export", _sample if _FORMAT.value == "sample" else _export)


def run():
    # Under `bazel run` the working directory is the runfiles tree; use the caller's instead.
    os.chdir(os.environ.get("BUILD_WORKING_DIRECTORY", "."))
    app.run(main)


if __name__ == "__main__":
    run()
