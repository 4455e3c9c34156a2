"""Tests for tfmodels.metrics.segmentation: a hand-counted confusion matrix, fit/evaluate, JAX."""

import json

import keras
import numpy as np
import pytest

from tfmodels.metrics import segmentation as seg

# The suite runs this module on TensorFlow and again under KERAS_BACKEND=jax.
pytestmark = pytest.mark.multibackend

# Three classes, void = 3. Pixel pairs (true, predicted), void pixel skipped:
# (0,0) (0,1) (1,1) (1,1) / (2,2) (2,0) (0,0)
Y_TRUE = np.array([[[0, 0, 1, 1], [2, 2, 3, 0]]], dtype=np.int32)
Y_PRED = np.array([[[0, 1, 1, 1], [2, 0, 2, 0]]], dtype=np.int32)
HAND_MATRIX = np.array([[2, 1, 0], [0, 2, 0], [1, 0, 1]])
# IoU_c = M[c,c] / (row_c + col_c - M[c,c]): 2/(3+3-2), 2/(2+3-2), 1/(2+1-1)
HAND_IOU = np.array([2 / 4, 2 / 3, 1 / 2])
HAND_ACCURACY = 5 / 7


def _logits(labels, num_classes=3):
    rng = np.random.default_rng(0)
    # Noise below the 1.0 margin keeps the argmax on the intended label.
    return (np.eye(num_classes)[labels] + 0.3 * rng.random(labels.shape + (num_classes,))).astype(
        np.float32
    )


def _metrics(num_classes=3, ignore_class=3):
    return {
        "mean_iou": seg.MeanIoU(num_classes, ignore_class=ignore_class),
        "per_class_iou": seg.PerClassIoU(num_classes, ignore_class=ignore_class),
        "global_accuracy": seg.GlobalAccuracy(num_classes, ignore_class=ignore_class),
    }


def test_numpy_confusion_matrix_and_scores_match_hand_count():
    matrix = seg.confusion_matrix(Y_TRUE, Y_PRED, num_classes=3, ignore_class=3)
    np.testing.assert_array_equal(matrix, HAND_MATRIX)
    np.testing.assert_array_equal(
        seg.confusion_matrix(Y_TRUE, _logits(Y_PRED), num_classes=3, ignore_class=3), HAND_MATRIX
    )
    scores = seg.scores_from_confusion_matrix(matrix)
    np.testing.assert_allclose(scores["per_class_iou"], HAND_IOU)
    assert scores["mean_iou"] == pytest.approx(HAND_IOU.mean())
    assert scores["global_accuracy"] == pytest.approx(HAND_ACCURACY)


def test_numpy_absent_class_is_nan_and_left_out_of_mean():
    scores = seg.scores_from_confusion_matrix(np.array([[1, 1, 0], [0, 2, 0], [0, 0, 0]]))
    assert np.isnan(scores["per_class_iou"][2])
    assert scores["mean_iou"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert seg.scores_from_confusion_matrix(np.zeros((3, 3)))["mean_iou"] == 0.0
    with pytest.raises(ValueError, match="square"):
        seg.scores_from_confusion_matrix(np.zeros((2, 3)))


@pytest.mark.parametrize("label_shape", ["bhw", "bhw1"])
def test_keras_metrics_match_hand_count(label_shape):
    y_true = Y_TRUE if label_shape == "bhw" else Y_TRUE[..., None]
    metrics = _metrics()
    for m in metrics.values():
        m.update_state(y_true, _logits(Y_PRED))
    np.testing.assert_array_equal(np.asarray(metrics["mean_iou"].confusion), HAND_MATRIX)
    assert float(metrics["mean_iou"].result()) == pytest.approx(HAND_IOU.mean(), rel=1e-6)
    np.testing.assert_allclose(np.asarray(metrics["per_class_iou"].result()), HAND_IOU, rtol=1e-6)
    assert float(metrics["global_accuracy"].result()) == pytest.approx(HAND_ACCURACY, rel=1e-6)


def test_keras_metrics_accumulate_over_batches_and_reset():
    m = seg.MeanIoU(3, ignore_class=3)
    # The same pixels fed row by row must give the matrix of the whole, not a mean of batches.
    m.update_state(Y_TRUE[:, :1], Y_PRED[:, :1])
    m.update_state(Y_TRUE[:, 1:], Y_PRED[:, 1:])
    np.testing.assert_array_equal(np.asarray(m.confusion), HAND_MATRIX)
    m.reset_state()
    assert float(np.asarray(m.confusion).sum()) == 0.0
    assert float(m.result()) == 0.0


def test_sample_weight_scales_cells_and_absent_class_is_nan():
    weight = np.array([[[1, 1, 1, 1], [0, 0, 0, 0]]], dtype=np.float32)
    iou = seg.PerClassIoU(3, ignore_class=3)
    mean = seg.MeanIoU(3, ignore_class=3)
    for m in (iou, mean):
        m.update_state(Y_TRUE, Y_PRED, sample_weight=weight)
    np.testing.assert_array_equal(np.asarray(iou.confusion), [[1, 1, 0], [0, 2, 0], [0, 0, 0]])
    result = np.asarray(iou.result())
    np.testing.assert_allclose(result[:2], [1 / 2, 2 / 3], rtol=1e-6)
    assert np.isnan(result[2])
    assert float(mean.result()) == pytest.approx((1 / 2 + 2 / 3) / 2, rel=1e-6)


def test_out_of_range_labels_are_ignored_and_class_id_selects():
    m = seg.PerClassIoU(3, class_id=1, ignore_class=None)
    m.update_state(np.array([[0, 1, 7, -1]]), np.array([[0, 1, 1, 1]]))
    np.testing.assert_array_equal(np.asarray(m.confusion), [[1, 0, 0], [0, 1, 0], [0, 0, 0]])
    assert np.asarray(m.result()).shape == ()
    assert float(m.result()) == 1.0


def test_argument_and_shape_errors():
    with pytest.raises(ValueError, match="num_classes"):
        seg.MeanIoU(0)
    with pytest.raises(ValueError, match="class_id"):
        seg.PerClassIoU(3, class_id=3)
    with pytest.raises(ValueError, match="expected num_classes=3"):
        seg.MeanIoU(3).update_state(Y_TRUE, np.zeros((1, 2, 4, 5), np.float32))
    with pytest.raises(ValueError, match="do not match"):
        seg.MeanIoU(3).update_state(Y_TRUE, np.zeros((1, 8), np.float32))


@pytest.mark.parametrize(
    "metric",
    [seg.MeanIoU(5, ignore_class=4), seg.PerClassIoU(5, class_id=2), seg.GlobalAccuracy(7)],
)
def test_config_round_trip(metric):
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(metric))
    assert type(restored) is type(metric)
    assert restored.get_config() == metric.get_config()


def _fit_evaluate_scenario():
    """Runs the metrics inside model.fit/evaluate of a frozen model; returns both and numpy's."""
    rng = np.random.default_rng(1)
    num_classes, void = 3, 3
    x = rng.normal(size=(6, 4, 4, num_classes)).astype(np.float32)
    y = rng.integers(0, num_classes + 1, size=(6, 4, 4)).astype(np.int32)
    model = keras.Sequential(
        [keras.Input((4, 4, num_classes)), keras.layers.Conv2D(num_classes, 1, use_bias=False)]
    )
    model.layers[0].set_weights([np.eye(num_classes)[None, None] * 2.0])
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.0),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=void),
        metrics=list(_metrics(num_classes, void).values()),
    )
    history = model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    evaluated = model.evaluate(x, y, batch_size=2, verbose=0, return_dict=True)
    reference = seg.scores_from_confusion_matrix(
        seg.confusion_matrix(y, x, num_classes=num_classes, ignore_class=void)
    )

    def plain(value):
        return np.asarray(value, dtype=np.float64).tolist()

    return {
        "fit": {k: plain(history.history[k][-1]) for k in ("mean_iou", "global_accuracy")},
        "evaluate": {k: plain(evaluated[k]) for k in _metrics()},
        "reference": {k: plain(v) for k, v in reference.items()},
        "hand": _hand_case_in_backend(),
    }


def _hand_case_in_backend():
    metrics = _metrics()
    for m in metrics.values():
        m.update_state(Y_TRUE, _logits(Y_PRED))
    return {k: np.asarray(m.result(), dtype=np.float64).tolist() for k, m in metrics.items()}


def _check_scenario(result):
    ref = result["reference"]
    for key in ("mean_iou", "global_accuracy"):
        assert result["fit"][key] == pytest.approx(ref[key], rel=1e-5)
        assert result["evaluate"][key] == pytest.approx(ref[key], rel=1e-5)
    np.testing.assert_allclose(result["evaluate"]["per_class_iou"], ref["per_class_iou"], rtol=1e-5)
    assert 0.0 < ref["mean_iou"] < 1.0
    assert result["hand"]["mean_iou"] == pytest.approx(HAND_IOU.mean(), rel=1e-6)
    np.testing.assert_allclose(result["hand"]["per_class_iou"], HAND_IOU, rtol=1e-6)
    assert result["hand"]["global_accuracy"] == pytest.approx(HAND_ACCURACY, rel=1e-6)


def test_metrics_inside_fit_and_evaluate():
    _check_scenario(json.loads(json.dumps(_fit_evaluate_scenario())))
