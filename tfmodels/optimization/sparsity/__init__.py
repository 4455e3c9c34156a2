"""Magnitude pruning for Keras 3 models, with tensorflow-model-optimization's API.

A tfmot script ports by changing its imports:

    from tfmodels.optimization import sparsity
    pruned = sparsity.prune_low_magnitude(model, sparsity.PolynomialDecay(0.0, 0.8, 0, 1000))
    pruned.compile(...)
    pruned.fit(x, y, callbacks=[sparsity.UpdatePruningStep()])
    model = sparsity.strip_pruning(pruned)
"""

from tfmodels.optimization.sparsity.callbacks import PruningSummaries, UpdatePruningStep
from tfmodels.optimization.sparsity.prune import (
    prune_low_magnitude,
    pruning_summary,
    strip_pruning,
)
from tfmodels.optimization.sparsity.prune_low_magnitude import (
    PrunableLayer,
    PruneLowMagnitude,
    prunable_weights,
)
from tfmodels.optimization.sparsity.schedule import (
    ConstantSparsity,
    PolynomialDecay,
    PruningSchedule,
)

__all__ = [
    "ConstantSparsity",
    "PolynomialDecay",
    "PrunableLayer",
    "PruneLowMagnitude",
    "PruningSchedule",
    "PruningSummaries",
    "UpdatePruningStep",
    "prunable_weights",
    "prune_low_magnitude",
    "pruning_summary",
    "strip_pruning",
]
