"""Digits task: a quantized RNN classifier trains, and its int8 step .tflite agrees with Keras.

One exported run (`exported`, module-scoped) is shared by the tests that check its result and
files; the files are re-run here in the LiteRT interpreter, independently of the task's code.
"""

import keras
import numpy as np
import pytest

from tfmodels.data import digits as digits_data
from tests import testing_utils
from tfmodels.tasks.digits import digits_classifier, train_digits


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    export_dir = tmp_path_factory.mktemp("digits")
    result = train_digits(cell="lstm", quantizer="ternary", units=16, epochs=6, seed=0,
                          export_dir=str(export_dir))
    return result, export_dir


def _step_file_predictions(path, sequences):
    """Class of each `(8, 8)` sequence: the step file stepped over its rows from zero state."""
    last = [testing_utils.run_step_tflite(path, rows)[-1] for rows in sequences]
    return np.argmax(np.stack(last), -1)


def test_learns_well_above_chance(exported):
    result, _ = exported
    assert result.test_accuracy > 0.6  # chance is 0.1


@pytest.mark.parametrize("mode", ["float32", "int8"])
def test_device_accuracy_is_that_of_the_step_file(exported, mode):
    result, _ = exported
    splits = digits_data.load_digits(seed=0)
    predictions = _step_file_predictions(result.tflite[mode].path, splits.x_test)
    assert result.device_accuracy[mode] == pytest.approx(np.mean(predictions == splits.y_test))


def test_step_files_agree_with_the_saved_keras_model(exported):
    result, export_dir = exported
    acc = result.device_accuracy
    splits = digits_data.load_digits(seed=0)
    assert result.model_path == str(export_dir / "digits_lstm_ternary.keras")
    loaded = keras.saving.load_model(result.model_path)
    keras_accuracy = np.mean(np.argmax(loaded.predict(splits.x_test, verbose=0), -1)
                             == splits.y_test)
    assert acc["keras"] == pytest.approx(keras_accuracy)
    assert acc["keras"] == pytest.approx(result.test_accuracy, abs=1e-6)
    assert acc["float32"] == pytest.approx(acc["keras"], abs=1e-6)
    assert abs(acc["int8"] - acc["keras"]) <= 0.01
    assert result.tflite["int8"].size_bytes < result.tflite["float32"].size_bytes


def test_same_seed_same_result_with_stochastic_quantizers(tmp_path):
    # Stochastic ternarization samples in training: the seed must fix the samples too. The
    # second run also exports (float32 only); export comes after evaluation and changes nothing.
    settings = dict(cell="rnn", quantizer="pow2_ternary", stochastic=True, units=4, epochs=1,
                    seed=5)
    first = train_digits(**settings)
    second = train_digits(**settings, export_dir=str(tmp_path), int8=False)
    assert first.test_accuracy == second.test_accuracy
    assert first.val_accuracy == second.val_accuracy
    assert first.model_path is None and not first.tflite
    name = "digits_rnn_pow2_ternary_stochastic"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"{name}.keras", f"{name}_step.float32.tflite"]
    assert set(second.device_accuracy) == {"keras", "float32"}


def test_result_prints_the_run_and_its_accuracies(exported):
    result, _ = exported
    text = str(result)
    assert "lstm/ternary seed=0" in text and result.model_path in text
    assert f"{100 * result.test_accuracy:.1f}%" in text
    assert f"int8 {100 * result.device_accuracy['int8']:.2f}%" in text


def test_classifier_shapes_and_bad_cell():
    model = digits_classifier("gru", units=5, input_batch_norm=True)
    assert model.output_shape == (None, 10)
    assert np.asarray(model(np.zeros((2, 8, 8), "float32"))).shape == (2, 10)
    with pytest.raises(ValueError, match="cell"):
        digits_classifier("transformer")
