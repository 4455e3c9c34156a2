"""Tests for tfmodels.export.tflite: modes, weight dtypes, QAT int8, Flex refusal, atomicity."""

import os

import keras
import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter
from keras import layers

from tfmodels.export import export_tflite, verify_tflite
from tfmodels.quantization import ActivationQuantizer, QuantConv2D, QuantDense, Ternary, Uniform


def _mlp(width=64):
    # Dense kernels of >= 1024 weights: the converter leaves smaller ones float in the
    # float16 / dynamic-range modes.
    inputs = keras.Input((32,), name="features")
    hidden = layers.Dense(width, activation="relu")(inputs)
    return keras.Model(inputs, layers.Dense(5, name="logits")(hidden))


def _run(path, x):
    runner = Interpreter(model_path=str(path)).get_signature_runner()
    name = next(iter(runner.get_input_details()))
    return np.concatenate([next(iter(runner(**{name: x[i : i + 1]}).values())) for i in range(len(x))])


class _Cholesky(keras.layers.Layer):
    """Needs tf.Cholesky, which only Flex kernels provide."""

    def call(self, x):
        gram = keras.ops.eye(3) + keras.ops.einsum("bi,bj->bij", x, x)
        return keras.ops.reshape(keras.ops.cholesky(gram), (-1, 9))


def test_float32_matches_keras_and_reports_contents(tmp_path):
    model = _mlp()
    report = export_tflite(model, tmp_path / "m.tflite")
    assert report.path == str(tmp_path / "m.tflite")
    assert report.mode == "float32"
    assert report.size_bytes == os.path.getsize(tmp_path / "m.tflite")
    assert report.op_types == {"FULLY_CONNECTED": 2}
    assert set(report.tensor_dtypes) == {"float32"}
    assert report.inputs == [("features", (1, 32), "float32")]
    assert report.outputs == [("logits", (1, 5), "float32")]
    assert "FULLY_CONNECTED x2" in str(report)
    x = np.random.default_rng(0).normal(size=(4, 32)).astype("float32")
    np.testing.assert_allclose(_run(tmp_path / "m.tflite", x), model(x), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("mode, weight_dtype", [("float16", "float16"), ("dynamic_int8", "int8")])
def test_weight_only_modes_store_smaller_weights(tmp_path, mode, weight_dtype):
    model = _mlp()
    report = export_tflite(model, tmp_path / "m.tflite", mode=mode)
    assert report.weight_dtypes.get(weight_dtype, 0) >= 1  # the 32x64 kernel at least
    assert report.inputs[0][2] == "float32" and report.outputs[0][2] == "float32"
    float_size = export_tflite(model, tmp_path / "f.tflite").size_bytes
    assert report.size_bytes < 0.6 * float_size
    x = np.random.default_rng(0).normal(size=(4, 32)).astype("float32")
    np.testing.assert_allclose(_run(tmp_path / "m.tflite", x), model(x), atol=0.05)


@pytest.mark.parametrize("int8_io", [False, True])
def test_int8_from_calibration_is_full_integer(tmp_path, int8_io):
    model = _mlp()
    rng = np.random.default_rng(0)
    calibration = rng.normal(size=(16, 32)).astype("float32")
    report = export_tflite(
        model, tmp_path / "m.tflite", mode="int8", representative_data=calibration, int8_io=int8_io
    )
    io_dtype = "int8" if int8_io else "float32"
    assert report.inputs[0][2] == io_dtype and report.outputs[0][2] == io_dtype
    # Float only at the edges (the I/O tensors), int8 everywhere else; the zero biases are
    # dropped (they would be int32).
    assert report.tensor_dtypes.get("float32", 0) == (0 if int8_io else 2)
    assert report.weight_dtypes == {"int8": 2}
    assert report.op_types.get("QUANTIZE", 0) == (0 if int8_io else 1)
    verified = verify_tflite(tmp_path / "m.tflite", model, rng.normal(size=(32, 32)).astype("float32"))
    assert verified.argmax_agreement["logits"] >= 0.9


def test_int8_without_ranges_is_refused_before_converting(tmp_path):
    with pytest.raises(ValueError, match="representative_data"):
        export_tflite(_mlp(), tmp_path / "m.tflite", mode="int8")
    assert os.listdir(tmp_path) == []


def test_flex_ops_are_named_and_nothing_is_written(tmp_path):
    model = keras.Sequential([keras.Input((3,), name="x"), _Cholesky(), layers.Dense(2)])
    with pytest.raises(ValueError, match=r"Flex\) ops .*: Cholesky"):
        export_tflite(model, tmp_path / "m.tflite")
    assert os.listdir(tmp_path) == []
    report = export_tflite(model, tmp_path / "m.tflite", builtin_only=False)
    assert report.op_types.get("FlexCholesky") == 1


def test_failed_conversion_leaves_the_existing_file_untouched(tmp_path):
    path = tmp_path / "m.tflite"
    path.write_bytes(b"previous export")
    model = keras.Sequential([keras.Input((3,), name="x"), _Cholesky(), layers.Dense(2)])
    with pytest.raises(ValueError):
        export_tflite(model, path)
    assert path.read_bytes() == b"previous export"
    assert os.listdir(tmp_path) == ["m.tflite"]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"path": "m.tflite", "mode": "int4"}, ValueError, "mode"),
        ({"path": "m.onnx"}, ValueError, r"\.tflite"),
        ({"path": "missing/m.tflite"}, FileNotFoundError, "missing"),
        ({"path": "m.tflite", "int8_io": True}, ValueError, "int8_io"),
        ({"path": "m.tflite", "mode": "int8", "representative_data": np.zeros((2, 7))}, ValueError, "representative_data"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, error, match):
    kwargs = {**kwargs, "path": tmp_path / kwargs["path"]}
    with pytest.raises(error, match=match):
        export_tflite(_mlp(), **kwargs)
    assert os.listdir(tmp_path) == []


# QAT: a conv net trained a few steps with int8 fake-quant converts to a full-int8 file.


def _quadrants(n, seed):
    """16x16 images whose bright quadrant is the label."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    x = rng.normal(0.0, 0.3, (n, 16, 16, 1)).astype("float32")
    for i, label in enumerate(y):
        row, col = divmod(int(label), 2)
        x[i, row * 8 : row * 8 + 8, col * 8 : col * 8 + 8] += 1.0
    return x, y


def _activations():
    return ActivationQuantizer(Uniform(symmetric=False, narrow_range=False))


def _qat_net():
    inputs = keras.Input((16, 16, 1), name="image")
    x = _activations()(inputs)
    for filters, strides in [(16, 1), (32, 2), (64, 2), (64, 1)]:
        x = QuantConv2D(
            filters, 3, strides=strides, padding="same", use_bias=False,
            kernel_quantizer=Uniform(per_channel=True),
        )(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = _activations()(x)
    x = _activations()(layers.GlobalAveragePooling2D()(x))
    outputs = _activations()(QuantDense(4, kernel_quantizer=Uniform())(x))
    return keras.Model(inputs, outputs)


@pytest.fixture(scope="module")
def qat_model():
    keras.utils.set_random_seed(0)
    model = _qat_net()
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x_train, y_train = _quadrants(256, seed=0)
    model.fit(x_train, y_train, epochs=2, batch_size=32, verbose=0)
    return model


@pytest.fixture(scope="module")
def qat_int8(qat_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("qat") / "qat_int8.tflite"
    return export_tflite(qat_model, path, mode="int8")


def test_qat_conv_net_exports_int8_that_agrees_with_keras(qat_model, qat_int8):
    assert qat_int8.op_types["CONV_2D"] == 4
    assert "BATCH_NORMALIZATION" not in qat_int8.op_types  # folded into the convs
    # Weights int8 (biases int32), activations int8: float only for the I/O tensors.
    assert set(qat_int8.weight_dtypes) == {"int8", "int32"}
    assert qat_int8.tensor_dtypes["float32"] == 2
    assert qat_int8.tensor_dtypes["int8"] > 8
    x_test, _ = _quadrants(200, seed=1)
    report = verify_tflite(qat_int8.path, qat_model, x_test)
    assert report.min_argmax_agreement >= 0.99


def test_qat_ranges_take_precedence_over_calibration(qat_model, tmp_path):
    # Calibration data ten times the training range: calibrated ranges would be far wider.
    x_wide, _ = _quadrants(4, seed=2)
    export_tflite(qat_model, tmp_path / "m.tflite", mode="int8", representative_data=10 * x_wide)
    interpreter = Interpreter(model_path=str(tmp_path / "m.tflite"))
    first = next(d for d in interpreter.get_tensor_details() if d["dtype"] == np.int8 and len(d["shape"]) == 4)
    input_range = qat_model.layers[1]
    lo, hi = float(input_range.range_min.numpy()), float(input_range.range_max.numpy())
    np.testing.assert_allclose(first["quantization_parameters"]["scales"], [(hi - lo) / 255], rtol=1e-3)


def test_int8_file_is_under_a_third_of_float32(qat_model, qat_int8, tmp_path):
    float_report = export_tflite(qat_model, tmp_path / "float.tflite")
    assert qat_int8.size_bytes <= 0.3 * float_report.size_bytes


def test_ternary_weights_stay_exact_in_full_int8(tmp_path):
    keras.utils.set_random_seed(0)
    conv = QuantConv2D(4, 3, kernel_quantizer=Ternary(), use_bias=False)
    dense = QuantDense(3, kernel_quantizer=Ternary())
    inputs = keras.Input((8, 8, 2), name="x")
    model = keras.Model(inputs, dense(layers.Flatten()(layers.ReLU()(conv(inputs)))))
    calibration = np.random.default_rng(0).normal(size=(8, 8, 8, 2)).astype("float32")
    export_tflite(model, tmp_path / "t.tflite", mode="int8", representative_data=calibration)

    interpreter = Interpreter(model_path=str(tmp_path / "t.tflite"))
    interpreter.allocate_tensors()
    weights = {
        tuple(d["shape"]): d for d in interpreter.get_tensor_details() if d["dtype"] == np.int8
    }
    # TFLite layouts: conv (out, h, w, in), fully connected (out, in).
    expected = {
        (4, 3, 3, 2): np.transpose(np.asarray(conv.quantized_kernel()), (3, 0, 1, 2)),
        (3, 144): np.asarray(dense.quantized_kernel()).T,
    }
    for shape, ternary in expected.items():
        detail = weights[shape]
        stored = interpreter.get_tensor(detail["index"])
        params = detail["quantization_parameters"]
        assert set(np.unique(stored)) <= {-127, 0, 127}
        assert np.all(params["zero_points"] == 0)
        scales = params["scales"].reshape((-1,) + (1,) * (len(shape) - 1))
        dequantized = stored.astype(np.float32) * scales.astype(np.float32)
        np.testing.assert_array_equal(np.sign(dequantized), np.sign(ternary))
        # Exact up to the float32 rounding of scale = W0 / 127.
        np.testing.assert_allclose(dequantized, ternary, rtol=2e-7, atol=0)


def _float_content(model, mode):
    from tfmodels.export.tflite import convert

    return convert(model, "float32")


def test_a_file_without_the_promised_int8_types_is_refused(tmp_path):
    from tfmodels.export.tflite import write_tflite

    path = tmp_path / "m.tflite"
    path.write_bytes(b"previous")
    with pytest.raises(ValueError, match="no int8 tensors"):
        write_tflite(_mlp(), path, "int8", _float_content)
    assert path.read_bytes() == b"previous"
    assert os.listdir(tmp_path) == ["m.tflite"]


def test_disk_full_during_export_keeps_the_previous_file(tmp_path, monkeypatch):
    import errno

    model = _mlp()
    path = tmp_path / "m.tflite"
    first = export_tflite(model, path)
    before = path.read_bytes()

    class FullDisk:
        def __init__(self, real):
            self.real = real

        def __call__(self, file, mode="r", *args, **kwargs):
            if "w" in mode and os.path.basename(str(file)).startswith(".m.tflite.tmp-"):
                handle = self.real(file, mode, *args, **kwargs)
                handle.write(b"partial")
                handle.close()
                raise OSError(errno.ENOSPC, "No space left on device", str(file))
            return self.real(file, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", FullDisk(open))
    with pytest.raises(OSError, match="No space left"):
        export_tflite(model, path, mode="float16")
    monkeypatch.undo()
    assert path.read_bytes() == before and first.size_bytes == len(before)
    assert os.listdir(tmp_path) == ["m.tflite"]


@pytest.fixture(scope="module")
def pruned_mlp():
    """A stripped 90%-sparse MLP (pruned once at step 0) and inputs for it."""
    from tfmodels.optimization import sparsity

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((64,), name="x"), layers.Dense(128, activation="relu"),
                              layers.Dense(32)])
    pruned = sparsity.prune_low_magnitude(model, sparsity.ConstantSparsity(0.9, 0))
    x = np.random.default_rng(0).normal(size=(16, 64)).astype("float32")
    pruned(x, training=True)
    return sparsity.strip_pruning(pruned), x


@pytest.mark.parametrize("mode", ["float32", "int8"])
def test_sparse_weights_store_a_pruned_model_smaller_and_compute_the_same(
        pruned_mlp, tmp_path, mode):
    from tfmodels.export.runtime import LiteRTRunner

    model, x = pruned_mlp
    calibration = x if mode == "int8" else None
    dense = export_tflite(model, tmp_path / "dense.tflite", mode, calibration)
    with pytest.warns(UserWarning, match="XNNPACK") if mode == "int8" else _no_warning():
        sparse = export_tflite(model, tmp_path / "sparse.tflite", mode, calibration,
                               sparse_weights=True)
        runner = LiteRTRunner(sparse.path)
        out = runner.predict(x)
    # 90% of the kernels' bytes are zeros: sparse storage saves at least half of them.
    kernel_bytes = sum(np.prod(w.shape) for w in model.weights if len(w.shape) == 2) * (
        4 if mode == "float32" else 1)
    assert dense.size_bytes - sparse.size_bytes > 0.5 * kernel_bytes
    # Same weights, same (builtin) kernels: only the storage differs.
    expected = LiteRTRunner(dense.path, xnnpack=mode == "float32").predict(x)
    (name,) = out
    np.testing.assert_allclose(out[name], expected[name], rtol=1e-5, atol=1e-5)


def _no_warning():
    import contextlib
    import warnings

    @contextlib.contextmanager
    def context():
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)
            yield

    return context()


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_model_exports_as_its_float32_copy(qat_model, tmp_path, policy):
    # Trained under a mixed policy (e.g. on a GPU), exported as float32 / int8: the converter
    # refuses float16 graphs and bfloat16 operands, so the exporter converts a float32 copy.
    from tfmodels.export.tflite import float32_copy

    assert float32_copy(qat_model) is qat_model  # float32 already: no copy
    keras.mixed_precision.set_global_policy(policy)
    try:
        mixed = _qat_net()
    finally:
        keras.mixed_precision.set_global_policy("float32")
    mixed.set_weights(qat_model.get_weights())
    assert {layer.dtype_policy.name for layer in mixed.layers[1:]} == {policy}
    copy = float32_copy(mixed)
    assert {layer.dtype_policy.name for layer in copy.layers} == {"float32"}
    x_test, _ = _quadrants(64, seed=2)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(copy(x_test)), keras.ops.convert_to_numpy(qat_model(x_test)),
        rtol=1e-5, atol=1e-5)
    for mode in ("float32", "int8"):
        report = export_tflite(mixed, tmp_path / f"{mode}.tflite", mode=mode)
        assert not [op for op in report.op_types if op.startswith("Flex")]
        assert verify_tflite(report.path, mixed, x_test).min_argmax_agreement >= 0.95
