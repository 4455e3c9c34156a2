"""Char-LM task: trains on a small corpus, scores BPC, and its step .tflite files agree with Keras."""

import math

import numpy as np
import pytest

from tfmodels.data.text import CharVocabulary
from tfmodels.tasks.char_lm import build_char_lm, evaluate_bpc, train_char_lm

TEXT = "the cat sat on the mat. a dog ate the hat.\n" * 30


@pytest.fixture()
def corpus_dir(tmp_path):
    directory = tmp_path / "text"
    directory.mkdir()
    for split in ("train", "valid", "test"):
        (directory / f"{split}.txt").write_text(TEXT)
    return directory


def test_train_export_and_device_bpc(corpus_dir, tmp_path):
    result = train_char_lm(data_dir=str(corpus_dir), cell="lstm", quantizer="ternary",
                           units=16, embedding_dim=8, seq_len=16, batch_size=8, epochs=1,
                           steps_per_epoch=40, learning_rate=0.02, device_eval_chars=120,
                           export_dir=str(tmp_path / "out"))
    vocab = CharVocabulary.load(result.vocab_path)
    uniform = math.log2(len(vocab))
    # Learned something on a repetitive text.
    assert result.test_bpc < 0.8 * uniform
    bpc = result.device_bpc
    assert bpc["float32"] == pytest.approx(bpc["keras"], abs=1e-4)
    assert abs(bpc["int8"] - bpc["keras"]) < 0.05
    assert not any(op.startswith("Flex") for op in result.tflite["int8"].op_types)


def test_evaluate_bpc_of_untrained_model_is_near_uniform(corpus_dir):
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
