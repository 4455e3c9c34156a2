"""Char-LM task with `training="professor"|"scheduled"`: the trained LM is an ordinary char-LM
whose int8 step model exports through the usual path and samples text in LiteRT."""

import numpy as np
import pytest

from tests.tasks.char_lm_corpus import TEXT, corpus_dir  # noqa: F401 (fixture)
from tfmodels.data.text import CharVocabulary
from tfmodels.export.rnn import run_step_tflite
from tfmodels.tasks.char_lm import sample_text, train_char_lm


@pytest.fixture(scope="module")
def exported(corpus_dir, tmp_path_factory):
    from tfmodels.models.rnn import behaviour_discriminator

    disc = behaviour_discriminator(16, units=8, rnn_layers=1, dense_layers=1, seed=0)
    return train_char_lm(data_dir=str(corpus_dir), cell="lstm", units=16, embedding_dim=8,
                         seq_len=16, batch_size=8, epochs=1, steps_per_epoch=40,
                         learning_rate=0.02, device_eval_chars=80, training="professor",
                         training_options={"discriminator": disc},
                         # As the CLI runs it: resumable training (BackupAndRestore).
                         work_dir=str(tmp_path_factory.mktemp("run")),
                         export_dir=str(tmp_path_factory.mktemp("out")))


def test_professor_forcing_trains_the_lm(exported):
    # Uniform over the corpus's characters would be log2(19) = 4.2 bits.
    assert exported.test_bpc < 2.5


def test_int8_step_model_scores_like_keras_and_samples_in_litert(exported):
    assert abs(exported.device_bpc["int8"] - exported.device_bpc["keras"]) < 0.15
    assert abs(exported.device_bpc["float32"] - exported.device_bpc["keras"]) < 1e-3
    vocab = CharVocabulary.load(exported.vocab_path)
    text = sample_text(exported.tflite["int8"].path, vocab, "the ", length=60, seed=1)
    assert len(text) == 60 and set(text) <= set(TEXT)
    # The file is the generator alone: a step model with no discriminator inputs.
    logits = run_step_tflite(exported.tflite["int8"].path, np.asarray(vocab.encode("the c")))
    assert logits.shape == (5, len(vocab))


def test_training_argument_is_checked_before_work(corpus_dir, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(ValueError, match="training"):
        train_char_lm(data_dir=str(corpus_dir), training="professors", export_dir=str(out))
    with pytest.raises(ValueError, match="cell"):
        train_char_lm(data_dir=str(corpus_dir), cell="gru", training="scheduled",
                      export_dir=str(out))
    assert not out.exists()
