"""Flags and entry for `tfmodels-train --task=ppgn`: Plug & Play Generative Networks on MNIST
(arXiv:1612.00005, `tfmodels.models.ppgn`).

Usage:
  tfmodels-train --task=ppgn [--epochs=5 (G)] [--ppgn_classifier_epochs=2] [--ppgn_dae_epochs=5]
      [--ppgn_steps=200] [--ppgn_samples_per_class=10]
      [--ppgn_variants=dgn_am --ppgn_variants=joint_ppgn_h ...  (default: all four)]
      [--ppgn_code_units=64] [--ppgn_neurons=10] [--train_limit=N] [--data_dir=<idx folder>]
      [--export_dir=export]

Trains C/E, an independent scoring classifier, G (+ discriminator) and the two DAEs, samples
every digit with each variant, visualizes code neurons, inpaints half-masked test digits, prints
the independent classifier's numbers and writes `<export_dir>/ppgn/` (PNG grids, the chain GIF,
the `.keras` parts, `report.json`).
"""

from absl import flags

from tfmodels.cli import common_flags
from tfmodels.models.ppgn import VARIANTS
from tfmodels.tasks import ppgn

_CLASSIFIER_EPOCHS = flags.DEFINE_integer("ppgn_classifier_epochs", 2,
                                          "ppgn: epochs of C and of the independent classifier.",
                                          lower_bound=1)
_DAE_EPOCHS = flags.DEFINE_integer("ppgn_dae_epochs", 5, "ppgn: epochs of each DAE.", lower_bound=1)
_STEPS = flags.DEFINE_integer("ppgn_steps", 200, "ppgn: sampler steps per chain.", lower_bound=1)
_SAMPLES = flags.DEFINE_integer("ppgn_samples_per_class", 10, "ppgn: chains per digit and variant.",
                                lower_bound=1)
_VARIANTS = flags.DEFINE_multi_enum("ppgn_variants", list(VARIANTS), list(VARIANTS),
                                    "ppgn: sampler variants to run.")
_CODE_UNITS = flags.DEFINE_integer("ppgn_code_units", 64, "ppgn: width of the code h (E's fc6).",
                                   lower_bound=1)
_NEURONS = flags.DEFINE_integer("ppgn_neurons", 10, "ppgn: code units to visualize (0: none).",
                                lower_bound=0)


def main():
    kwargs = {}
    if common_flags.EPOCHS.value is not None:
        kwargs["generator_epochs"] = common_flags.EPOCHS.value
    if common_flags.BATCH_SIZE.value is not None:
        kwargs["batch_size"] = common_flags.BATCH_SIZE.value
    print(ppgn.train_ppgn(
        code_units=_CODE_UNITS.value, classifier_epochs=_CLASSIFIER_EPOCHS.value,
        dae_epochs=_DAE_EPOCHS.value, steps=_STEPS.value, samples_per_class=_SAMPLES.value,
        variants=tuple(_VARIANTS.value), neurons=_NEURONS.value,
        train_limit=common_flags.TRAIN_LIMIT.value, validation=common_flags.VALIDATION.value,
        data_dir=common_flags.DATA_DIR.value, seed=common_flags.SEED.value,
        export_dir=common_flags.EXPORT_DIR.value, verbose=2, **kwargs,
    ))
