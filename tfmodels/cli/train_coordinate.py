"""Flags and entry for `tfmodels-train --task=coordinate|mnist_mlp`: coordinate networks and
wide shallow nets on MNIST (tfmodels.models.coordinate).

Usage:
  tfmodels-train --task=coordinate [--image=PATH] [--image_height=64] [--coord_preset=original]
      [--coord_depth=N] [--coord_units=N] [--epochs=150] [--animate_every=10] [--noshallow]
      [--noquantize] [--export_dir=export]
  tfmodels-train --task=mnist_mlp [--mnist_preset=shallow_6000|deep_3x1024]
      [--mnist_loss=squared_error|crossentropy] [--epochs=5] [--batch_size=100 (1: online SGD)]
      [--fan_in_lr=0.3] [--momentum=0.9] [--validation=10000] [--data_dir=<idx folder>] [--export_dir=export]

coordinate: trains the picture's coordinate net (the Mona Lisa with the `coordinate` extra,
else a generated picture) and a one-layer net with as many weights, and writes
`<export_dir>/coordinate/`: truth_shallow_deep.png, neurons_hidden_<i>.png, learning.gif, the
`.keras` model and the int8 render `.tflite` (its PSNR drop is printed).
mnist_mlp: trains on real MNIST, keeps the epoch with the best validation accuracy, prints its
test error, and writes the `.keras` model, the first-layer weight grid PNG and a JSON report.
"""

from absl import flags

from tfmodels.cli import common_flags
from tfmodels.models.coordinate import MNIST_PRESETS, PRESETS
from tfmodels.tasks import coordinate, mnist_mlp

_IMAGE = flags.DEFINE_string(
    "image", None, "coordinate: PNG/JPEG to learn. Default: the Mona Lisa (mvtb-data) or a "
    "generated picture.")
_IMAGE_HEIGHT = flags.DEFINE_integer(
    "image_height", 64, "coordinate: training height in pixels (width keeps the aspect ratio).",
    lower_bound=1)
_PRESET = flags.DEFINE_enum("coord_preset", "original", sorted(PRESETS),
                            "coordinate: the net (original: 6 x 300 leaky ReLUs).")
_DEPTH = flags.DEFINE_integer("coord_depth", None, "coordinate: hidden layers (overrides preset).",
                              lower_bound=1)
_UNITS = flags.DEFINE_integer("coord_units", None, "coordinate: units per hidden layer.",
                              lower_bound=1)
_ANIMATE_EVERY = flags.DEFINE_integer(
    "animate_every", 10, "coordinate: epochs between animation frames (0: no learning.gif).",
    lower_bound=0)
_SHALLOW = flags.DEFINE_bool(
    "shallow", True, "coordinate: also train the 1-layer net with as many weights.")
_MNIST_PRESET = flags.DEFINE_enum("mnist_preset", "shallow_6000", sorted(MNIST_PRESETS),
                                  "mnist_mlp: the net.")
_MNIST_LOSS = flags.DEFINE_enum("mnist_loss", "squared_error", list(mnist_mlp.LOSSES),
                                "mnist_mlp: squared error on one-hot targets, or cross-entropy.")
_FAN_IN_LR = flags.DEFINE_float(
    "fan_in_lr", 0.3, "mnist_mlp: base rate of the per-layer rule lr / sqrt(fan_in + 1).")
_MOMENTUM = flags.DEFINE_float("momentum", 0.9, "mnist_mlp: SGD momentum (0: plain SGD).")


def _common():
    kwargs = {"seed": common_flags.SEED.value, "export_dir": common_flags.EXPORT_DIR.value,
              "verbose": 2}
    if common_flags.EPOCHS.value is not None:
        kwargs["epochs"] = common_flags.EPOCHS.value
    if common_flags.BATCH_SIZE.value is not None:
        kwargs["batch_size"] = common_flags.BATCH_SIZE.value
    return kwargs


def main_coordinate():
    print(coordinate.train_coordinate(
        image=_IMAGE.value, height=_IMAGE_HEIGHT.value, preset=_PRESET.value,
        depth=_DEPTH.value, units=_UNITS.value, animate_every=_ANIMATE_EVERY.value,
        shallow=_SHALLOW.value, int8=common_flags.QUANTIZE.value, **_common(),
    ))


def main_mnist_mlp():
    print(mnist_mlp.train_mnist_mlp(
        preset=_MNIST_PRESET.value, loss=_MNIST_LOSS.value, learning_rate=_FAN_IN_LR.value,
        momentum=_MOMENTUM.value, data_dir=common_flags.DATA_DIR.value,
        train_limit=common_flags.TRAIN_LIMIT.value, validation=common_flags.VALIDATION.value,
        work_dir=common_flags.WORK_DIR.value, **_common(),
    ))
