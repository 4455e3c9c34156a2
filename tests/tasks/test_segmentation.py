"""Tests for tfmodels.tasks.segmentation.run: end to end on a tiny generated dataset.

Two module-scoped runs are shared by the tests: `qat_run` (float training, QAT fine-tuning,
int8 export, seed 0) and `resumed` (a float run with seed 0, interrupted in epoch 1 and
restarted from its backup). Each test checks one property of a run's report or artifacts,
recomputing scores from the artifacts themselves (the `.keras` checkpoints, the `.tflite` file,
the PNGs on disk) with the numpy below, not with the library's metric code.
"""

import json
import os

import keras
import numpy as np
import pytest
from PIL import Image

from tfmodels.data import scenes
from tfmodels.tasks import segmentation

TINY = dict(growth_rate=6, layers_per_block=1, initial_filters=12, num_pools=2)
NUM_CLASSES, VOID = 11, 11
FRAME = 64


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("scenes") / "scenes")
    scenes.generate(root, seed=3, num_train=8, num_val=3, num_test=1, height=FRAME, width=FRAME)
    return root


def run_tiny(data_dir, export_dir, **kwargs):
    config = dict(
        data_dir=data_dir,
        export_dir=str(export_dir),
        model_config=TINY,
        epochs=1,
        batch_size=4,
        crop_size=(32, 32),
        qat_epochs=1,
        calibration_frames=2,
        num_overlays=2,
        verbose=0,
        seed=0,
    )
    return segmentation.run(**{**config, **kwargs})


@pytest.fixture(scope="module")
def qat_run(data_dir, tmp_path_factory):
    export_dir = tmp_path_factory.mktemp("qat") / "export"
    return run_tiny(data_dir, export_dir), export_dir


@pytest.fixture(scope="module")
def val_frames(data_dir):
    """`{file name: (image float32 [h, w, 3] in [0, 1], label uint8 [h, w])}` read with PIL."""
    frames = {}
    for name in sorted(os.listdir(os.path.join(data_dir, "val"))):
        with Image.open(os.path.join(data_dir, "val", name)) as image:
            pixels = np.asarray(image.convert("RGB"), np.float32) / np.float32(255)
        with Image.open(os.path.join(data_dir, "valannot", name)) as label:
            frames[name] = (pixels, np.asarray(label))
    return frames


def _stack(frames):
    return (np.stack([x for x, _ in frames.values()]), np.stack([y for _, y in frames.values()]))


def _hand_scores(labels, predictions):
    """mIoU, global accuracy and per-class IoU over every pixel, void left out, by masks."""
    scored = labels != VOID
    per_class = []
    for c in range(NUM_CLASSES):
        truth, guess = (labels == c) & scored, (predictions == c) & scored
        union = np.sum(truth | guess)
        per_class.append(np.sum(truth & guess) / union if union else None)
    present = [v for v in per_class if v is not None]
    accuracy = np.sum((labels == predictions) & scored) / np.sum(scored)
    return {"mean_iou": sum(present) / len(present), "global_accuracy": accuracy,
            "per_class_iou": per_class}


def _run_tflite(path, images):
    """Logits of a batch-1 float-I/O `.tflite` segmentation model, one frame per invoke."""
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=str(path)).get_signature_runner()
    (input_name, input_detail), = runner.get_input_details().items()
    (output_name,) = runner.get_output_details()
    assert np.dtype(input_detail["dtype"]) == np.float32  # float I/O around the int8 graph
    return np.stack([runner(**{input_name: image[None]})[output_name][0] for image in images])


def _keras_logits(path, images):
    model = keras.saving.load_model(str(path), compile=False)
    return np.asarray(model.predict(images, batch_size=4, verbose=0))


def _assert_scores_equal(reported, expected, abs_tol):
    assert reported["mean_iou"] == pytest.approx(expected["mean_iou"], abs=abs_tol)
    assert reported["global_accuracy"] == pytest.approx(expected["global_accuracy"], abs=abs_tol)
    assert [v is None for v in reported["per_class_iou"]] == [
        v is None for v in expected["per_class_iou"]]
    assert [v for v in reported["per_class_iou"] if v is not None] == pytest.approx(
        [v for v in expected["per_class_iou"] if v is not None], abs=abs_tol)


@pytest.fixture(scope="module")
def qat_logits(qat_run, val_frames):
    """Validation logits of the run's artifacts: the `.tflite` file and both checkpoints."""
    report, export_dir = qat_run
    images, _ = _stack(val_frames)
    work_dir = export_dir / "runs" / "segmentation"
    return {"tflite": _run_tflite(report.tflite_path, images),
            "float": _keras_logits(work_dir / "float.keras", images),
            "qat": _keras_logits(work_dir / "qat.keras", images)}


def test_tflite_scores_are_those_of_the_file_on_the_validation_frames(qat_run, val_frames,
                                                                       qat_logits):
    report, _ = qat_run
    _, labels = _stack(val_frames)
    assert report.num_val_frames == len(labels) == 3
    assert qat_logits["tflite"].shape == (3, FRAME, FRAME, NUM_CLASSES)
    predictions = np.argmax(qat_logits["tflite"], -1)
    # The same file on the same inputs in the same interpreter: the same pixels, exactly.
    _assert_scores_equal(report.tflite, _hand_scores(labels, predictions), 1e-9)


def test_keras_scores_are_those_of_the_saved_checkpoints(qat_run, val_frames, qat_logits):
    report, export_dir = qat_run
    _, labels = _stack(val_frames)
    assert report.keras_path == str(export_dir / "runs" / "segmentation" / "qat.keras")
    for key in ("float", "qat"):
        predictions = np.argmax(qat_logits[key], -1)
        # Reloaded weights, same graph and batch: at most a rounding tie flips a pixel.
        _assert_scores_equal(getattr(report, key), _hand_scores(labels, predictions), 1e-3)
    assert report.miou_drop_points == pytest.approx(
        100 * (report.float["mean_iou"] - report.tflite["mean_iou"]))


def test_int8_file_agrees_with_the_qat_model(qat_run, qat_logits):
    report, _ = qat_run
    agreement = np.mean(np.argmax(qat_logits["tflite"], -1) == np.argmax(qat_logits["qat"], -1))
    assert report.tflite["argmax_agreement_with_keras"] == pytest.approx(agreement, abs=1e-3)
    # An 11-class model trained for 2 steps has near-tied logits: int8 rounding flips some.
    assert agreement > 0.7


def test_int8_file_is_builtin_int8_with_float_io(qat_run):
    report, _ = qat_run
    from ai_edge_litert.interpreter import Interpreter

    assert report.tflite_mode == "int8"
    assert os.path.getsize(report.tflite_path) == report.tflite_bytes
    assert not [op for op in report.tflite_op_types if op.startswith("Flex")]
    # One QUANTIZE at the float input; everything behind it runs in int8.
    assert report.tflite_op_types["QUANTIZE"] == 1
    interpreter = Interpreter(model_path=report.tflite_path)
    dtypes = [np.dtype(t["dtype"]) for t in interpreter.get_tensor_details()]
    assert dtypes.count(np.dtype(np.int8)) > dtypes.count(np.dtype(np.float32))
    assert report.tflite_tensor_dtypes["int8"] == dtypes.count(np.dtype(np.int8))


def test_saved_model_serves_what_the_keras_model_computes(qat_run, val_frames, qat_logits):
    import tensorflow as tf

    report, export_dir = qat_run
    version_dir = export_dir / "serving" / "fc_densenet" / "1"
    assert report.saved_model_path == str(version_dir)
    assert (version_dir / "assets.extra" / "tf_serving_warmup_requests").is_file()
    images, _ = _stack(val_frames)
    serve = tf.saved_model.load(str(version_dir)).signatures["serving_default"]
    (input_name,) = serve.structured_input_signature[1]
    (served,) = serve(**{input_name: images}).values()
    np.testing.assert_allclose(served.numpy(), qat_logits["qat"], atol=1e-4)


def test_overlays_show_image_truth_float_and_tflite_predictions(qat_run, val_frames,
                                                                qat_logits):
    report, _ = qat_run
    floats = dict(zip(val_frames, np.argmax(qat_logits["float"], -1)))
    predictions = dict(zip(val_frames, np.argmax(qat_logits["tflite"], -1)))
    assert len(report.overlays) == 2
    shown = set()
    for path in report.overlays:
        with Image.open(path) as overlay:
            panel = np.asarray(overlay.convert("RGB"))
        assert panel.shape == (FRAME, 4 * FRAME, 3)
        image, truth, floated, predicted = np.split(panel, 4, axis=1)
        (name,) = [n for n, (x, _) in val_frames.items()
                   if np.array_equal(np.round(x * 255).astype(np.uint8), image)]
        shown.add(name)
        np.testing.assert_array_equal(truth, segmentation.PALETTE[val_frames[name][1]])
        assert np.mean(np.all(floated == segmentation.PALETTE[floats[name]], -1)) > 0.99
        assert np.mean(np.all(predicted == segmentation.PALETTE[predictions[name]], -1)) > 0.99
    assert len(shown) == 2


def test_report_logs_and_no_backup_left_after_a_completed_run(qat_run):
    import tensorflow as tf

    report, export_dir = qat_run
    work_dir = export_dir / "runs" / "segmentation"
    with open(work_dir / "report.json") as f:
        assert json.load(f) == json.loads(json.dumps(report.to_dict(), default=str))
    # Sizes compare .tflite files: int8 against the float model's float32 export.
    assert report.float32_tflite_bytes == os.path.getsize(report.float32_tflite_path)
    assert report.tflite_bytes < report.float32_tflite_bytes
    with Image.open(report.learning_curve) as curve:
        assert curve.size[0] > 300 and curve.size[1] > 200
    with open(work_dir / "logs" / "float.csv") as f:
        assert f.readline().startswith("epoch,") and len(f.readlines()) == 1  # one float epoch
    for phase in ("float", "qat"):
        tags = set()
        for root, _, files in os.walk(work_dir / "logs" / phase / "validation"):
            for file in files:
                for event in tf.compat.v1.train.summary_iterator(os.path.join(root, file)):
                    tags.update(value.tag for value in event.summary.value)
        assert "epoch_mean_iou" in tags, (phase, tags)
    # BackupAndRestore state is only for resuming an interrupted run.
    backup = work_dir / "backup"
    assert not backup.exists() or not [f for _, _, files in os.walk(backup) for f in files]


class _Interrupt(keras.callbacks.Callback):
    """Raises KeyboardInterrupt after `after_batches` batches, or at the start of any epoch
    (then keeping the weights the model starts that epoch with)."""

    def __init__(self, after_batches=None):
        super().__init__()
        self.after_batches = after_batches
        self.seen = 0
        self.epochs = []
        self.weights = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)
        if self.after_batches is None:
            self.weights = self.model.get_weights()
            raise KeyboardInterrupt("simulated interruption")

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.after_batches:
            raise KeyboardInterrupt("simulated interruption")


@pytest.fixture(scope="module")
def resumed(data_dir, tmp_path_factory):
    """A float run (seed 0) interrupted in epoch 1, then restarted and stopped as soon as it
    has restored its backup. Returns both callbacks and the backup folder."""
    export_dir = tmp_path_factory.mktemp("resume") / "export"
    # 8 frames / batch 4 = 2 steps per epoch: interrupt in the middle of epoch 1.
    first = _Interrupt(after_batches=3)
    with pytest.raises(KeyboardInterrupt):
        run_tiny(data_dir, export_dir, epochs=3, quantize=False, callbacks=[first])
    backup = export_dir / "runs" / "segmentation" / "backup" / "float"
    backed_up = backup.is_dir() and bool(os.listdir(backup))
    second = _Interrupt()
    with pytest.raises(KeyboardInterrupt):
        run_tiny(data_dir, export_dir, epochs=3, quantize=False, callbacks=[second])
    return first, second, backed_up


def test_interrupted_run_resumes_from_backup(resumed):
    first, second, backed_up = resumed
    assert first.epochs == [0, 1] and backed_up
    # Epoch 0 finished before the interruption and is not trained again. (A completed run's
    # clean-up of the backup is checked on `qat_run`.)
    assert second.epochs == [1]


def test_same_seed_same_float_model_and_scores(qat_run, resumed, val_frames, qat_logits):
    # Two runs with seed 0: `qat_run` (1 epoch) and the interrupted one, whose backup holds
    # its weights after epoch 0. Same seed, same data, same epoch-0 learning rate: the weights
    # must match bit for bit (a model trained for 2 steps may predict nearly one class, so
    # equal scores alone could match by luck), and so must the float scores.
    report, export_dir = qat_run
    _, second, _ = resumed
    model = keras.saving.load_model(str(export_dir / "runs" / "segmentation" / "float.keras"),
                                    compile=False)
    expected = model.get_weights()
    assert len(second.weights) == len(expected)
    for a, b in zip(second.weights, expected):
        np.testing.assert_array_equal(a, b)
    images, labels = _stack(val_frames)
    model.set_weights(second.weights)
    predictions = np.argmax(np.asarray(model.predict(images, batch_size=4, verbose=0)), -1)
    np.testing.assert_array_equal(predictions, np.argmax(qat_logits["float"], -1))
    _assert_scores_equal(report.float, _hand_scores(labels, predictions), 1e-9)


def test_bad_arguments_are_refused_early(tmp_path):
    with pytest.raises(ValueError, match="crop_size"):
        segmentation.run(data_dir=str(tmp_path), crop_size=(48, 64), export_dir=str(tmp_path))
    with pytest.raises(ValueError, match="model must be one of"):
        segmentation.run(model="unet", export_dir=str(tmp_path))
    with pytest.raises(FileNotFoundError, match="missing_dir"):
        segmentation.run(data_dir=str(tmp_path / "missing_dir"), export_dir=str(tmp_path))
