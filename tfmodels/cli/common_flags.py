"""Flags shared by every `tfmodels-train` task. Task flag modules import these names."""

from absl import flags

SEED = flags.DEFINE_integer("seed", 0, "Random seed for data order, initialization and dropout.",
                            lower_bound=0)
DATA_DIR = flags.DEFINE_string(
    "data_dir", None, "Dataset directory. Default: the task's embedded dataset under ./data/."
)
EXPORT_DIR = flags.DEFINE_string(
    "export_dir", "export", "Where SavedModels (TF Serving base paths) and .tflite files go."
)
WORK_DIR = flags.DEFINE_string(
    "work_dir",
    None,
    "Checkpoints, BackupAndRestore state and TensorBoard logs. Default: <export_dir>/runs/<task>.",
)
EPOCHS = flags.DEFINE_integer("epochs", None, "Training epochs. Default: the task's own default.",
                              lower_bound=1)
BATCH_SIZE = flags.DEFINE_integer("batch_size", None, "Batch size. Default: the task's own.",
                                  lower_bound=1)
QUANTIZE = flags.DEFINE_bool(
    "quantize", True, "Train quantization-aware (int8 fake-quant) and export an int8 .tflite."
)
# The MNIST tasks (bnn, mnist_mlp, probes) share these.
VALIDATION = flags.DEFINE_integer(
    "validation", 10000, "MNIST tasks: the last N training images held out for validation.",
    lower_bound=0
)
TRAIN_LIMIT = flags.DEFINE_integer(
    "train_limit", None, "MNIST tasks: train on only the first N training images (quick runs).",
    lower_bound=1
)
