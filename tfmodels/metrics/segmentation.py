"""Semantic segmentation metrics: mean IoU, per-class IoU and global pixel accuracy.

All three Keras metrics accumulate one confusion matrix (rows: true class, columns: predicted
class) over every batch and derive their result from it, so an epoch's figure is the
dataset-level score the FC-DenseNet paper reports (arXiv:1611.09326, Section 4.1: "mean
intersection over union" and "global accuracy"), not an average of per-batch scores.

Pixels whose label equals `ignore_class` (CamVid's void, 11) are left out, and so are labels
outside `[0, num_classes)`. For class `c` of a confusion matrix `M`:

    IoU_c = M[c, c] / (sum_j M[c, j] + sum_i M[i, c] - M[c, c])
    mean IoU = mean of IoU_c over the classes with a non-empty union
    global accuracy = trace(M) / sum(M)

A class that neither occurs nor is predicted has no IoU: its entry is NaN and it does not enter
the mean. The metrics use `keras.ops` only and run under every Keras backend.

`confusion_matrix` and `scores_from_confusion_matrix` compute the same figures in numpy, for
outputs that never pass through Keras (a TFLite interpreter's, say).

Example:

```python
model.compile(
    optimizer="adam",
    loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=11),
    metrics=[MeanIoU(num_classes=11), GlobalAccuracy(num_classes=11)],
)
```
"""

import keras
import numpy as np
from keras import ops


class _ConfusionMatrixMetric(keras.metrics.Metric):
    """Accumulates a `[num_classes, num_classes]` confusion matrix; subclasses read it out.

    Args:
        num_classes: number of real classes `C` (void not counted).
        ignore_class: label value that is not scored (void); `None` scores every label in
            `[0, C)`.
        name: metric name.
        dtype: dtype of the accumulator. float32 counts are exact up to 2**24 pixels per cell
            and carry a relative error near 1e-7 beyond, which no reported digit sees.

    Shapes:
        y_true: int labels `[batch, h, w]` or `[batch, h, w, 1]`.
        y_pred: scores `[batch, h, w, C]` (logits or probabilities: only the argmax is used),
            or int labels shaped like `y_true`.
        sample_weight: optional, broadcastable to `[batch, h, w]`; each pixel adds its weight
            to its cell. Class-balancing weights would skew the scores: pass these metrics
            under `compile(metrics=...)`, which Keras calls without `sample_weight`.
    """

    def __init__(self, num_classes, ignore_class=11, name=None, dtype="float32"):
        super().__init__(name=name, dtype=dtype)
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"num_classes must be a positive int, got num_classes={num_classes!r}")
        if ignore_class is not None and not isinstance(ignore_class, int):
            raise ValueError(
                f"ignore_class must be an int or None, got ignore_class={ignore_class!r}"
            )
        self.num_classes = num_classes
        self.ignore_class = ignore_class
        self.confusion = self.add_variable(
            shape=(num_classes, num_classes),
            initializer="zeros",
            dtype=self.dtype,
            name="confusion",
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.convert_to_tensor(y_true)
        y_pred = ops.convert_to_tensor(y_pred)
        if len(y_true.shape) == len(y_pred.shape) and y_true.shape[-1] == 1:
            y_true = ops.squeeze(y_true, axis=-1)
        if len(y_pred.shape) == len(y_true.shape) + 1:
            if y_pred.shape[-1] is not None and y_pred.shape[-1] != self.num_classes:
                raise ValueError(
                    f"{self.name}: y_pred has {y_pred.shape[-1]} scores per pixel, "
                    f"expected num_classes={self.num_classes}"
                )
            y_pred = ops.argmax(y_pred, axis=-1)
        elif len(y_pred.shape) != len(y_true.shape):
            raise ValueError(
                f"{self.name}: y_true shape {y_true.shape} and y_pred shape {y_pred.shape} do not "
                "match ([b, h, w] labels with [b, h, w, C] scores or [b, h, w] labels)"
            )
        if sample_weight is not None:
            sample_weight = ops.convert_to_tensor(sample_weight, self.dtype)
            if len(sample_weight.shape) == len(y_true.shape) + 1 and sample_weight.shape[-1] == 1:
                sample_weight = ops.squeeze(sample_weight, axis=-1)
            while len(sample_weight.shape) < len(y_true.shape):
                sample_weight = ops.expand_dims(sample_weight, -1)
            sample_weight = ops.reshape(ops.broadcast_to(sample_weight, ops.shape(y_true)), (-1,))
        y_true = ops.reshape(ops.cast(y_true, "int32"), (-1,))
        y_pred = ops.reshape(ops.cast(y_pred, "int32"), (-1,))

        valid = ops.logical_and(y_true >= 0, y_true < self.num_classes)
        if self.ignore_class is not None:
            valid = ops.logical_and(valid, y_true != self.ignore_class)
        valid = ops.logical_and(valid, ops.logical_and(y_pred >= 0, y_pred < self.num_classes))
        weights = ops.cast(valid, self.dtype)
        if sample_weight is not None:
            weights = weights * sample_weight
        # Invalid pixels still need an in-range index; their weight of 0 cancels them.
        index = ops.where(valid, y_true * self.num_classes + y_pred, 0)
        counts = ops.scatter(
            ops.expand_dims(index, -1), weights, (self.num_classes * self.num_classes,)
        )
        self.confusion.assign_add(ops.reshape(counts, (self.num_classes, self.num_classes)))

    def reset_state(self):
        self.confusion.assign(ops.zeros(self.confusion.shape, dtype=self.dtype))

    def _per_class_iou(self):
        m = ops.convert_to_tensor(self.confusion)
        true_positives = ops.diagonal(m)
        union = ops.sum(m, axis=0) + ops.sum(m, axis=1) - true_positives
        present = union > 0
        iou = true_positives / ops.where(present, union, 1)
        nan = ops.full_like(iou, float("nan"))
        return ops.where(present, iou, nan), present

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "ignore_class": self.ignore_class,
        }


@keras.saving.register_keras_serializable("tfmodels")
class MeanIoU(_ConfusionMatrixMetric):
    """Mean intersection over union over the classes present, void excluded.

    Args: see `_ConfusionMatrixMetric` (num_classes, ignore_class=11, name, dtype).

    Example:

    >>> m = MeanIoU(num_classes=2, ignore_class=2)
    >>> m.update_state([[0, 1, 2]], [[0, 0, 1]])
    >>> float(m.result())  # IoU_0 = 1/2, IoU_1 = 0/1
    0.25
    """

    def __init__(self, num_classes, ignore_class=11, name="mean_iou", dtype="float32"):
        super().__init__(num_classes, ignore_class=ignore_class, name=name, dtype=dtype)

    def result(self):
        iou, present = self._per_class_iou()
        total = ops.sum(ops.where(present, iou, 0))
        count = ops.sum(ops.cast(present, self.dtype))
        return ops.where(count > 0, total / ops.maximum(count, 1), 0)


@keras.saving.register_keras_serializable("tfmodels")
class PerClassIoU(_ConfusionMatrixMetric):
    """Intersection over union of each class (a `[num_classes]` vector), or of one class.

    Args:
        num_classes: number of real classes.
        class_id: when set, the result is that class's IoU as a scalar, which is what
            `model.fit` logs read best: one metric per class, named after it.
        ignore_class, name, dtype: see `_ConfusionMatrixMetric`.

    A class that neither occurs nor is predicted gets NaN.

    Example:

    >>> m = PerClassIoU(num_classes=2, ignore_class=2)
    >>> m.update_state([[0, 1, 2]], [[0, 0, 1]])
    >>> [round(float(v), 2) for v in m.result()]
    [0.5, 0.0]
    """

    def __init__(
        self, num_classes, class_id=None, ignore_class=11, name="per_class_iou", dtype="float32"
    ):
        super().__init__(num_classes, ignore_class=ignore_class, name=name, dtype=dtype)
        if class_id is not None and not (isinstance(class_id, int) and 0 <= class_id < num_classes):
            raise ValueError(f"class_id must be in [0, {num_classes}), got class_id={class_id!r}")
        self.class_id = class_id

    def result(self):
        iou, _ = self._per_class_iou()
        return iou if self.class_id is None else iou[self.class_id]

    def get_config(self):
        return {**super().get_config(), "class_id": self.class_id}


@keras.saving.register_keras_serializable("tfmodels")
class GlobalAccuracy(_ConfusionMatrixMetric):
    """Fraction of non-void pixels whose predicted class is right.

    Args: see `_ConfusionMatrixMetric` (num_classes, ignore_class=11, name, dtype).

    Example:

    >>> m = GlobalAccuracy(num_classes=2, ignore_class=2)
    >>> m.update_state([[0, 1, 2, 0]], [[0, 0, 1, 0]])
    >>> round(float(m.result()), 4)
    0.6667
    """

    def __init__(self, num_classes, ignore_class=11, name="global_accuracy", dtype="float32"):
        super().__init__(num_classes, ignore_class=ignore_class, name=name, dtype=dtype)

    def result(self):
        m = ops.convert_to_tensor(self.confusion)
        total = ops.sum(m)
        return ops.where(total > 0, ops.trace(m) / ops.maximum(total, 1), 0)


def confusion_matrix(y_true, y_pred, num_classes=11, ignore_class=11):
    """Counts `(true, predicted)` pixel pairs in numpy, void and out-of-range labels left out.

    Args:
        y_true: int labels, any shape (`[h, w]`, `[b, h, w]`, `[b, h, w, 1]`).
        y_pred: int labels of the same number of pixels, or scores with a trailing axis of
            `num_classes` (argmax taken).
        num_classes: number of real classes.
        ignore_class: label value left out (void); `None` for none.

    Returns:
        int64 array `[num_classes, num_classes]`, rows true class, columns predicted class.
        Matrices of several batches add up.

    Example:

    >>> int(confusion_matrix(np.array([0, 1, 11]), np.array([0, 0, 1])).sum())
    2
    """
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_pred.ndim >= 1 and y_pred.size == y_true.size * num_classes and y_pred.size != y_true.size:
        y_pred = np.argmax(y_pred, axis=-1)
    y_true = y_true.reshape(-1).astype(np.int64)
    y_pred = y_pred.reshape(-1).astype(np.int64)
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true has {y_true.size} pixels and y_pred {y_pred.size}; they must match"
        )
    valid = (y_true >= 0) & (y_true < num_classes) & (y_pred >= 0) & (y_pred < num_classes)
    if ignore_class is not None:
        valid &= y_true != ignore_class
    index = y_true[valid] * num_classes + y_pred[valid]
    counts = np.bincount(index, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def scores_from_confusion_matrix(matrix):
    """Mean IoU, per-class IoU and global accuracy of a confusion matrix, as the metrics compute.

    Args:
        matrix: `[C, C]` counts, rows true class, columns predicted class.

    Returns:
        dict with `mean_iou` (float, over classes with a non-empty union), `per_class_iou`
        (float64 `[C]`, NaN for a class neither present nor predicted) and `global_accuracy`
        (float). An empty matrix scores 0.

    Example:

    >>> scores_from_confusion_matrix(np.array([[1, 1], [1, 0]]))["mean_iou"]
    0.16666666666666666
    """
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        raise ValueError(f"matrix must be square [C, C], got shape {m.shape}")
    true_positives = np.diag(m)
    union = m.sum(axis=0) + m.sum(axis=1) - true_positives
    present = union > 0
    per_class = np.full(m.shape[0], np.nan)
    per_class[present] = true_positives[present] / union[present]
    total = m.sum()
    return {
        "mean_iou": float(per_class[present].mean()) if present.any() else 0.0,
        "per_class_iou": per_class,
        "global_accuracy": float(true_positives.sum() / total) if total > 0 else 0.0,
    }
