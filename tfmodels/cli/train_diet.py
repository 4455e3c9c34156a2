"""Flags and entry for `tfmodels-train --task=diet`: Diet Networks on genotypes
(tfmodels.models.diet, arXiv:1611.09340).

Usage:
  tfmodels-train --task=diet [--diet_models=basic,histogram,histogram_rec,...]
      [--diet_snps=20000] [--diet_fst=0.005] [--diet_folds=5] [--diet_run_folds=0,1]
      [--epochs=30] [--batch_size=64] [--diet_gamma=20] [--diet_embedding_size=100]
      [--export_dir=export] [--diet_export_model=histogram] [--noquantize]
  tfmodels-train --task=diet --data_dir=<PLINK folder: one .bed/.bim/.fam + a panel file>
      [--panel=<sample -> population file>] [--missing=error|mode|zero]

Without --data_dir it simulates 1000-Genomes-shaped genotypes (26 populations, 3,458
individuals); with it, it reads the PLINK folder. It trains every model on every fold, prints
the misclassification table (mean ± std over folds, free parameters), and writes
`<export_dir>/diet/`: the first fold's `--diet_export_model` as `.keras`, its int8 `.tflite`
with the predicted fat-layer weights baked (checked in LiteRT), and report.json. Rerun with the
same `--work_dir` (default `<export_dir>/runs/diet`), an interrupted comparison skips the
(fold, model) pairs it finished and resumes the interrupted fit from its last epoch.
"""

import os

from absl import flags

from tfmodels.cli import common_flags
from tfmodels.data.genotypes import MISSING
from tfmodels.tasks import diet

_MODELS = flags.DEFINE_list("diet_models", list(diet.MODELS),
                            f"diet: models to compare, of {', '.join(diet.MODELS)}.")
_SNPS = flags.DEFINE_integer("diet_snps", 20000, "diet: simulated SNPs (no --data_dir).",
                             lower_bound=1)
_SAMPLES = flags.DEFINE_integer("diet_samples_per_population", 133,
                                "diet: simulated individuals per population.", lower_bound=1)
_FST = flags.DEFINE_float("diet_fst", 0.005, "diet: simulated drift (Fst) of each population "
                          "from its super-population.")
_FOLDS = flags.DEFINE_integer("diet_folds", 5, "diet: k of the k-fold split.", lower_bound=2)
_RUN_FOLDS = flags.DEFINE_list("diet_run_folds", None, "diet: folds to run (default all).")
_GAMMA = flags.DEFINE_float("diet_gamma", 20.0, "diet: weight of the reconstruction loss.")
_LEARNING_RATE = flags.DEFINE_float("diet_learning_rate", 1e-3, "diet: Adam learning rate.")
_EMBEDDING_SIZE = flags.DEFINE_integer(
    "diet_embedding_size", 100, "diet: random projection / SNP2Vec size (histogram: 3 x classes).",
    lower_bound=1)
_EXPORT_MODEL = flags.DEFINE_string("diet_export_model", "histogram",
                                    "diet: the model saved and exported to int8 .tflite.")
_PANEL = flags.DEFINE_string("panel", None, "diet: sample -> population panel file (default: "
                             "the *.panel / panel.txt inside --data_dir).")
_MISSING = flags.DEFINE_enum("missing", "error", list(MISSING),
                             "diet: missing PLINK genotypes: fail, impute the SNP's mode, or 0.")


def _int_list(name, values):
    try:
        return None if values is None else [int(v) for v in values]
    except ValueError:
        raise ValueError(f"--{name} must be comma-separated ints, got {','.join(values)}") from None


def main():
    unknown = [m for m in _MODELS.value if m not in diet.MODELS]
    if unknown or not _MODELS.value:
        raise ValueError(f"--diet_models must name models of {', '.join(diet.MODELS)}; got "
                         f"{','.join(_MODELS.value)!r}")
    kwargs = {}
    if common_flags.EPOCHS.value is not None:
        kwargs["epochs"] = common_flags.EPOCHS.value
    if common_flags.BATCH_SIZE.value is not None:
        kwargs["batch_size"] = common_flags.BATCH_SIZE.value
    print(diet.run_diet(
        data_dir=common_flags.DATA_DIR.value, panel=_PANEL.value, missing=_MISSING.value,
        models=_MODELS.value, num_snps=_SNPS.value, samples_per_population=_SAMPLES.value,
        fst_population=_FST.value, folds=_FOLDS.value,
        run_folds=_int_list("diet_run_folds", _RUN_FOLDS.value), gamma=_GAMMA.value,
        learning_rate=_LEARNING_RATE.value, embedding_size=_EMBEDDING_SIZE.value,
        seed=common_flags.SEED.value, export_dir=common_flags.EXPORT_DIR.value,
        export_model=_EXPORT_MODEL.value, int8=common_flags.QUANTIZE.value,
        work_dir=common_flags.WORK_DIR.value or os.path.join(common_flags.EXPORT_DIR.value,
                                                             "runs", "diet"),
        verbose=2,
        **kwargs))
