"""Char-LM task with `cell="hm_lstm"`: trains, scores BPC and boundaries, exports step files that
reproduce Keras in LiteRT (float32 exactly, int8 closely)."""

import json
import math

import keras
import numpy as np
import pytest

from tests import testing_utils
from tests.tasks.char_lm_corpus import TEXT, corpus_dir  # noqa: F401 (fixture)
from tfmodels.data.text import CharVocabulary
from tfmodels.export.runtime import LiteRTRunner
from tfmodels.metrics.boundaries import boundary_scores
from tfmodels.models.rnn import HMLSTM, boundary_states, hm_lstm_cells
from tfmodels.tasks.char_lm import (
    build_hm_lstm_lm,
    step_boundaries,
    train_char_lm,
    word_boundary_scores,
)

DEVICE_EVAL_CHARS = 60


@pytest.fixture(scope="module")
def exported(corpus_dir, tmp_path_factory):
    return train_char_lm(data_dir=str(corpus_dir), cell="hm_lstm", units=8, num_layers=2,
                         embedding_dim=8, seq_len=16, batch_size=8, epochs=2,
                         steps_per_epoch=20, learning_rate=0.02, eval_chars=400,
                         device_eval_chars=DEVICE_EVAL_CHARS, boundary_every=10,
                         export_dir=str(tmp_path_factory.mktemp("out")))


def test_learns_and_reports_boundaries(exported):
    vocab = CharVocabulary.load(exported.vocab_path)
    assert exported.test_bpc < 0.9 * math.log2(len(vocab))
    assert set(exported.boundaries) == {"layer_1", "layer_2"}
    for scores in exported.boundaries.values():
        assert 0.0 <= scores["rate"] <= 1.0
    assert "layer_1 boundaries vs spaces" in str(exported)
    # The boundary history: scored every 10 of the 40 batches, written beside the model.
    history = exported.boundary_history
    assert [e["step"] for e in history["entries"]] == [0, 10, 20, 30, 40]
    assert history["references"] == {"space": 1, "newline": 2}
    stem = exported.model_path[: -len(".keras")] + ".boundary_history"
    with open(stem + ".json") as f:
        assert json.load(f)["entries"][-1] == json.loads(json.dumps(history["entries"][-1]))
    assert open(stem + ".png", "rb").read(4) == b"\x89PNG"
    model = keras.saving.load_model(exported.model_path)
    # Two epochs: the annealing callback set the slope of the second one.
    assert float(keras.ops.convert_to_numpy(hm_lstm_cells(model)[0].slope)) == pytest.approx(1.04)


@pytest.mark.parametrize("mode", ["float32", "int8"])
def test_step_files_reproduce_keras(exported, mode):
    vocab = CharVocabulary.load(exported.vocab_path)
    ids = vocab.encode(TEXT)[:DEVICE_EVAL_CHARS]
    model = keras.saving.load_model(exported.model_path)
    keras_logits = np.asarray(model.predict(ids[None], verbose=0))[0]
    logits = testing_utils.run_step_tflite(exported.tflite[mode].path, ids)
    ops = set(exported.tflite[mode].op_types)
    assert "GREATER" in ops and "WHILE" not in ops  # the boundary is a comparison
    if mode == "float32":
        np.testing.assert_allclose(logits, keras_logits, atol=1e-4)
    else:
        agreement = np.mean(logits.argmax(-1) == keras_logits.argmax(-1))
        assert agreement >= 0.9, agreement
    assert exported.device_bpc[mode] == pytest.approx(exported.device_bpc["keras"],
                                                      abs=0.02 if mode == "float32" else 0.5)


@pytest.mark.parametrize("mode", ["float32", "int8"])
def test_step_file_boundaries_match_keras(exported, mode):
    """The step file carries each layer's boundary as a state: float32 equals Keras's at every
    step; int8 (activations and states quantized) agrees at most steps."""
    vocab = CharVocabulary.load(exported.vocab_path)
    ids = vocab.encode(TEXT)[:DEVICE_EVAL_CHARS]
    model = keras.saving.load_model(exported.model_path)
    keras_z = boundary_states(model, ids[None])[0]
    z = step_boundaries(exported.tflite[mode].path, ids)
    assert z.shape == keras_z.shape == (DEVICE_EVAL_CHARS, 2)
    assert 0.0 < keras_z.mean() < 1.0  # both values occur: the comparison can fail
    if mode == "float32":
        np.testing.assert_array_equal(z, keras_z)
    else:
        # Measured 100% per layer here (60 and 400 characters); int8 states can flip a
        # boundary whose pre-activation is near 0, hence the margin.
        agreement = (z == keras_z).mean(0)
        assert np.all(agreement >= 0.9), agreement


def test_ternary_step_file_is_exact_in_float32(tmp_path):
    """Quantized HM-LSTM weights are baked into the step file (bake_quantized_weights)."""
    from tfmodels.export import rnn as rnn_export

    model = build_hm_lstm_lm(12, quantizer="ternary", units=6, num_layers=2, embedding_dim=4)
    ids = np.random.default_rng(0).integers(1, 12, size=20).astype("int32")
    report = rnn_export.export_step_tflite(model, str(tmp_path / "step.tflite"))
    logits = rnn_export.run_step_tflite(report.path, ids)
    expected = np.asarray(model.predict(ids[None], verbose=0))[0]
    np.testing.assert_allclose(logits, expected, atol=1e-4)
    names = [n for n in LiteRTRunner(report.path).input_names if n != "x"]
    assert sorted(names) == sorted(f"hm_lstm_{k}{l}" for l in range(2) for k in "hcz")


def test_word_boundary_scores_reference():
    vocab = CharVocabulary.build("ab \n")
    model = build_hm_lstm_lm(len(vocab), units=4, num_layers=2, embedding_dim=2)
    ids = vocab.encode("ab a\nba b " * 4)
    scores = word_boundary_scores(model, ids, vocab, seq_len=10)
    windows = ids[:40].reshape(4, 10)
    z = keras.Model(model.inputs, model.get_layer("hm_lstm").output).predict(windows, verbose=0)
    reference = np.isin(windows, vocab.encode(" \n"))
    assert scores["layer_2"] == boundary_scores(z[..., -1], reference)
    assert isinstance(model.get_layer("hm_lstm"), HMLSTM)


def test_bad_cell_and_layer_norm_fail_before_work(tmp_path):
    with pytest.raises(ValueError, match="cell"):
        train_char_lm(data_dir=str(tmp_path / "missing"), cell="hmlstm")
    with pytest.raises(ValueError, match="layer_norm"):
        train_char_lm(data_dir=str(tmp_path / "missing"), cell="lstm", layer_norm=True)
    assert not (tmp_path / "missing").exists()
