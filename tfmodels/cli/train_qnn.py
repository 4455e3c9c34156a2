"""Flags and entry for `tfmodels-train --task=bnn`: binarized / quantized nets on MNIST.

Usage:
  tfmodels-train --task=bnn [--model=mlp] [--preset=mlp_256] [--weights=binary]
      [--activations=binary] [--stochastic] [--shift] [--loss=squared_hinge] [--epochs=10]
      [--batch_size=100] [--initial_lr=3e-3] [--final_lr=3e-4] [--gradient_bits=6]
      [--data_dir=<MNIST idx folder>] [--export_dir=export] [--noquantize] [--seed=0]

Trains on MNIST (50k/10k/10k, arXiv:1609.07061), prints test error, writes the `.keras` model,
the int8 `.tflite` (with `--quantize`, the default: run on the test set in LiteRT and compared
with Keras) and, for binary MLPs, the 1-bit packed weights (run through the XNOR-popcount path).
"""

from absl import flags

from tfmodels.cli import common_flags
from tfmodels.models.qnn import CONVNET_PRESETS, MLP_PRESETS, QUANTIZERS
from tfmodels.tasks import bnn

_MODEL = flags.DEFINE_enum("model", "mlp", list(bnn.MODELS), "bnn: MLP or ConvNet.")
_PRESET = flags.DEFINE_enum(
    "preset", "mlp_256", sorted(set(MLP_PRESETS) | set(CONVNET_PRESETS)),
    "bnn: model preset (MLP_PRESETS / CONVNET_PRESETS; 'paper' is the paper's size).")
_WEIGHTS = flags.DEFINE_enum("weights", "binary", sorted(QUANTIZERS), "bnn: weight quantizer.")
_ACTIVATIONS = flags.DEFINE_enum(
    "activations", "binary", sorted(QUANTIZERS), "bnn: activation quantizer.")
_SHIFT = flags.DEFINE_bool("shift", False, "bnn: shift-based BatchNorm and AdaMax.")
_LOSS = flags.DEFINE_enum("loss", "squared_hinge", list(bnn.LOSSES), "bnn: training loss.")
_INITIAL_LR = flags.DEFINE_float("initial_lr", 3e-3, "bnn: learning rate of the first epoch.")
_FINAL_LR = flags.DEFINE_float("final_lr", 3e-4, "bnn: learning rate of the last epoch.")
_GRADIENT_BITS = flags.DEFINE_integer(
    "gradient_bits", None, "bnn: quantize gradients to this many bits (paper: 6).")


def main():
    kwargs = {}
    if common_flags.EPOCHS.value is not None:
        kwargs["epochs"] = common_flags.EPOCHS.value
    if common_flags.BATCH_SIZE.value is not None:
        kwargs["batch_size"] = common_flags.BATCH_SIZE.value
    print(bnn.train_bnn(
        model=_MODEL.value, preset=_PRESET.value, weights=_WEIGHTS.value,
        activations=_ACTIVATIONS.value, stochastic=flags.FLAGS.stochastic, shift=_SHIFT.value,
        loss=_LOSS.value, learning_rate=_INITIAL_LR.value, final_learning_rate=_FINAL_LR.value,
        gradient_bits=_GRADIENT_BITS.value, seed=common_flags.SEED.value,
        data_dir=common_flags.DATA_DIR.value, train_limit=common_flags.TRAIN_LIMIT.value,
        validation=common_flags.VALIDATION.value,
        export_dir=common_flags.EXPORT_DIR.value, int8=common_flags.QUANTIZE.value, verbose=2,
        **kwargs,
    ))
