"""Flags and entry for `tfmodels-train --task=char_lm|digits`: quantized RNNs (arXiv:1608.06902).

Usage:
  tfmodels-train --task=char_lm --cell=lstm --quantizer=ternary [--stochastic] [--units=128]
      [--data_dir=data/text] [--epochs=2] [--steps_per_epoch=200] [--export_dir=export]
  tfmodels-train --task=digits --cell=gru --quantizer=pow2_ternary [--epochs=15]
  tfmodels-train --task=char_lm --cell=hm_lstm [--rnn_layers=3] [--layer_norm]
      [--noslope_annealing] [--boundary_every=50]
  tfmodels-train --task=char_lm --cell=lstm --training=professor|scheduled|teacher

Trains, prints test BPC / accuracy, writes the `.keras` model and the streaming step `.tflite`
files (float32, and int8 with `--quantize`, the default) to `--export_dir`, and prints how the
`.tflite` files score in the LiteRT interpreter next to the Keras model.
"""

import os

from absl import flags

from tfmodels.cli import common_flags
from tfmodels.models.rnn import QUANTIZER_PRESETS
from tfmodels.tasks import char_lm, digits

_CELL = flags.DEFINE_enum(
    "cell", "lstm", sorted(char_lm.CELLS),
    "Recurrent cell; hm_lstm (char_lm only): the Hierarchical Multiscale LSTM, arXiv:1609.01704.")
_QUANTIZER = flags.DEFINE_enum(
    "quantizer", "float", sorted(QUANTIZER_PRESETS),
    "Weight quantizer of the RNN (input, recurrent and bias weights), as in arXiv:1608.06902.",
)
_STOCHASTIC = flags.DEFINE_bool("stochastic", False, "Stochastic quantization in training.")
_UNITS = flags.DEFINE_integer("units", None, "RNN state size. Default: 128 (char_lm), 32 (digits).",
                              lower_bound=1)
_RNN_LAYERS = flags.DEFINE_integer(
    "rnn_layers", None, "Stacked RNN layers (char_lm). Default: 1 (3 for hm_lstm).")
_LAYER_NORM = flags.DEFINE_bool("layer_norm", False, "Layer normalization (hm_lstm).")
_SLOPE_ANNEALING = flags.DEFINE_bool(
    "slope_annealing", True, "Anneal the boundary slope, min(5, 1 + 0.04 * epoch) (hm_lstm).")
_SEQ_LEN = flags.DEFINE_integer("seq_len", 64, "Training window length in characters (char_lm).",
                                lower_bound=1)
_TRAINING = flags.DEFINE_enum(
    "training", "teacher", ["teacher", "scheduled", "professor"],
    "char_lm (lstm, rnn): teacher forcing, scheduled sampling, or Professor Forcing "
    "(arXiv:1610.09038).")
_BOUNDARY_EVERY = flags.DEFINE_integer(
    "boundary_every", None, "hm_lstm: score the boundaries against spaces / newlines every N "
    "training batches; the history (JSON, PNG) goes to the export folder.")
_STEPS_PER_EPOCH = flags.DEFINE_integer(
    "steps_per_epoch", 200, "Training batches per epoch (char_lm; windows are drawn at random)."
)


def _common(task):
    export_dir = common_flags.EXPORT_DIR.value
    kwargs = {"seed": common_flags.SEED.value, "export_dir": export_dir,
              "int8": common_flags.QUANTIZE.value, "verbose": 2,
              "work_dir": common_flags.WORK_DIR.value or os.path.join(export_dir, "runs", task)}
    if common_flags.EPOCHS.value is not None:
        kwargs["epochs"] = common_flags.EPOCHS.value
    if common_flags.BATCH_SIZE.value is not None:
        kwargs["batch_size"] = common_flags.BATCH_SIZE.value
    if _UNITS.value is not None:
        kwargs["units"] = _UNITS.value
    return kwargs


def main_char_lm():
    hm_lstm = {}
    if _CELL.value == "hm_lstm":
        hm_lstm = {"layer_norm": _LAYER_NORM.value, "slope_annealing": _SLOPE_ANNEALING.value}
        if _BOUNDARY_EVERY.value is not None:
            hm_lstm["boundary_every"] = _BOUNDARY_EVERY.value
    print(char_lm.train_char_lm(
        data_dir=common_flags.DATA_DIR.value, cell=_CELL.value, quantizer=_QUANTIZER.value,
        stochastic=_STOCHASTIC.value, num_layers=_RNN_LAYERS.value, seq_len=_SEQ_LEN.value,
        steps_per_epoch=_STEPS_PER_EPOCH.value, **hm_lstm, **_common("char_lm"),
        # Only when asked for: a default run calls the task exactly as before.
        **({"training": _TRAINING.value} if _TRAINING.value != "teacher" else {}),
    ))


def main_digits():
    print(digits.train_digits(
        cell=_CELL.value, quantizer=_QUANTIZER.value, stochastic=_STOCHASTIC.value,
        **_common("digits"),
    ))
