"""Fused-LSTM export: one UNIDIRECTIONAL_SEQUENCE_LSTM per layer, builtin ops, agreement with
Keras (float32 exact, int8 within 0.05 BPC), state carried across invokes until reset. Also the
step export's per-tensor int8 option (`per_channel_dense=False`): exact ternary kernels, BPC,
file size."""

import keras
import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema
from ai_edge_litert.interpreter import Interpreter

from tfmodels.data.text import CharVocabulary
from tfmodels.export import rnn as rnn_export
from tfmodels.metrics.language import bits_per_character
from tfmodels.models.rnn import char_lm, quantizers

VOCAB = CharVocabulary.build("abcdefghij \n")
SEQ_LEN = 20
BUILTIN_OPS = {name for name, value in vars(schema.BuiltinOperator).items()
               if not name.startswith("_") and name != "CUSTOM"}


def _text_ids(n, seed):
    # A repetitive text so that a few training steps give a model with real preferences.
    words = ["abc ", "deaf ", "bad ", "cafe\n", "jig "]
    rng = np.random.default_rng(seed)
    return VOCAB.encode("".join(rng.choice(words, n))).astype("int32")


@pytest.fixture(scope="module")
def fused(tmp_path_factory):
    keras.utils.set_random_seed(0)
    model = char_lm(len(VOCAB), cell="lstm", units=16, embedding_dim=8, seed=0,
                    **quantizers("ternary"))
    model.compile(keras.optimizers.Adam(0.02),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    ids = _text_ids(400, seed=0)
    windows = np.stack([ids[i : i + 11] for i in range(0, 1000, 5)])
    model.fit(windows[:, :-1], windows[:, 1:], batch_size=32, epochs=4, verbose=0)
    directory = tmp_path_factory.mktemp("fused")
    # Consecutive windows of one text: calibration carries the state from one to the next.
    calibration = _text_ids(60, seed=1)[: 4 * SEQ_LEN].reshape(4, SEQ_LEN)
    reports = {
        mode: rnn_export.export_fused_lstm_tflite(
            model, str(directory / f"fused.{mode}.tflite"), SEQ_LEN, mode,
            representative_data=calibration)
        for mode in ("float32", "int8")
    }
    return model, reports


def _runner(report):
    interpreter = Interpreter(model_path=report.path)
    return interpreter, interpreter.get_signature_runner()


def _stream(runner, ids):
    """Logits of `ids` fed as consecutive `SEQ_LEN` windows (one invoke each)."""
    windows = ids.reshape(-1, 1, SEQ_LEN)
    return np.concatenate([runner(ids=w)["logits"][0] for w in windows])


def test_files_are_fused_builtin_and_int8(fused):
    _, reports = fused
    for report in reports.values():
        assert report.op_types.get("UNIDIRECTIONAL_SEQUENCE_LSTM") == 1
        assert set(report.op_types) <= BUILTIN_OPS, report.op_types
        assert report.inputs == [("ids", (1, SEQ_LEN), "int32")]
        assert report.outputs == [("logits", (1, SEQ_LEN, len(VOCAB)), "float32")]
    interpreter, _ = _runner(reports["int8"])
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    (lstm,) = [op for op in interpreter._get_ops_details()
               if op["op_name"] == "UNIDIRECTIONAL_SEQUENCE_LSTM"]
    dtypes = [tensors[i]["dtype"] for i in lstm["inputs"] if i >= 0]
    # Input, 8 gate matrices int8; h (int8) and c (int16) are the op's variable tensors.
    assert dtypes[:9] == [np.int8] * 9
    assert np.int16 in dtypes
    assert np.float32 not in dtypes


def test_ternary_weights_survive_int8_exactly(fused):
    model, reports = fused
    interpreter, _ = _runner(reports["int8"])
    tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
    (lstm,) = [op for op in interpreter._get_ops_details()
               if op["op_name"] == "UNIDIRECTIONAL_SEQUENCE_LSTM"]
    kernel, recurrent, _ = (np.asarray(w) for w in model.get_layer("lstm_0").cell.quantized_weights())
    # The op's inputs 1-4 / 5-8: input / recurrent matrices of gates i, f, c, o, (units, in).
    expected = np.split(kernel.T, 4) + np.split(recurrent.T, 4)
    for index, want in zip(lstm["inputs"][1:9], expected):
        detail = tensors[index]
        scale = detail["quantization_parameters"]["scales"]
        stored = interpreter.get_tensor(index)
        assert set(np.unique(stored)) <= {-127, 0, 127}
        np.testing.assert_allclose(stored * scale[0], want, rtol=1e-6, atol=1e-7)


def test_float32_stream_matches_keras_and_int8_bpc_within_0_05(fused):
    model, reports = fused
    ids = _text_ids(100, seed=7)[: 5 * SEQ_LEN + 1]  # held out: another draw of the text
    x, y = ids[:-1], ids[1:]
    keras_logits = np.asarray(model(x[None]))[0]
    keras_bpc = bits_per_character(y, keras_logits, from_logits=True)
    # The model has learned something, so the comparison is not between two uniform guesses.
    assert keras_bpc < 0.8 * np.log2(len(VOCAB))
    _, runner = _runner(reports["float32"])
    np.testing.assert_allclose(_stream(runner, x), keras_logits, atol=1e-4)
    _, runner = _runner(reports["int8"])
    int8_bpc = bits_per_character(y, _stream(runner, x), from_logits=True)
    assert abs(int8_bpc - keras_bpc) < 0.05, (int8_bpc, keras_bpc)


@pytest.mark.parametrize("mode", ["float32", "int8"])
def test_state_carries_across_invokes_until_reset(fused, mode):
    model, reports = fused
    window = _text_ids(30, seed=3)[:SEQ_LEN][None]
    interpreter, runner = _runner(reports[mode])
    first = runner(ids=window)["logits"]
    second = runner(ids=window)["logits"]
    # The second invoke continues the stream: it is the window's second pass through Keras.
    twice = np.asarray(model(np.concatenate([window, window], axis=1)))
    assert np.abs(second - first).max() > 0.1
    tolerance = 1e-4 if mode == "float32" else 0.2 * np.abs(twice).max()
    np.testing.assert_allclose(second[0], twice[0, SEQ_LEN:], atol=tolerance)
    interpreter.reset_all_variables()
    np.testing.assert_array_equal(runner(ids=window)["logits"], first)


def test_refuses_what_cannot_fuse(fused, tmp_path):
    model, _ = fused
    gru = char_lm(len(VOCAB), cell="gru", units=4, embedding_dim=4, seed=0)
    with pytest.raises(ValueError, match="gru_0"):
        rnn_export.export_fused_lstm_tflite(gru, str(tmp_path / "g.tflite"), SEQ_LEN)
    with pytest.raises(ValueError, match="representative_data"):
        rnn_export.export_fused_lstm_tflite(model, str(tmp_path / "m.tflite"), SEQ_LEN, "int8")
    with pytest.raises(ValueError, match="representative_data"):
        rnn_export.export_fused_lstm_tflite(model, str(tmp_path / "m.tflite"), SEQ_LEN, "int8",
                                            representative_data=np.zeros((2, 7), "int32"))
    with pytest.raises(ValueError, match="mode"):
        rnn_export.export_fused_lstm_tflite(model, str(tmp_path / "m.tflite"), SEQ_LEN, "int4")
    assert not list(tmp_path.iterdir())


# Step export with one scale per FULLY_CONNECTED kernel ---------------------------------------


def _int8_kernels(path):
    """`[(int8 values, scales)]` of the 2-D int8 constant tensors of a .tflite file."""
    interpreter = Interpreter(model_path=path)
    out = []
    for detail in interpreter.get_tensor_details():
        scales = detail["quantization_parameters"]["scales"]
        if detail["dtype"] != np.int8 or len(detail["shape"]) != 2 or not len(scales):
            continue
        try:
            out.append((interpreter.get_tensor(detail["index"]), scales))
        except ValueError:  # an activation, not a constant
            continue
    return out


def test_per_tensor_step_int8_keeps_ternary_exact_and_is_under_0_3_of_float32(tmp_path):
    model = char_lm(40, cell="lstm", units=128, embedding_dim=32, seed=0,
                    **quantizers("ternary"))
    calibration = np.arange(8, dtype="int32").reshape(2, 4)
    reports = {
        mode: rnn_export.export_step_tflite(model, str(tmp_path / f"{mode}.tflite"), mode,
                                            representative_data=calibration,
                                            per_channel_dense=False)
        for mode in ("float32", "int8")
    }
    assert reports["int8"].size_bytes <= 0.3 * reports["float32"].size_bytes
    kernels = _int8_kernels(reports["int8"].path)
    assert kernels and all(len(scales) == 1 for _, scales in kernels)
    kernel, recurrent, _ = model.get_layer("lstm_0").cell.quantized_weights()
    for want in (np.asarray(kernel).T, np.asarray(recurrent).T):
        (stored, scales), = [(v, s) for v, s in kernels if v.shape == want.shape]
        assert set(np.unique(stored)) == {-127, 0, 127}
        np.testing.assert_allclose(stored * scales[0], want, rtol=1e-6)


def test_per_tensor_step_int8_reproduces_keras_bpc(fused, tmp_path):
    model, _ = fused
    calibration = _text_ids(60, seed=1)[: 4 * SEQ_LEN].reshape(4, SEQ_LEN)
    report = rnn_export.export_step_tflite(model, str(tmp_path / "step.tflite"), "int8",
                                           representative_data=calibration,
                                           per_channel_dense=False)
    ids = _text_ids(100, seed=7)[: 5 * SEQ_LEN + 1]
    x, y = ids[:-1], ids[1:]
    keras_bpc = bits_per_character(y, np.asarray(model(x[None]))[0], from_logits=True)
    device_bpc = bits_per_character(y, rnn_export.run_step_tflite(report.path, x),
                                    from_logits=True)
    assert abs(device_bpc - keras_bpc) < 0.05, (device_bpc, keras_bpc)
