"""`ModelCheckpoint`: Keras's best-model checkpoint, written atomically."""

import math

import keras

from tfmodels.utils.atomic import save_model


class ModelCheckpoint(keras.callbacks.Callback):
    """Saves the model to a `.keras` file at the end of an epoch, atomically.

    Keras's own `ModelCheckpoint` writes the file in place, so an interrupt while it saves
    leaves a truncated checkpoint where the last good one was. This one writes a temporary file
    beside it and renames it (`tfmodels.utils.atomic`): the file on disk is always a complete
    model, the previous one until the new one is whole.

    Args:
        path: the `.keras` file.
        monitor: the log to compare (e.g. `"val_mean_iou"`); None saves after every epoch.
        mode: `"min"` or `"max"`: whether a lower or a higher `monitor` is better.

    Example:
        >>> checkpoint = ModelCheckpoint("runs/best.keras", monitor="val_loss")
        >>> # model.fit(..., callbacks=[checkpoint])
    """

    def __init__(self, path, monitor="val_loss", mode="min"):
        super().__init__()
        if not str(path).endswith(".keras"):
            raise ValueError(f"path must end with .keras, got {path!r}")
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self.path = path
        self.monitor = monitor
        self.mode = mode
        self.best = None

    def on_epoch_end(self, epoch, logs=None):
        if self.monitor is None:
            save_model(self.model, self.path)
            return
        value = (logs or {}).get(self.monitor)
        if value is None:
            raise ValueError(f"ModelCheckpoint monitors {self.monitor!r}, which the logs lack: "
                             f"{sorted(logs or {})}")
        value = float(value)
        if math.isnan(value):
            return
        if self.best is None or (value < self.best if self.mode == "min" else value > self.best):
            self.best = value
            save_model(self.model, self.path)
