"""Training callbacks: checkpoints written atomically, CTC plateau warnings."""

from tfmodels.callbacks.blank_plateau import BlankPlateauWarning
from tfmodels.callbacks.checkpoint import ModelCheckpoint

__all__ = ["BlankPlateauWarning", "ModelCheckpoint"]
