"""Bits per character, the language-model figure of arXiv:1608.06902 (Ott et al., Table 3).

BPC is the mean cross-entropy of the next character in bits: `mean(-ln p(target)) / ln 2`.
`BitsPerCharacter` accumulates it as a Keras metric (keras.ops only, any backend);
`bits_per_character` computes it with numpy, e.g. from a TFLite interpreter's outputs.
"""

import math

import keras
import numpy as np
from keras import ops

_LN2 = math.log(2.0)


def _check_mode(from_logits, sparse):
    if not isinstance(from_logits, bool):
        raise ValueError(f"from_logits must be True or False, got {from_logits!r}")
    if not isinstance(sparse, bool):
        raise ValueError(f"sparse must be True or False, got {sparse!r}")


@keras.saving.register_keras_serializable(package="tfmodels")
class BitsPerCharacter(keras.metrics.Metric):
    """Mean next-character cross-entropy in bits, over every character seen since a reset.

    Each character counts once (times its sample weight), so the result is the corpus BPC
    whatever the batch sizes. Predictions that are probabilities are renormalized over the
    last axis and clipped at `keras.config.epsilon()` before the log, as Keras's
    crossentropy losses do; pass `from_logits=True` when the model outputs logits (the
    numerically better choice). With a sparse crossentropy loss in nats and no sample
    weights, `bpc == loss / ln 2`.

    Args:
        from_logits: whether `y_pred` holds logits (True) or probabilities (False, the Keras
            default for crossentropy).
        sparse: whether `y_true` holds integer ids (True) or one-hot / probability vectors.
        name: the metric's name in logs.
        dtype: the dtype of the accumulators.

    Shapes:
        y_true: `[..., ]` ids (sparse) or `[..., V]`; y_pred: `[..., V]`; sample_weight:
        broadcastable to `y_pred.shape[:-1]` (e.g. `[batch]` or `[batch, time]`).

    Example:
        model.compile(
            "adam",
            keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=[BitsPerCharacter(from_logits=True)],
        )
    """

    def __init__(self, from_logits=False, sparse=True, name="bpc", dtype=None):
        super().__init__(name=name, dtype=dtype)
        _check_mode(from_logits, sparse)
        self.from_logits = from_logits
        self.sparse = sparse
        self.total_nats = self.add_variable(shape=(), initializer="zeros", name="total_nats")
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.cast(y_pred, "float32")
        if self.from_logits:
            log_probs = ops.log_softmax(y_pred, axis=-1)
        else:
            probs = y_pred / ops.sum(y_pred, axis=-1, keepdims=True)
            eps = keras.config.epsilon()
            log_probs = ops.log(ops.clip(probs, eps, 1.0))
        if self.sparse:
            ids = ops.cast(y_true, "int32")
            if len(ids.shape) == len(log_probs.shape):
                ids = ops.squeeze(ids, axis=-1)
            picked = ops.take_along_axis(log_probs, ops.expand_dims(ids, -1), axis=-1)
            nats = -ops.squeeze(picked, axis=-1)
        else:
            nats = -ops.sum(ops.cast(y_true, "float32") * log_probs, axis=-1)
        if sample_weight is None:
            weights = ops.ones_like(nats)
        else:
            weights = ops.cast(sample_weight, "float32")
            while len(weights.shape) < len(nats.shape):
                weights = ops.expand_dims(weights, -1)
            if len(weights.shape) > len(nats.shape):
                weights = ops.squeeze(weights, axis=-1)
            weights = ops.broadcast_to(weights, ops.shape(nats))
        self.total_nats.assign_add(ops.cast(ops.sum(nats * weights), self.dtype))
        self.count.assign_add(ops.cast(ops.sum(weights), self.dtype))

    def result(self):
        return ops.divide_no_nan(self.total_nats, self.count) / _LN2

    def reset_state(self):
        self.total_nats.assign(ops.zeros((), self.dtype))
        self.count.assign(ops.zeros((), self.dtype))

    def get_config(self):
        return {**super().get_config(), "from_logits": self.from_logits, "sparse": self.sparse}


def bits_per_character(targets, predictions, from_logits=False, sparse=True,
                       sample_weight=None):
    """Bits per character of numpy predictions, computed in float64.

    Same definition as `BitsPerCharacter` (probabilities renormalized and clipped at
    `keras.config.epsilon()`), for outputs that never pass through Keras, such as a TFLite
    interpreter's.

    Args:
        targets: int `[...]` ids (sparse) or `[..., V]` one-hot / probability vectors.
        predictions: `[..., V]` probabilities, or logits with `from_logits=True`.
        from_logits: whether `predictions` are logits.
        sparse: whether `targets` are ids.
        sample_weight: optional weights broadcastable to `predictions.shape[:-1]`.

    Returns:
        The BPC as a Python float.

    Example:
        bits_per_character([0, 1], np.full((2, 4), 0.25))   # 2.0: uniform over 4 symbols
    """
    _check_mode(from_logits, sparse)
    predictions = np.asarray(predictions, dtype=np.float64)
    targets = np.asarray(targets)
    if predictions.ndim < 1 or predictions.shape[-1] < 1:
        raise ValueError(f"predictions must have a class axis, got shape {predictions.shape}")
    if from_logits:
        shifted = predictions - predictions.max(axis=-1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    else:
        probs = predictions / predictions.sum(axis=-1, keepdims=True)
        log_probs = np.log(np.clip(probs, keras.config.epsilon(), 1.0))
    if sparse:
        if targets.shape == predictions.shape[:-1] + (1,):
            targets = targets[..., 0]
        if targets.shape != predictions.shape[:-1]:
            raise ValueError(
                f"targets shape {targets.shape} does not match predictions shape "
                f"{predictions.shape} without its class axis"
            )
        ids = targets.astype(np.int64)
        if ids.size and (ids.min() < 0 or ids.max() >= predictions.shape[-1]):
            raise ValueError(
                f"targets must lie in [0, {predictions.shape[-1]}), got "
                f"{ids.min()}..{ids.max()}"
            )
        nats = -np.take_along_axis(log_probs, ids[..., None], axis=-1)[..., 0]
    else:
        if targets.shape != predictions.shape:
            raise ValueError(
                f"targets shape {targets.shape} must equal predictions shape "
                f"{predictions.shape} when sparse=False"
            )
        nats = -(targets.astype(np.float64) * log_probs).sum(axis=-1)
    if sample_weight is None:
        weights = np.ones_like(nats)
    else:
        weights = np.asarray(sample_weight, dtype=np.float64)
        weights = weights.reshape(weights.shape + (1,) * (nats.ndim - weights.ndim))
        weights = np.broadcast_to(weights, nats.shape)
    count = weights.sum()
    if count == 0:
        raise ValueError("no characters to score: empty targets or all sample weights zero")
    return float((nats * weights).sum() / count / _LN2)
