"""Digits task: a quantized RNN classifier trains, and its int8 step .tflite agrees with Keras."""

import numpy as np
import pytest

from tfmodels.tasks.digits import digits_classifier, train_digits


def test_int8_step_model_accuracy_within_one_point(tmp_path):
    result = train_digits(cell="lstm", quantizer="ternary", units=16, epochs=6, seed=0,
                          export_dir=str(tmp_path))
    assert result.test_accuracy > 0.6  # well above chance (0.1)
    acc = result.device_accuracy
    assert acc["keras"] == pytest.approx(result.test_accuracy, abs=1e-6)
    assert acc["float32"] == pytest.approx(acc["keras"], abs=1e-6)
    assert abs(acc["int8"] - acc["keras"]) <= 0.01
    assert result.tflite["int8"].size_bytes < result.tflite["float32"].size_bytes
    assert (tmp_path / "digits_lstm_ternary.keras").is_file()


def test_same_seed_same_result():
    a = train_digits(cell="rnn", quantizer="pow2_ternary", units=4, epochs=1, seed=5)
    b = train_digits(cell="rnn", quantizer="pow2_ternary", units=4, epochs=1, seed=5)
    assert a.test_accuracy == b.test_accuracy and a.val_accuracy == b.val_accuracy


def test_classifier_shapes_and_bad_cell():
    model = digits_classifier("gru", units=5, input_batch_norm=True)
    assert model.output_shape == (None, 10)
    assert np.asarray(model(np.zeros((2, 8, 8), "float32"))).shape == (2, 10)
    with pytest.raises(ValueError, match="cell"):
        digits_classifier("transformer")
