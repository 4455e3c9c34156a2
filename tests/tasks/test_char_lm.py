"""Char-LM task: trains on a small corpus, scores BPC, and its step .tflite files agree with Keras.

One exported run (`exported`, module-scoped) is shared by the tests that check its result; its
step files are re-run here in the LiteRT interpreter and scored by hand.
"""

import math

import numpy as np
import pytest

from tests import testing_utils
from tests.tasks.char_lm_corpus import TEXT, corpus_dir  # noqa: F401 (fixture)
from tfmodels.data.text import CharVocabulary
from tfmodels.tasks.char_lm import build_char_lm, evaluate_bpc, train_char_lm

DEVICE_EVAL_CHARS = 120


@pytest.fixture(scope="module")
def exported(corpus_dir, tmp_path_factory):
    return train_char_lm(data_dir=str(corpus_dir), cell="lstm", quantizer="ternary",
                         units=16, embedding_dim=8, seq_len=16, batch_size=8, epochs=1,
                         steps_per_epoch=40, learning_rate=0.02,
                         device_eval_chars=DEVICE_EVAL_CHARS,
                         export_dir=str(tmp_path_factory.mktemp("out")))


def _bits_per_character(targets, logits):
    """Mean of -log2 softmax(logits)[target], by hand."""
    logits = logits - logits.max(-1, keepdims=True)
    log_softmax = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    return float(-np.mean(log_softmax[np.arange(len(targets)), targets]) / math.log(2))


def test_bits_per_character_by_hand():
    # Uniform over 4 symbols: 2 bits; a sure right guess: 0 bits.
    assert _bits_per_character(np.array([1, 3]), np.zeros((2, 4))) == pytest.approx(2.0)
    assert _bits_per_character(np.array([2]), np.array([[0.0, 0.0, 50.0]])) == pytest.approx(
        0.0, abs=1e-12)


def test_learns_the_repetitive_text(exported):
    vocab = CharVocabulary.load(exported.vocab_path)
    assert exported.test_bpc < 0.8 * math.log2(len(vocab))


@pytest.mark.parametrize("mode", ["float32", "int8"])
def test_device_bpc_is_that_of_the_step_file(exported, mode):
    vocab = CharVocabulary.load(exported.vocab_path)
    held_out = vocab.encode(TEXT)[: DEVICE_EVAL_CHARS + 1]
    logits = testing_utils.run_step_tflite(exported.tflite[mode].path, held_out[:-1])
    assert exported.device_bpc[mode] == pytest.approx(
        _bits_per_character(held_out[1:], logits), abs=1e-4)


def test_step_files_score_like_keras_and_need_no_flex_ops(exported):
    bpc = exported.device_bpc
    assert bpc["float32"] == pytest.approx(bpc["keras"], abs=1e-4)
    assert abs(bpc["int8"] - bpc["keras"]) < 0.05
    assert not any(op.startswith("Flex") for op in exported.tflite["int8"].op_types)


def test_evaluate_bpc_of_untrained_model_is_near_uniform():
    model = build_char_lm(20, cell="rnn", units=4, embedding_dim=4, seed=0)
    ids = np.random.default_rng(0).integers(0, 20, 200).astype("int32")
    assert evaluate_bpc(model, ids, seq_len=10) == pytest.approx(math.log2(20), abs=0.3)


def test_bad_arguments(tmp_path):
    with pytest.raises(FileNotFoundError):
        train_char_lm(data_dir=str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="quantizer"):
        build_char_lm(10, quantizer="int3")
    with pytest.raises(ValueError, match="cell"):
        build_char_lm(10, cell="transformer")


def test_a_split_shorter_than_one_window_is_refused_before_training(tmp_path):
    for split, text in (("train", "abc def " * 50), ("valid", "abc"), ("test", "def abc " * 20)):
        (tmp_path / f"{split}.txt").write_text(text)
    export_dir = tmp_path / "export"
    with pytest.raises(ValueError, match="the valid split .* has 3 characters, fewer than"):
        train_char_lm(data_dir=str(tmp_path), seq_len=16, export_dir=str(export_dir))
    assert not export_dir.exists()
