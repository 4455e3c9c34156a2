"""Training callbacks: checkpoints written atomically."""

from tfmodels.callbacks.checkpoint import ModelCheckpoint

__all__ = ["ModelCheckpoint"]
