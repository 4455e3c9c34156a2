import keras
import numpy as np
import pytest

from tests.models.qnn.conftest import INPUT_SHAPE, fit, pixels
from tfmodels.models.qnn import int8_twin, qnn_mlp, scores_to_logits
from tfmodels.quantization import ActivationQuantizer


def _np(x):
    return keras.ops.convert_to_numpy(x)


@pytest.mark.multibackend
def test_twin_computes_the_models_signs_and_logits(trained_binary_mlp):
    model, x, _ = trained_binary_mlp
    x = np.concatenate([x, pixels(np.random.default_rng(5), 200)])
    twin = int8_twin(model)
    kinds = [type(l).__name__ for l in twin.layers]
    assert kinds == ["InputLayer", "Flatten", "ActivationQuantizer", "Dense",
                     "ActivationQuantizer", "Dense", "ActivationQuantizer", "Dense", "Dense",
                     "ActivationQuantizer"]
    # Hidden activations: the model's +-1 as {0, 1}, exactly, unit by unit.
    for index in (0, 1):
        ours = _np(keras.Model(twin.input, twin.get_layer(f"sign{index}").output)(x))
        theirs = _np(keras.Model(model.input, model.get_layer(f"act{index}").output)(x))
        np.testing.assert_array_equal(ours, (theirs + 1) / 2)
    outputs = twin(x)
    np.testing.assert_allclose(_np(outputs["logits"]), _np(model(x)), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(scores_to_logits(model, _np(outputs["scores"])), _np(model(x)),
                               rtol=1e-5, atol=1e-5)
    # Every hidden kernel is +-2 (first: +-255) per output row: +-127 times a row scale in int8.
    np.testing.assert_array_equal(np.unique(np.abs(_np(twin.get_layer("dense0").kernel))), [255])
    np.testing.assert_array_equal(np.unique(np.abs(_np(twin.get_layer("dense1").kernel))), [2])


def test_refuses_non_binary_models():
    with pytest.raises(ValueError, match="binary"):
        int8_twin(qnn_mlp(hidden_units=(8,), input_shape=(8, 8), activations="float"))
    with pytest.raises(ValueError, match="binary"):
        int8_twin(qnn_mlp(hidden_units=(8,), input_shape=(8, 8), weights="float"))


@pytest.fixture(scope="module")
def trained_kbit_mlp():
    """A binary-weight MLP with 2-bit then 3-bit LinearQuant activations, fitted briefly, and
    inputs for it (its own training images and fresh ones)."""
    from tfmodels.models.qnn.mlp import qnn_mlp as build
    from tfmodels.quantization import ActivationQuantizer as Act, LinearQuant

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(3)
    x, y = pixels(rng, 40), rng.integers(0, 10, 40)
    model = build(hidden_units=(24, 20), input_shape=INPUT_SHAPE, activations="linear2", seed=2)
    # The second hidden activation at 3 bits (7 steps): levels that differ per layer.
    model.get_layer("act1").quantizer = LinearQuant(bits=3)
    assert isinstance(model.get_layer("act1"), Act)
    fit(model, x, y, epochs=2)
    return model, np.concatenate([x, pixels(np.random.default_rng(4), 300)])


@pytest.mark.multibackend
def test_twin_computes_kbit_levels_exactly(trained_kbit_mlp):
    """k-bit LinearQuant activations: each unit becomes 2^k - 1 step units on the integer
    pre-activation grid whose sum is the model's level index, exactly."""
    model, x = trained_kbit_mlp
    twin = int8_twin(model)
    for index, count in ((0, 3), (1, 7)):
        steps = _np(keras.Model(twin.input, twin.get_layer(f"sign{index}").output)(x))
        theirs = _np(keras.Model(model.input, model.get_layer(f"act{index}").output)(x))
        assert set(np.unique(steps)) <= {0.0, 1.0}
        level = steps.reshape(len(x), count, -1).sum(1)
        np.testing.assert_array_equal(level, np.rint((theirs + 1) * count / 2))
        # Not a constant model: several levels occur.
        assert len(np.unique(level)) > 2
    outputs = twin(x)
    np.testing.assert_allclose(scores_to_logits(model, _np(outputs["scores"])), _np(model(x)),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(_np(outputs["logits"]), _np(model(x)), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(np.unique(np.abs(_np(twin.get_layer("dense1").kernel))), [2])


def test_kbit_int8_tflite_predicts_exactly_like_keras(trained_kbit_mlp, tmp_path):
    """TensorFlow only (the conversion): the int8 file's scores give Keras's logits."""
    from tfmodels.export import export_tflite
    from tfmodels.export.runtime import LiteRTRunner

    model, x = trained_kbit_mlp
    report = export_tflite(int8_twin(model), str(tmp_path / "qnn.tflite"), mode="int8",
                           representative_data=x[:40])
    runner = LiteRTRunner(report.path)
    device = runner.predict({runner.input_names[0]: x})
    keras_logits = model.predict(x, verbose=0)
    np.testing.assert_array_equal(device["scores"], np.rint(device["scores"]))
    logits = scores_to_logits(model, device["scores"])
    np.testing.assert_array_equal(logits.argmax(-1), keras_logits.argmax(-1))
    np.testing.assert_allclose(logits, keras_logits, rtol=1e-5, atol=1e-5)


def test_int8_tflite_predicts_exactly_like_keras(trained_binary_mlp, tmp_path):
    """TensorFlow only: the conversion (other backends reach it through a TensorFlow child
    process, tested in tests/export)."""
    from tfmodels.export import export_tflite
    from tfmodels.export.runtime import LiteRTRunner

    model, x, _ = trained_binary_mlp
    test = pixels(np.random.default_rng(6), 300)
    report = export_tflite(int8_twin(model), str(tmp_path / "bnn.tflite"), mode="int8",
                           representative_data=x)
    runner = LiteRTRunner(report.path)
    device = runner.predict({runner.input_names[0]: test})
    keras_logits = model.predict(test, verbose=0)
    # The exact path: integer agreement counts from int8, the last BatchNorm on the host.
    np.testing.assert_array_equal(device["scores"], np.rint(device["scores"]))
    logits = scores_to_logits(model, device["scores"])
    np.testing.assert_array_equal(logits.argmax(-1), keras_logits.argmax(-1))
    np.testing.assert_allclose(logits, keras_logits, rtol=1e-5, atol=1e-5)

    # The drop-in int8 logits: every binary activation before them is exact, so each logit is
    # within half an output step of Keras's (one flipped hidden sign moves a logit by 2 |alpha|,
    # several steps), and the argmax can differ only where the top two are within a step.
    details = runner.interpreter.get_tensor_details()
    (out,) = [d for d in details if d["dtype"] == np.int8 and list(d["shape"]) == [1, 10]
              and d["quantization"][0] != 1.0]  # the counts have scale 1
    step, zero_point = out["quantization"]
    lo, hi = (-128 - zero_point) * step, (127 - zero_point) * step
    inside = (keras_logits > lo) & (keras_logits < hi)
    assert inside.mean() > 0.9
    assert np.abs(device["logits"] - keras_logits)[inside].max() <= 0.51 * step
    top2 = np.sort(keras_logits, -1)[:, -2:]
    clear = top2[:, 1] - top2[:, 0] > step
    assert clear.mean() > 0.8
    np.testing.assert_array_equal(device["logits"].argmax(-1)[clear],
                                  keras_logits.argmax(-1)[clear])

    # Stored kernels: +-127 only, i.e. exactly +-scale of their row once dequantized.
    kernels = [d for d in details
               if d["dtype"] == np.int8 and len(d["shape"]) == 2 and d["shape"][0] > 1]
    assert sorted(tuple(k["shape"]) for k in kernels) == [(10, 33), (10, 33), (33, 40), (40, 64)]
    for detail in kernels:
        stored = runner.interpreter.get_tensor(detail["index"])
        np.testing.assert_array_equal(np.unique(stored), [-127, 127])
        scales = detail["quantization_parameters"]["scales"]
        np.testing.assert_array_equal(np.abs(stored * scales[:, None]),
                                      np.broadcast_to(127 * scales[:, None], stored.shape))
