"""HM-LSTM experiments: the synthetic language's known boundaries, parameter matching, a tiny run
with its table and figure."""

import numpy as np
import pytest

from tfmodels.data.text import CharVocabulary
from tfmodels.tasks import hm_lstm_experiment as exp
from tfmodels.tasks.char_lm import build_char_lm, build_hm_lstm_lm


def test_synthetic_language_marks_its_words():
    text, word_ends, sentence_ends = exp.synthetic_language(3000, seed=3)
    assert len(text) == len(word_ends) == len(sentence_ends) == 3000
    assert " " not in text
    dots = np.array([c == "." for c in text])
    np.testing.assert_array_equal(sentence_ends, dots)
    assert np.all(word_ends[dots])
    # The words between the marks come from a lexicon of 16.
    words, start = set(), 0
    for t in np.flatnonzero(word_ends):
        words.add(text[start : t + 1])
        start = t + 1
    assert len(words - {"."}) <= 16
    again = exp.synthetic_language(3000, seed=3)
    assert again[0] == text
    assert exp.synthetic_language(3000, seed=4)[0] != text


def test_lstm_units_match_parameters():
    target = build_hm_lstm_lm(40, units=16, num_layers=3, embedding_dim=8).count_params()
    u = exp.lstm_units_for(target, 40, 3, 8)
    params = [build_char_lm(40, units=v, num_layers=3, embedding_dim=8).count_params()
              for v in (u - 1, u, u + 1)]
    assert abs(params[1] - target) == min(abs(p - target) for p in params)


def test_tiny_synthetic_run_table_and_figure(tmp_path):
    rows = exp.compare_synthetic(seeds=(0,), models=("hm_lstm",), out_dir=str(tmp_path),
                                 units=4, steps=2, seq_len=16, train_chars=2000,
                                 eval_chars=320)
    (row,) = rows
    assert row["model"] == "hm_lstm" and row["valid_bpc"] > 0
    assert set(row["boundaries"]) == {"layer_1/word_end", "layer_1/word_start",
                                      "layer_2/sentence_end", "layer_2/word_end_l2"}
    # A rerun reads the finished run back instead of training again.
    assert exp.compare_synthetic(seeds=(0,), models=("hm_lstm",), out_dir=str(tmp_path),
                                 units=4, steps=2, seq_len=16, train_chars=2000,
                                 eval_chars=320) == rows
    assert "| synthetic | hm_lstm | 0 |" in exp.results_table(rows)
    vocab = CharVocabulary.build("ab. ")
    model = build_hm_lstm_lm(len(vocab), units=4, num_layers=2, embedding_dim=2)
    z = exp.boundary_figure(model, vocab, "ab ba. " * 12, str(tmp_path / "fig.png"))
    assert z.shape == (84, 2)
    assert (tmp_path / "fig.png").read_bytes()[:4] == b"\x89PNG"


def test_chance_f1():
    # Reference rate 0.25, predicted rate 0.5 at random: precision 0.25, recall 0.5.
    scores = {"rate": 0.5, "precision": 0.25, "recall": 0.5, "f1": 1 / 3}
    assert exp.chance_f1(scores) == pytest.approx(1 / 3)
    assert exp.chance_f1({"rate": 0.0, "precision": 0.0, "recall": 0.0, "f1": 0.0}) == 0.0


def test_unknown_model_is_refused():
    with pytest.raises(ValueError, match="model_name"):
        exp.train_run("gru", np.zeros(100, "int32"), np.zeros(100, "int32"), 5)


def test_device_check_float32_matches_keras(tmp_path):
    vocab = CharVocabulary.build("ab. ")
    ids = vocab.encode("ab ba. " * 30)
    corpus = type("Corpus", (), {"train": ids, "test": ids})()
    model = build_hm_lstm_lm(len(vocab), units=4, num_layers=2, embedding_dim=2)
    out = exp.device_check(model, corpus, str(tmp_path), chars=40, seq_len=8)
    assert out["float32"]["bpc"] == pytest.approx(out["keras"]["bpc"], abs=1e-4)
    assert out["float32"]["argmax_agreement"] == 1.0
    assert np.isfinite(out["int8"]["bpc"]) and 0.0 <= out["int8"]["argmax_agreement"] <= 1.0
    # The float32 file's boundaries (its z states) are Keras's, step for step.
    assert out["float32"]["boundary_agreement"] == [1.0, 1.0]
    assert any(0.0 < r < 1.0 for r in out["keras"]["boundary_rate"])  # not a trivial match
    assert len(out["int8"]["boundary_agreement"]) == len(out["keras"]["boundary_rate"]) == 2


def test_tiny_synthetic_run_with_boundary_history(tmp_path):
    # 12 epochs of one batch (train_run splits `steps` over 12 epochs).
    kwargs = dict(seeds=(0,), models=("hm_lstm",), units=4, steps=12, seq_len=16,
                  train_chars=2000, eval_chars=320)
    first = exp.compare_synthetic(out_dir=str(tmp_path), **kwargs)
    assert "boundary_history" not in first[0]
    # Asking for the history reruns a finished run that lacks it.
    (row,) = exp.compare_synthetic(out_dir=str(tmp_path), boundary_every=4, **kwargs)
    history = row["boundary_history"]
    assert [e["step"] for e in history["entries"]] == [0, 4, 8, 12]
    assert history["entries"][-1]["slope"] == pytest.approx(5.0)  # annealed 1 -> 5
    assert history["references"] == {"word_end": 1, "word_start": 1, "sentence_end": 2}
    # The last scoring is the trained model's: it equals the final report on the same
    # characters (the history reads the first HISTORY_CHARS of the same held-out text).
    assert history["entries"][-1]["scores"]["word_end"]["f1"] == pytest.approx(
        row["boundaries"]["layer_1/word_end"]["f1"])
    assert (tmp_path / "synthetic" / "hm_lstm__0.history.json").exists()
    table = exp.history_table([row])
    assert "| synthetic | annealed | 0 | 4 points, steps 0-12 |" in table
    png = exp.history_figure([row], str(tmp_path / "history.png"))
    assert open(png, "rb").read(4) == b"\x89PNG"
    with pytest.raises(ValueError, match="boundary_history"):
        exp.history_figure(first, str(tmp_path / "none.png"))


def test_tiny_rate_penalized_run():
    text, word_ends, _ = exp.synthetic_language(3000, seed=1)
    vocab = CharVocabulary.build(text)
    ids = vocab.encode(text)
    model, bpc, _ = exp.train_run("hm_lstm_rate", ids[:2000], ids[2000:], len(vocab), units=4,
                                  num_layers=2, embedding_dim=4, seq_len=16, batch_size=4,
                                  steps=12)
    assert np.isfinite(bpc)
    # The trained model is the plain language model (the penalty lives in a training twin).
    assert model.output.shape[-1] == len(vocab) and len(model.outputs) == 1
