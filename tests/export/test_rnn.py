"""RNN export: builtin-only step and sequence .tflite files, exact low-precision weights,
int8 agreement with Keras (BPC, accuracy), file size, sampling."""

import keras
import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

from tfmodels.data.text import CharVocabulary
from tfmodels.export import rnn as rnn_export
from tfmodels.export import verify_tflite
from tfmodels.metrics.language import bits_per_character
from tfmodels.models.rnn import char_lm, quantizers
from tfmodels.tasks.char_lm import sample_text

VOCAB = CharVocabulary.build("abcdefghij \n")


def _text_ids(n, seed):
    # A repetitive text so that a few training steps give a model with real preferences.
    words = ["abc ", "deaf ", "bad ", "cafe\n", "jig "]
    rng = np.random.default_rng(seed)
    return VOCAB.encode("".join(rng.choice(words, n)))


def _trained_char_lm(cell, quantizer, units=16, steps=30, seed=0):
    keras.utils.set_random_seed(seed)
    model = char_lm(len(VOCAB), cell=cell, units=units, embedding_dim=8, seed=seed,
                    **quantizers(quantizer))
    model.compile(keras.optimizers.Adam(0.02),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    ids = _text_ids(400, seed)
    windows = np.stack([ids[i : i + 11] for i in range(0, 1000, 5)])
    # 200 windows, 7 batches an epoch.
    model.fit(windows[:, :-1], windows[:, 1:], batch_size=32, epochs=max(1, steps // 7),
              verbose=0)
    return model


def _dequantized_weights(path):
    """`{tensor name: float array}` of the constant int8 tensors of a .tflite file."""
    interpreter = Interpreter(model_path=path)
    out = {}
    for detail in interpreter.get_tensor_details():
        if detail["dtype"] != np.int8:
            continue
        try:
            value = interpreter.get_tensor(detail["index"])
        except ValueError:
            continue
        q = detail["quantization_parameters"]
        if value.ndim == 2 and len(q["scales"]):
            scales = q["scales"].reshape((-1, 1) if len(q["scales"]) > 1 else (1, 1))
            # Weights are symmetric int8: zero point 0.
            out[detail["name"]] = value.astype(np.float64) * scales
    return out


def _op_names(report):
    return set(report.op_types)


@pytest.fixture(scope="module")
def lstm_export(tmp_path_factory):
    model = _trained_char_lm("lstm", "ternary")
    directory = tmp_path_factory.mktemp("lstm")
    calibration = np.stack([_text_ids(30, s)[:20] for s in (1, 2, 3)])
    reports = {
        mode: rnn_export.export_step_tflite(model, str(directory / f"step.{mode}.tflite"), mode,
                                            representative_data=calibration)
        for mode in ("float32", "int8")
    }
    return model, reports


def test_step_models_are_builtin_and_int8(lstm_export):
    _, reports = lstm_export
    for report in reports.values():
        assert not any(op.startswith("Flex") for op in report.op_types)
        assert "WHILE" not in report.op_types
    assert {"x", "lstm_0_h", "lstm_0_c"} == {name for name, _, _ in reports["int8"].inputs}
    int8 = reports["int8"]
    assert int8.weight_dtypes.get("int8", 0) >= 4 and "float32" not in int8.weight_dtypes
    assert int8.tensor_dtypes["int8"] > int8.tensor_dtypes.get("float32", 0)


def test_int8_step_model_reproduces_keras_bpc(lstm_export):
    model, reports = lstm_export
    ids = _text_ids(200, seed=7)[:201]
    x, y = ids[:-1], ids[1:]
    keras_bpc = bits_per_character(y, np.asarray(model(x[None]))[0], from_logits=True)
    # The model has learned something, so the comparison is not between two uniform guesses.
    assert keras_bpc < 0.8 * np.log2(len(VOCAB))
    for mode, report in reports.items():
        logits = rnn_export.run_step_tflite(report.path, x)
        device_bpc = bits_per_character(y, logits, from_logits=True)
        assert abs(device_bpc - keras_bpc) < (1e-4 if mode == "float32" else 0.05), mode


def test_ternary_weights_survive_int8_exactly(lstm_export):
    model, reports = lstm_export
    cell = model.get_layer("lstm_0").cell
    kernel, recurrent, _ = (np.asarray(w) for w in cell.quantized_weights())
    stored = list(_dequantized_weights(reports["int8"].path).values())
    for expected in (kernel, recurrent):
        matches = [w for w in stored if w.shape == expected.T.shape]
        assert matches, f"no int8 tensor of shape {expected.T.shape}"
        np.testing.assert_allclose(matches[0], expected.T, rtol=1e-6, atol=1e-7)
        # Ternary: the levels {-W0, 0, W0} of one matrix.
        assert len(np.unique(np.round(np.abs(matches[0]), 6))) == 2


@pytest.mark.parametrize("cell, quantizer, exact", [("gru", "pow2_ternary", True),
                                                     ("rnn", "exponential", False)])
def test_int8_weights_of_fixed_level_quantizers(cell, quantizer, exact, tmp_path):
    model = char_lm(len(VOCAB), cell=cell, units=16, embedding_dim=8, seed=1,
                    **quantizers(quantizer))
    layer = model.get_layer(f"{cell}_0")
    layer.cell.recurrent_kernel.assign(
        np.random.default_rng(0).normal(scale=0.4, size=layer.cell.recurrent_kernel.shape))
    report = rnn_export.export_step_tflite(
        model, str(tmp_path / "step.tflite"), "int8",
        representative_data=np.stack([_text_ids(20, 1)[:12]]))
    recurrent = np.asarray(layer.cell.quantized_weights()[1]).T
    stored = [w for w in _dequantized_weights(report.path).values() if w.shape == recurrent.shape]
    assert stored
    error = np.abs(stored[-1] - recurrent).max()
    if exact:
        assert error < 1e-7
    else:
        # Exponential levels are rounded onto the int8 grid: within half a step of max|W|/127.
        assert 0 < error <= np.abs(recurrent).max() / 254 + 1e-7


def test_unrolled_sequence_model_matches_keras(tmp_path):
    model = _trained_char_lm("gru", "ternary", steps=7)
    calibration = np.stack([_text_ids(30, s)[:8] for s in (1, 2, 3, 4)])
    report = rnn_export.export_sequence_tflite(model, str(tmp_path / "seq.tflite"), 8, "int8",
                                               representative_data=calibration)
    assert not any(op.startswith("Flex") or op == "WHILE" for op in report.op_types)
    assert report.inputs[0][1] == (1, 8)
    check = verify_tflite(report.path, rnn_export.bake_quantized_weights(model, 8, True),
                          calibration)
    assert check.min_argmax_agreement >= 0.9


def test_int8_file_is_under_0_3_of_float32(tmp_path):
    # Per-channel int8 kernels carry a float32 scale and an int64 zero point per output channel
    # (12 bytes against 4 * fan_in saved), so the 0.3 ratio needs fan_in well above 100:
    # 128 units give 0.303, 256 units 0.28.
    model = char_lm(40, cell="lstm", units=256, embedding_dim=32, seed=0,
                    **quantizers("pow2_ternary"))
    sizes = {}
    for mode in ("float32", "int8"):
        report = rnn_export.export_step_tflite(
            model, str(tmp_path / f"{mode}.tflite"), mode,
            representative_data=np.zeros((1, 4), "int32") + np.arange(4))
        sizes[mode] = report.size_bytes
    assert sizes["int8"] <= 0.3 * sizes["float32"], sizes


def test_sample_text_is_seeded_and_uses_vocab(lstm_export, tmp_path):
    _, reports = lstm_export
    path = reports["int8"].path
    a = sample_text(path, VOCAB, "ab", length=30, temperature=0.7, seed=3)
    b = sample_text(path, VOCAB, "ab", length=30, temperature=0.7, seed=3)
    assert a == b and len(a) == 30 and set(a) <= set(VOCAB.chars)
    greedy = sample_text(path, VOCAB, "ab", length=30, temperature=1e-3, seed=4)
    assert greedy == sample_text(path, VOCAB, "ab", length=30, temperature=1e-3, seed=9)
    with pytest.raises(ValueError, match="temperature"):
        sample_text(path, VOCAB, "ab", temperature=0)
    with pytest.raises(ValueError, match="vocabulary has"):
        sample_text(path, CharVocabulary.build("xyz"), "x")
    with pytest.raises(FileNotFoundError):
        sample_text(str(tmp_path / "missing.tflite"), VOCAB, "a")


def test_int8_needs_calibration(tmp_path):
    model = char_lm(len(VOCAB), cell="rnn", units=4, embedding_dim=4)
    with pytest.raises(ValueError, match="representative_data"):
        rnn_export.export_step_tflite(model, str(tmp_path / "a.tflite"), "int8")


@pytest.mark.multibackend
def test_step_export_on_the_current_backend_matches_keras(tmp_path):
    # On JAX the conversion runs in a TensorFlow child process (tflite.write_tflite).
    model = char_lm(len(VOCAB), cell="gru", units=8, embedding_dim=4, seed=0)
    ids = (np.arange(12) * 7 % len(VOCAB)).astype("int32")
    report = rnn_export.export_step_tflite(model, str(tmp_path / "step.tflite"))
    assert report.mode == "float32" and "x" in [name for name, _, _ in report.inputs]
    expected = np.asarray(model.predict(ids[None], verbose=0))[0]
    np.testing.assert_allclose(rnn_export.run_step_tflite(report.path, ids), expected,
                               rtol=1e-4, atol=1e-4)
