"""Trains a tfmodels task end to end: data -> model.fit -> export -> verification report.

Usage:
  tfmodels-train --task=segmentation [--epochs=N] [--data_dir=data/scenes] [--export_dir=export]
  tfmodels-train --task=char_lm --cell=lstm --quantizer=ternary
  tfmodels-train --task=char_lm --cell=hm_lstm [--layer_norm] [--noslope_annealing]
  tfmodels-train --task=digits --cell=gru --quantizer=pow2_ternary
  tfmodels-train --task=asr --adversarial=true --seen_noises=white,babble
  tfmodels-train --task=bnn --preset=mlp_256 --weights=binary --activations=binary
  tfmodels-train --task=coordinate [--image=PATH] [--coord_depth=6 --coord_units=300]
  tfmodels-train --task=mnist_mlp [--mnist_preset=shallow_6000] [--epochs=30]
  tfmodels-train --task=probes --experiment=mnist|deep_mlp|fc_densenet
  tfmodels-train --task=ppgn [--ppgn_steps=200] [--ppgn_variants=ppgn_h]
  tfmodels-train --task=diet [--data_dir=<PLINK folder>] [--diet_models=basic,histogram_rec]

`--helpfull` lists every task's flags; each task's flags are documented where they are defined
(tfmodels/cli/train_<task>.py).
"""

import os

# TensorFlow's C++ INFO lines (converter statistics, XNNPACK) bury the progress bars.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app, flags, logging  # noqa: E402

from tfmodels.cli import common_flags, errors  # noqa: E402,F401  (defines the shared flags)
from tfmodels.cli import (  # noqa: E402
    train_asr,
    train_coordinate,
    train_diet,
    train_ppgn,
    train_probes,
    train_qnn,
    train_rnn,
    train_segmentation,
)

_TASKS = {
    "segmentation": train_segmentation.main,
    "char_lm": train_rnn.main_char_lm,
    "digits": train_rnn.main_digits,
    "asr": train_asr.main,
    "bnn": train_qnn.main,
    "coordinate": train_coordinate.main_coordinate,
    "mnist_mlp": train_coordinate.main_mnist_mlp,
    "probes": train_probes.main,
    "ppgn": train_ppgn.main,
    "diet": train_diet.main,
}

_TASK = flags.DEFINE_enum("task", None, list(_TASKS), "Which task to train.", required=True)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    # TensorFlow logs every SavedModel write at INFO through absl; progress bars and the final
    # report are what a user reads. --verbosity=0 brings the INFO lines back.
    if not flags.FLAGS["verbosity"].present:
        logging.set_verbosity(logging.WARNING)
    errors.run_or_exit("tfmodels-train", _check_folders)
    errors.run_or_exit("tfmodels-train", _TASKS[_TASK.value])


def _check_folders():
    """Refuses folder flags that name a file (or lie under one) before any task starts work:
    otherwise a task generates data and trains, and fails only when it first writes."""
    for flag in ("data_dir", "export_dir", "work_dir"):
        path = flags.FLAGS[flag].value
        if not path:
            continue
        parent = os.path.abspath(path)
        while parent and not os.path.exists(parent):
            parent = os.path.dirname(parent) if os.path.dirname(parent) != parent else ""
        if parent and not os.path.isdir(parent):
            where = "" if parent == os.path.abspath(path) else f" (it lies under {parent})"
            raise ValueError(f"--{flag}={path} is not a folder: {parent} is a file{where}")


def run():
    # Under `bazel run` the working directory is the runfiles tree; use the caller's instead.
    os.chdir(os.environ.get("BUILD_WORKING_DIRECTORY", "."))
    app.run(main)


if __name__ == "__main__":
    run()
