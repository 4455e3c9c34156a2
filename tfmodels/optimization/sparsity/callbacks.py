"""The callbacks pruning trains with: `UpdatePruningStep` and `PruningSummaries` (tfmot's names)."""

import os

import keras

from tfmodels.optimization.sparsity.prune import pruning_summary
from tfmodels.optimization.sparsity.prune_low_magnitude import PruneLowMagnitude


def _wrappers(model):
    return [layer for layer in model._flatten_layers(include_self=False)
            if isinstance(layer, PruneLowMagnitude)]


class UpdatePruningStep(keras.callbacks.Callback):
    """Required in `fit` for pruned models: checks there is something to prune and, at each
    epoch's end, writes the masks into the weights, so checkpoints and `get_weights` hold the
    pruned values on every backend. (The step counter lives in the wrappers and advances in
    training calls, which JAX's functional training step requires.)
    """

    def on_train_begin(self, logs=None):
        if not _wrappers(self.model):
            raise ValueError(f"UpdatePruningStep: model {self.model.name!r} has no "
                             "PruneLowMagnitude layers; prune it with prune_low_magnitude")

    def on_epoch_end(self, epoch, logs=None):
        self._apply()

    def on_train_end(self, logs=None):
        self._apply()

    def _apply(self):
        sync = getattr(self.model, "jax_state_sync", None)
        if sync is not None:
            sync()
        for layer in _wrappers(self.model):
            layer.apply_masks()


class PruningSummaries(keras.callbacks.Callback):
    """Writes each pruned weight's sparsity to TensorBoard (`log_dir`) and to the epoch logs
    (`sparsity/<weight path>`) at each epoch's end. TensorBoard files need TensorFlow.

    Args:
        log_dir: TensorBoard folder (created on first write).
        update_freq: `"epoch"` (tfmot also accepts a step count; epochs are what Keras 3's
            functional training steps let a callback see cheaply).
    """

    def __init__(self, log_dir, update_freq="epoch"):
        super().__init__()
        if update_freq != "epoch":
            raise ValueError(f"update_freq must be 'epoch'; got {update_freq!r}")
        self.log_dir = os.fspath(log_dir)
        self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        summary = pruning_summary(self.model) if not _wrappers(self.model) else {
            path: value for layer in _wrappers(self.model)
            for path, value in pruning_summary(layer).items()}
        if logs is not None:
            logs.update({f"sparsity/{path}": value for path, value in summary.items()})
        try:
            import tensorflow as tf
        except ImportError:
            return
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "metrics"))
        with self._writer.as_default():
            for path, value in summary.items():
                tf.summary.scalar(f"{path}/sparsity", value, step=epoch)
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None
