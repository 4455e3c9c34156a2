"""Tests for tfmodels.export.saved_model: TF Serving layout, signature, atomicity, warmup."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2

from tfmodels.export import export_saved_model


def _two_in_two_out():
    features = keras.Input((6,), name="features")
    extra = keras.Input((3,), name="extra")
    hidden = keras.layers.Dense(5, activation="relu")(keras.layers.Concatenate()([features, extra]))
    logits = keras.layers.Dense(4, name="logits")(hidden)
    probs = keras.layers.Softmax(name="probs")(logits)
    return keras.Model([features, extra], [logits, probs])


def _inputs(batch, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "features": rng.normal(size=(batch, 6)).astype("float32"),
        "extra": rng.normal(size=(batch, 3)).astype("float32"),
    }


def _run_python(script, env=None):
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **(env or {})),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_signature_serves_keras_outputs_in_a_fresh_process(tmp_path):
    model = _two_in_two_out()
    path = export_saved_model(model, tmp_path / "serving", "clf")
    assert path == os.path.join(tmp_path, "serving", "clf", "1")
    for batch in (3, 5):  # the batch dimension is dynamic
        np.savez(tmp_path / f"in{batch}.npz", **_inputs(batch, seed=batch))
    _run_python(
        f"""
        import numpy as np, tensorflow as tf
        serve = tf.saved_model.load({path!r}).signatures["serving_default"]
        assert sorted(serve.structured_input_signature[1]) == ["extra", "features"]
        for batch in (3, 5):
            inputs = dict(np.load({str(tmp_path)!r} + f"/in{{batch}}.npz"))
            outputs = serve(**{{k: tf.constant(v) for k, v in inputs.items()}})
            np.savez({str(tmp_path)!r} + f"/out{{batch}}.npz", **{{k: v.numpy() for k, v in outputs.items()}})
        """
    )
    for batch in (3, 5):
        inputs = _inputs(batch, seed=batch)
        served = np.load(tmp_path / f"out{batch}.npz")
        assert sorted(served.files) == ["logits", "probs"]
        logits, probs = model(inputs)
        np.testing.assert_allclose(served["logits"], logits, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(served["probs"], probs, rtol=1e-5, atol=1e-6)


def test_versions_auto_increment_after_the_highest(tmp_path):
    model = keras.Sequential([keras.Input((4,), name="x"), keras.layers.Dense(2, name="y")])
    first = export_saved_model(model, tmp_path, "m")
    second = export_saved_model(model, tmp_path, "m")
    os.makedirs(tmp_path / "m" / "10")
    os.makedirs(tmp_path / "m" / "not_a_version")
    after_gap = export_saved_model(model, tmp_path, "m")
    explicit = export_saved_model(model, tmp_path, "m", version=4)
    assert [os.path.basename(p) for p in (first, second, after_gap, explicit)] == ["1", "2", "11", "4"]
    served = tf.saved_model.load(second).signatures["serving_default"]
    x = np.ones((2, 4), "float32")
    np.testing.assert_allclose(served(x=tf.constant(x))["y"], model(x), rtol=1e-5, atol=1e-6)
    # No temp directory is left beside the versions.
    assert sorted(os.listdir(tmp_path / "m")) == ["1", "10", "11", "2", "4", "not_a_version"]


def test_refuses_to_overwrite_an_existing_version(tmp_path):
    model = keras.Sequential([keras.Input((4,), name="x"), keras.layers.Dense(2)])
    path = export_saved_model(model, tmp_path, "m", version=3)
    before = sorted(os.listdir(path))
    with pytest.raises(FileExistsError, match=os.path.join("m", "3")):
        export_saved_model(model, tmp_path, "m", version=3)
    assert sorted(os.listdir(path)) == before
    assert sorted(os.listdir(tmp_path / "m")) == ["3"]


def test_warmup_file_holds_prediction_log_records(tmp_path):
    model = _two_in_two_out()
    warmup = _inputs(2)
    path = export_saved_model(model, tmp_path, "clf", warmup_inputs=warmup)
    records = list(tf.data.TFRecordDataset(os.path.join(path, "assets.extra", "tf_serving_warmup_requests")))
    assert len(records) == 1
    log = prediction_log_pb2.PredictionLog.FromString(records[0].numpy())
    request = log.predict_log.request
    assert request.model_spec.name == "clf"
    assert request.model_spec.signature_name == "serving_default"
    assert sorted(request.inputs) == ["extra", "features"]
    for name, array in warmup.items():
        np.testing.assert_array_equal(tf.make_ndarray(request.inputs[name]), array)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"name": "a/b"}, "name"),
        ({"name": "m", "version": 0}, "version"),
        ({"name": "m", "warmup_inputs": np.zeros((2, 5), "float32")}, "warmup_inputs"),
    ],
)
def test_bad_arguments_raise_before_writing(tmp_path, kwargs, match):
    model = keras.Sequential([keras.Input((4,), name="x"), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match=match):
        export_saved_model(model, tmp_path / "out", **kwargs)
    assert not os.path.exists(tmp_path / "out" / "m" / "1")


def test_unbuilt_model_is_refused(tmp_path):
    with pytest.raises(ValueError, match="not built"):
        export_saved_model(keras.Sequential([keras.layers.Dense(2)]), tmp_path, "m")


def test_jax_model_is_rebuilt_on_tensorflow(tmp_path):
    # The JAX process exports (via a TensorFlow child process) and records Keras's outputs.
    _run_python(
        f"""
        import keras, numpy as np
        from tfmodels.export import export_saved_model
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((4,), name="x"), keras.layers.Dense(3, name="y")])
        x = np.arange(8, dtype="float32").reshape(2, 4)
        np.save({str(tmp_path)!r} + "/expected.npy", np.asarray(model(x)))
        export_saved_model(model, {str(tmp_path)!r}, "m")
        """,
        env={"KERAS_BACKEND": "jax"},
    )
    served = tf.saved_model.load(str(tmp_path / "m" / "1")).signatures["serving_default"]
    x = np.arange(8, dtype="float32").reshape(2, 4)
    np.testing.assert_allclose(
        served(x=tf.constant(x))["y"], np.load(tmp_path / "expected.npy"), rtol=1e-5, atol=1e-5
    )
