"""Tools that watch a model train: linear classifier probes (arXiv:1610.01644), HM-LSTM
boundary scores over training (arXiv:1609.01704)."""

from tfmodels.diagnostics.boundary_history import BoundaryHistory, write_history_figure
from tfmodels.diagnostics.figures import write_animation, write_figure
from tfmodels.diagnostics.linear_probes import LinearProbes

__all__ = ["BoundaryHistory", "LinearProbes", "write_animation", "write_figure",
           "write_history_figure"]
