"""`BlankPlateauWarning`: says when a CTC model sits in its all-blank plateau."""

import warnings

import keras
import numpy as np


class BlankPlateauWarning(keras.callbacks.Callback):
    """Warns when the CTC loss stops falling while greedy decoding outputs only blanks.

    A CTC model first learns to emit the blank everywhere (the loss drops fast to a plateau,
    e.g. 5.5 -> 5.0 for digit strings), then, after enough updates, starts placing labels. A
    run whose loss sits there with all-blank outputs has learnt nothing yet: too few steps, a
    learning rate too high or too low, or batches too large (fewer updates per epoch). This
    callback checks both conditions at the end of every epoch and warns once, so a user does
    not wait for the test WER to find out.

    Args:
        inputs: one batch of model inputs (what `model.predict_on_batch` takes), e.g. a few
            training utterances.
        patience: epochs the loss must have failed to improve on its best by `min_delta`.
        min_delta: relative improvement that counts as falling (0.02 is 2%).
        logits_key, length_key: the model's output entries holding `(B, T, C)` logits and
            `(B,)` valid frame counts (a model returning a plain tensor: every frame valid).
        blank_id: the CTC blank's class (0, as `keras.ops.ctc_loss` defaults to).
        monitor: the log entry holding the CTC loss.

    Attributes:
        plateau_epochs: the (0-based) epochs at which the plateau was detected.

    Example:
        batch = next(iter(train))[0]
        model.fit(train, epochs=12, callbacks=[BlankPlateauWarning(batch)])
    """

    def __init__(self, inputs, patience=2, min_delta=0.02, logits_key="logits",
                 length_key="frame_length", blank_id=0, monitor="loss"):
        super().__init__()
        if patience < 1:
            raise ValueError(f"patience must be >= 1, got {patience!r}")
        if min_delta < 0:
            raise ValueError(f"min_delta must be >= 0, got {min_delta!r}")
        self.inputs = inputs
        self.patience = patience
        self.min_delta = min_delta
        self.logits_key = logits_key
        self.length_key = length_key
        self.blank_id = blank_id
        self.monitor = monitor
        self.plateau_epochs = []
        self._losses = []

    def on_train_begin(self, logs=None):
        self.plateau_epochs = []
        self._losses = []

    def all_blank(self):
        """Whether greedy decoding of `inputs` gives only blanks."""
        out = self.model.predict_on_batch(self.inputs)
        if isinstance(out, dict):
            logits = np.asarray(out[self.logits_key])
            lengths = (np.asarray(out[self.length_key]) if self.length_key in out
                       else np.full(logits.shape[0], logits.shape[1]))
        else:
            logits = np.asarray(out)
            lengths = np.full(logits.shape[0], logits.shape[1])
        best = logits.argmax(-1)
        return all(np.all(row[: int(n)] == self.blank_id) for row, n in zip(best, lengths))

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get(self.monitor)
        if loss is None or not np.isfinite(loss):
            return
        self._losses.append(float(loss))
        if len(self._losses) <= self.patience:
            return
        before = min(self._losses[: -self.patience])
        recent = min(self._losses[-self.patience :])
        if before - recent > self.min_delta * abs(before):
            return
        if not self.all_blank():
            return
        self.plateau_epochs.append(epoch)
        if len(self.plateau_epochs) == 1:
            warnings.warn(
                f"epoch {epoch + 1}: the CTC loss has not fallen by {self.min_delta:.0%} in "
                f"{self.patience} epochs ({before:.3f} -> {recent:.3f}) and greedy decoding "
                "outputs only blanks: training sits on CTC's all-blank plateau. More epochs, "
                "a smaller batch (more updates) or another learning rate usually get it out.",
                stacklevel=2)
