"""Flags and entry for `tfmodels-train --task=probes`: linear probes (arXiv:1610.01644).

Usage:
  tfmodels-train --task=probes --experiment=mnist [--epochs=3] [--measure_overhead]
  tfmodels-train --task=probes --experiment=deep_mlp [--mlp_init=he|glorot] [--mlp_depth=128]
                 [--mlp_width=128]
  tfmodels-train --task=probes --experiment=fc_densenet [--epochs=6] [--densenet_pools=3]

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
_MLP_DEPTH = flags.DEFINE_integer("mlp_depth", None,
                                  "deep_mlp hidden layers; the skip joins at depth // 2 (task "
                                  "probes; default 128).")
_MLP_WIDTH = flags.DEFINE_integer("mlp_width", None,
                                  "deep_mlp units per layer (task probes; default 128).")
_MLP_INIT = flags.DEFINE_enum("mlp_init", None, list(probes.MLP_INITS),
                              "deep_mlp initialization: he (variance-preserving for leaky ReLU) "
                              "or glorot (task probes; default he).")
_LEARNING_RATE = flags.DEFINE_float(
    "probes_learning_rate", None,
    "Learning rate (task probes; default 1e-4 for deep_mlp, 1e-3 for the others).")
_DENSENET_POOLS = flags.DEFINE_integer("densenet_pools", None,
                                       "fc_densenet poolings, 1-5 (task probes; default 3).")


def main():
    probes.run(
        _EXPERIMENT.value, export_dir=common_flags.EXPORT_DIR.value,
        work_dir=common_flags.WORK_DIR.value, data_dir=common_flags.DATA_DIR.value,
        epochs=common_flags.EPOCHS.value,
        batch_size=common_flags.BATCH_SIZE.value, seed=common_flags.SEED.value,
        train_examples=_TRAIN_EXAMPLES.value, probe_examples=_PROBE_EXAMPLES.value, reduce=_REDUCE.value,
        measure_overhead=_MEASURE_OVERHEAD.value, depth=_MLP_DEPTH.value,
        width=_MLP_WIDTH.value, init=_MLP_INIT.value, num_pools=_DENSENET_POOLS.value,
        learning_rate=_LEARNING_RATE.value,
        verbose=1,
    )
