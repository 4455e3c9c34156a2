"""Flags and entry for `tfmodels-train --task=segmentation` (FC-DenseNet, arXiv:1611.09326).

Usage:
  # The README's main job: FC-DenseNet56 on generated street scenes (data/scenes, generated if
  # missing), float training, QAT fine-tuning, int8 .tflite + SavedModel under export/.
  tfmodels-train --task=segmentation

  # The paper's recipe on CamVid (SegNet layout under data/camvid):
  tfmodels-train --task=segmentation --data_dir=data/camvid --fc_densenet=103 \
      --crop_size=224,224 --batch_size=3 --epochs=1000 --class_weights --qat_epochs=10

Segmentation's own flags that other tasks might also want carry a `seg_` prefix
(--seg_learning_rate, --seg_dropout, --seg_steps_per_epoch): every task's flags live in one
absl namespace. Shared flags (--seed --data_dir --export_dir --work_dir --epochs --batch_size --quantize) are
defined in tfmodels/cli/common_flags.py; the library call is
`tfmodels.tasks.segmentation.run`.
"""

from absl import app, flags

from tfmodels.cli import common_flags
from tfmodels.tasks import segmentation

_FC_DENSENET = flags.DEFINE_enum(
    "fc_densenet", "56", ["56", "67", "103"], "Segmentation: FC-DenseNet variant (depth)."
)
_CROP_SIZE = flags.DEFINE_string(
    "crop_size",
    "64,64",
    "Segmentation: training crop HEIGHT,WIDTH (multiples of 32; the paper uses 224,224), or "
    "'full' for whole frames.",
)
_LEARNING_RATE = flags.DEFINE_float(
    "seg_learning_rate", 1e-3, "Segmentation: RMSprop learning rate (paper: 1e-3)."
)
_LR_DECAY = flags.DEFINE_float(
    "lr_decay", 0.995, "Segmentation: learning-rate factor applied after every epoch (paper: 0.995)."
)
_WEIGHT_DECAY = flags.DEFINE_float(
    "weight_decay", 1e-4, "Segmentation: L2 weight decay on conv kernels (paper: 1e-4)."
)
_DROPOUT = flags.DEFINE_float("seg_dropout", 0.2, "Segmentation: dropout rate (paper: 0.2).")
_CLASS_WEIGHTS = flags.DEFINE_bool(
    "class_weights", False, "Segmentation: median-frequency class weights in the loss."
)
_QAT_EPOCHS = flags.DEFINE_integer(
    "qat_epochs", 1, "Segmentation: quantization-aware fine-tuning epochs (with --quantize)."
)
_QAT_LEARNING_RATE = flags.DEFINE_float(
    "qat_learning_rate", 1e-4, "Segmentation: learning rate of QAT fine-tuning."
)
_STEPS_PER_EPOCH = flags.DEFINE_integer(
    "seg_steps_per_epoch", None, "Segmentation: cap on training steps per epoch (default: one pass)."
)
_EVAL_SPLIT = flags.DEFINE_enum(
    "eval_split", "val", ["val", "test"],
    "The split the report scores (float, QAT, .tflite): CamVid's test set is 'test'.",
)
_NUM_OVERLAYS = flags.DEFINE_integer(
    "num_overlays", 4, "Segmentation: validation frames written as image|truth|prediction PNGs."
)

# Defaults of the shared flags that are left to the task.
_EPOCHS_DEFAULT = 3
_BATCH_SIZE_DEFAULT = 8


def main():
    crop = _CROP_SIZE.value.strip().lower()
    if crop in ("full", "none", ""):
        crop_size = None
    else:
        try:
            crop_size = tuple(int(v) for v in crop.split(","))
        except ValueError:
            raise app.UsageError(f"--crop_size must be HEIGHT,WIDTH or 'full'; got {crop!r}")
    segmentation.run(
        data_dir=common_flags.DATA_DIR.value,
        export_dir=common_flags.EXPORT_DIR.value,
        work_dir=common_flags.WORK_DIR.value,
        model=f"fc_densenet{_FC_DENSENET.value}",
        epochs=common_flags.EPOCHS.value or _EPOCHS_DEFAULT,
        batch_size=common_flags.BATCH_SIZE.value or _BATCH_SIZE_DEFAULT,
        crop_size=crop_size,
        learning_rate=_LEARNING_RATE.value,
        lr_decay=_LR_DECAY.value,
        weight_decay=_WEIGHT_DECAY.value,
        dropout=_DROPOUT.value,
        class_weights=_CLASS_WEIGHTS.value,
        quantize=common_flags.QUANTIZE.value,
        qat_epochs=_QAT_EPOCHS.value,
        qat_learning_rate=_QAT_LEARNING_RATE.value,
        steps_per_epoch=_STEPS_PER_EPOCH.value,
        num_overlays=_NUM_OVERLAYS.value,
        seed=common_flags.SEED.value,
        eval_split=_EVAL_SPLIT.value,
    )
