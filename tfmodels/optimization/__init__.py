"""Model optimization for Keras 3 with tensorflow-model-optimization's API: pruning
(`sparsity`) and custom quantization-aware training (`quantization`, built on
`tfmodels.quantization`).
"""

from tfmodels.optimization import quantization, sparsity
from tfmodels.optimization.quantization import (
    QuantizeConfig,
    quantize_annotate_layer,
    quantize_annotate_model,
    quantize_apply,
    quantize_scope,
)
from tfmodels.optimization.sparsity import (
    ConstantSparsity,
    PolynomialDecay,
    UpdatePruningStep,
    prune_low_magnitude,
    strip_pruning,
)

__all__ = [
    "ConstantSparsity",
    "PolynomialDecay",
    "QuantizeConfig",
    "UpdatePruningStep",
    "prune_low_magnitude",
    "quantization",
    "quantize_annotate_layer",
    "quantize_annotate_model",
    "quantize_apply",
    "quantize_scope",
    "sparsity",
    "strip_pruning",
]
