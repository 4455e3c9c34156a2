"""Model optimization for Keras 3: pruning (`sparsity`) with tensorflow-model-optimization's API.

Quantization-aware training is `tfmodels.quantization`.
"""

from tfmodels.optimization import sparsity

__all__ = ["sparsity"]
