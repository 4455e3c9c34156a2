"""Tests for tfmodels.tasks.segmentation.run: end to end on a tiny generated dataset."""

import json
import os

import keras
import numpy as np
import pytest

from tfmodels.data import scenes
from tfmodels.tasks import segmentation

TINY = dict(growth_rate=2, layers_per_block=1, initial_filters=4)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("scenes") / "scenes")
    scenes.generate(root, seed=3, num_train=8, num_val=3, num_test=1, height=64, width=64)
    return root


def run_tiny(data_dir, tmp_path, **kwargs):
    config = dict(
        data_dir=data_dir,
        export_dir=str(tmp_path / "export"),
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


def test_run_writes_every_artifact_and_consistent_scores(data_dir, tmp_path):
    report = run_tiny(data_dir, tmp_path)
    export_dir = tmp_path / "export"
    # int8 .tflite, builtin ops only.
    assert os.path.getsize(report["tflite_path"]) == report["tflite_bytes"] > 0
    assert report["tflite_mode"] == "int8"
    assert not [op for op in report["tflite_op_types"] if op.startswith("Flex")]
    assert report["tflite_op_types"]["QUANTIZE"] == 1
    # Versioned SavedModel in the TF Serving layout.
    assert report["saved_model_path"] == str(export_dir / "serving" / "fc_densenet" / "1")
    assert (export_dir / "serving" / "fc_densenet" / "1" / "saved_model.pb").is_file()
    # Overlays: image | truth | prediction side by side, at the 64x64 frame size.
    assert len(report["overlays"]) == 2
    from PIL import Image

    with Image.open(report["overlays"][0]) as overlay:
        assert overlay.size == (3 * 64, 64)
    # Scores: fractions; all three on the same 3 validation frames.
    for key in ("float", "qat", "tflite"):
        assert 0.0 <= report[key]["mean_iou"] <= 1.0
        assert 0.0 <= report[key]["global_accuracy"] <= 1.0
    assert report["num_val_frames"] == 3
    assert report["miou_drop_points"] == pytest.approx(
        100 * (report["float"]["mean_iou"] - report["tflite"]["mean_iou"])
    )
    # The int8 file computes what the QAT Keras model computes, up to rounding. An 11-class
    # model trained for 2 steps has near-tied logits, so rounding flips some argmaxes.
    assert report["tflite"]["argmax_agreement_with_keras"] > 0.7
    work_dir = export_dir / "runs" / "segmentation"
    with open(work_dir / "report.json") as f:
        assert json.load(f)["tflite_bytes"] == report["tflite_bytes"]
    assert os.listdir(work_dir / "logs" / "float")  # TensorBoard event files
    # The TFLite scores are the ones of its own predictions.
    logits, seconds = segmentation.predict_tflite(report["tflite_path"], _val_frames(data_dir))
    assert logits.shape == (3, 64, 64, 11) and len(seconds) == 3


def _val_frames(data_dir):
    from tfmodels.data import camvid

    images = [x for x, _, _ in camvid.load_dataset(data_dir, "val", batch_size=3).as_numpy_iterator()]
    return np.concatenate(images)


class _Interrupt(keras.callbacks.Callback):
    def __init__(self, after_batches):
        super().__init__()
        self.after_batches = after_batches
        self.seen = 0

    def on_train_batch_end(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.after_batches:
            raise KeyboardInterrupt("simulated interruption")


class _EpochRecorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


def test_interrupted_run_resumes_from_backup(data_dir, tmp_path):
    # 8 frames / batch 4 = 2 steps per epoch: interrupt in the middle of epoch 2 (index 1).
    with pytest.raises(KeyboardInterrupt):
        run_tiny(data_dir, tmp_path, epochs=3, quantize=False, callbacks=[_Interrupt(3)])
    backup = tmp_path / "export" / "runs" / "segmentation" / "backup" / "float"
    assert backup.is_dir() and os.listdir(backup)
    recorder = _EpochRecorder()
    report = run_tiny(data_dir, tmp_path, epochs=3, quantize=False, callbacks=[recorder])
    # Epoch 0 finished before the interruption and is not trained again.
    assert recorder.epochs == [1, 2]
    assert report["tflite_mode"] == "float32" and "qat" not in report
    assert not backup.exists()  # deleted once training completes


def test_bad_arguments_are_refused_early(tmp_path):
    with pytest.raises(ValueError, match="crop_size"):
        segmentation.run(data_dir=str(tmp_path), crop_size=(48, 64), export_dir=str(tmp_path))
    with pytest.raises(ValueError, match="model must be one of"):
        segmentation.run(model="unet", export_dir=str(tmp_path))
    with pytest.raises(FileNotFoundError, match="missing_dir"):
        segmentation.run(data_dir=str(tmp_path / "missing_dir"), export_dir=str(tmp_path))
