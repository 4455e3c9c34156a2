"""Tests for tfmodels.export.verify: LiteRT run vs Keras, int8 I/O, batch looping, report."""

import keras
import numpy as np
import pytest
from keras import layers

from tfmodels.export import export_tflite, verify_tflite


def _model():
    features = keras.Input((10,), name="features")
    extra = keras.Input((2,), name="extra")
    hidden = layers.Dense(16, activation="relu")(layers.Concatenate()([features, extra]))
    logits = layers.Dense(4, name="logits")(hidden)
    score = layers.Dense(1, name="score")(hidden)
    return keras.Model([features, extra], [logits, score])


def _inputs(n, seed):
    rng = np.random.default_rng(seed)
    return {"features": rng.normal(size=(n, 10)).astype("float32"),
            "extra": rng.normal(size=(n, 2)).astype("float32")}


def test_float32_file_agrees_exactly_enough(tmp_path):
    model = _model()
    export_tflite(model, tmp_path / "m.tflite")
    report = verify_tflite(tmp_path / "m.tflite", model, _inputs(7, seed=1))
    assert report.num_samples == 7  # looped one sample at a time over the batch-1 file
    assert report.max_abs_error["logits"] < 1e-5 and report.max_abs_error["score"] < 1e-5
    assert report.argmax_agreement == {"logits": 1.0, "score": None}  # size-1 axis: no argmax
    assert report.op_types["FULLY_CONNECTED"] == 3
    assert report.size_bytes == (tmp_path / "m.tflite").stat().st_size
    text = str(report)
    assert "logits: max abs error" in text and "argmax agreement 100.00%" in text


def test_detects_a_different_model(tmp_path):
    model = _model()
    export_tflite(model, tmp_path / "m.tflite")
    other = _model()  # same architecture, other weights
    report = verify_tflite(tmp_path / "m.tflite", other, _inputs(16, seed=2))
    assert report.max_abs_error["logits"] > 0.01


def test_int8_io_is_quantized_and_dequantized(tmp_path):
    model = _model()
    calibration = _inputs(32, seed=3)
    export_tflite(model, tmp_path / "f.tflite", mode="int8", representative_data=calibration)
    export_tflite(model, tmp_path / "i.tflite", mode="int8", representative_data=calibration,
                  int8_io=True)
    float_io = verify_tflite(tmp_path / "f.tflite", model, calibration)
    int8_io = verify_tflite(tmp_path / "i.tflite", model, calibration)
    assert [dtype for _, _, dtype in int8_io.inputs] == ["int8", "int8"]
    assert int8_io.tensor_dtypes.get("float32", 0) == 0
    # The same integer computation: quantizing in Python at the edges matches the QUANTIZE op.
    for name in ("logits", "score"):
        np.testing.assert_allclose(int8_io.max_abs_error[name], float_io.max_abs_error[name], rtol=1e-5)
    # Inside the calibrated range the int8 error is a few quantization steps.
    spread = np.ptp(np.asarray(model(calibration)[0]))
    assert float_io.max_abs_error["logits"] < 0.05 * spread


def test_rejects_missing_file_and_mismatched_inputs(tmp_path):
    model = _model()
    with pytest.raises(FileNotFoundError, match="nope.tflite"):
        verify_tflite(tmp_path / "nope.tflite", model, _inputs(2, seed=0))
    export_tflite(model, tmp_path / "m.tflite")
    with pytest.raises(ValueError, match="inputs"):
        verify_tflite(tmp_path / "m.tflite", model, {"features": np.zeros((2, 10), "float32")})
