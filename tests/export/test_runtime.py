"""Tests for tfmodels.export.runtime: the one LiteRT runner (batches, int8 I/O, streams)."""

import keras
import numpy as np
import pytest

from tfmodels.export import export_tflite
from tfmodels.export.runtime import LiteRTRunner, LiteRTStepper, dequantize, quantize


@pytest.fixture(scope="module")
def accumulator(tmp_path_factory):
    """A step model `(x, total) -> (y, new_total)` with `y = new_total = total + 2 x`."""
    x = keras.Input((3,), name="x")
    total = keras.Input((3,), name="total")
    doubled = keras.layers.Rescaling(2.0)(x)
    new_total = keras.layers.Add(name="new_total")([total, doubled])
    y = keras.layers.Identity(name="y")(new_total)
    model = keras.Model([x, total], {"y": y, "new_total": new_total})
    path = tmp_path_factory.mktemp("runtime") / "accumulator.tflite"
    export_tflite(model, path)
    return str(path)


def test_stepper_carries_states_from_new_outputs(accumulator):
    stepper = LiteRTStepper(accumulator, data_inputs=["x"])
    assert stepper.state_outputs == {"total": "new_total"}
    xs = np.arange(12, dtype="float32").reshape(4, 3)
    ys = [stepper.step({"x": x})["y"][0] for x in xs]
    np.testing.assert_allclose(ys, 2 * np.cumsum(xs, axis=0))
    stepper.reset()
    np.testing.assert_allclose(stepper.step({"x": xs[1]})["y"][0], 2 * xs[1])


def test_predict_runs_a_batch_through_the_batch_1_file(accumulator):
    runner = LiteRTRunner(accumulator)
    assert runner.batch_size == 1 and runner.input_names == ["total", "x"]
    x = np.random.default_rng(0).normal(size=(5, 3)).astype("float32")
    out = runner.predict({"x": x, "total": np.ones_like(x)})
    np.testing.assert_allclose(out["y"], 2 * x + 1, rtol=1e-6)
    assert runner.last_invoke_seconds > 0
    with pytest.raises(ValueError, match=r"takes inputs \['total', 'x'\]"):
        runner({"x": x[:1]})
    with pytest.raises(ValueError, match=r"takes inputs \['total', 'x'\]: pass a dict"):
        runner(x[:1])


def test_int8_io_is_quantized_in_and_dequantized_out(tmp_path):
    inputs = keras.Input((4,), name="x")
    model = keras.Model(inputs, keras.layers.Dense(2, name="y")(inputs))
    x = np.random.default_rng(1).uniform(-1, 1, (16, 4)).astype("float32")
    path = tmp_path / "io.tflite"
    export_tflite(model, path, mode="int8", representative_data=x, int8_io=True)
    runner = LiteRTRunner(path)
    detail = runner.input_details["x"]
    assert np.dtype(detail["dtype"]) == np.int8
    out = runner.predict({"x": x})["y"]
    assert out.dtype == np.float32
    # A one-input file takes the bare array too.
    np.testing.assert_array_equal(runner.predict(x)["y"], out)
    scale = runner.output_details["y"]["quantization"][0]
    np.testing.assert_allclose(out, model.predict(x, verbose=0), atol=6 * scale + 0.02)


def test_quantize_and_dequantize_by_hand():
    detail = {"dtype": np.int8, "quantization": (0.5, -3)}
    np.testing.assert_array_equal(quantize(np.array([0.0, 1.0, -1.2, 100.0]), detail),
                                  np.array([-3, -1, -5, 127], np.int8))
    np.testing.assert_allclose(dequantize(np.array([-3, -1, 127], np.int8), detail),
                               [0.0, 1.0, 65.0])
    float_detail = {"dtype": np.float32, "quantization": (0.0, 0)}
    assert quantize(np.array([1.5]), float_detail).dtype == np.float32


def test_bad_files_and_names(tmp_path, accumulator):
    with pytest.raises(FileNotFoundError, match="missing.tflite"):
        LiteRTRunner(tmp_path / "missing.tflite")
    (tmp_path / "junk.tflite").write_bytes(b"not a flatbuffer")
    with pytest.raises(ValueError, match="junk.tflite"):
        LiteRTRunner(tmp_path / "junk.tflite")
    with pytest.raises(ValueError, match="no input"):
        LiteRTStepper(accumulator, data_inputs=["features"])
