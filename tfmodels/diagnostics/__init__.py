"""Tools that watch a model train: linear classifier probes (arXiv:1610.01644)."""

from tfmodels.diagnostics.figures import write_animation, write_figure
from tfmodels.diagnostics.linear_probes import LinearProbes

__all__ = ["LinearProbes", "write_animation", "write_figure"]
