"""`RenderEvery`: a callback that renders a coordinate net every N epochs (the frames of the
learning animation)."""

import keras

from tfmodels.models.coordinate.coordinate_mlp import render


class RenderEvery(keras.callbacks.Callback):
    """Renders the model every `every` epochs (and after the last) into `frames`.

    Args:
        height, width: render size.
        every: epochs between frames.

    Attributes:
        frames: list of `(epoch, float32 (height, width, channels) in [0, 1])`; the first frame
            is the untrained net (epoch 0).

    Example:
        >>> frames = RenderEvery(32, 32, every=10)
        >>> # model.fit(coords, colours, epochs=100, callbacks=[frames])
    """

    def __init__(self, height, width, every=10):
        super().__init__()
        if not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a positive int, got {every!r}")
        self.height, self.width, self.every = height, width, every
        self.frames = []
        self._last = None

    def on_train_begin(self, logs=None):
        self.frames = [(0, render(self.model, self.height, self.width))]

    def on_epoch_end(self, epoch, logs=None):
        self._last = epoch + 1
        if (epoch + 1) % self.every == 0:
            self.frames.append((epoch + 1, render(self.model, self.height, self.width)))

    def on_train_end(self, logs=None):
        if self._last is not None and self.frames[-1][0] != self._last:
            self.frames.append((self._last, render(self.model, self.height, self.width)))
