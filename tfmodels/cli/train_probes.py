"""Flags and entry for `tfmodels-train --task=probes`: linear probes (arXiv:1610.01644).

Usage:
  tfmodels-train --task=probes --experiment=mnist [--epochs=3] [--measure_overhead]
  tfmodels-train --task=probes --experiment=deep_mlp
  tfmodels-train --task=probes --experiment=fc_densenet [--epochs=6]

Trains the experiment's model with a `LinearProbes` callback and writes `probes.json`,
`probes.png`, `probes.gif` and `report.json` to `<export_dir>/probes/<experiment>/`.
"""

from absl import flags

from tfmodels.cli import common_flags
from tfmodels.tasks import probes

_EXPERIMENT = flags.DEFINE_enum("experiment", "mnist", list(probes.EXPERIMENTS),
                                "Which probe experiment to run (task probes).")
_REDUCE = flags.DEFINE_enum("probe_reduce", None, ["random", "pool"],
                            "How probes reduce large conv features (task probes; default: the "
                            "experiment's).")
_MEASURE_OVERHEAD = flags.DEFINE_bool(
    "measure_overhead", False,
    "Train again without probes; report the time and whether the weights are bit-identical "
    "(task probes: mnist, deep_mlp).")
_TRAIN_EXAMPLES = flags.DEFINE_integer("train_examples", None,
                                       "MNIST training images used (task probes; default 10000).",
                                       lower_bound=1)
_PROBE_EXAMPLES = flags.DEFINE_integer(
    "probe_examples", 3000, "MNIST images held out for the probes (task probes).")


def main():
    probes.run(
        _EXPERIMENT.value, export_dir=common_flags.EXPORT_DIR.value,
        work_dir=common_flags.WORK_DIR.value, data_dir=common_flags.DATA_DIR.value,
        epochs=common_flags.EPOCHS.value,
        batch_size=common_flags.BATCH_SIZE.value, seed=common_flags.SEED.value,
        train_examples=_TRAIN_EXAMPLES.value, probe_examples=_PROBE_EXAMPLES.value, reduce=_REDUCE.value,
        measure_overhead=_MEASURE_OVERHEAD.value, verbose=1,
    )
