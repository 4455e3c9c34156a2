"""Interrupted training resumes: tfmodels.tasks.training and every task that uses it."""

import os

import keras
import numpy as np
import pytest

from tfmodels.tasks.char_lm import train_char_lm
from tfmodels.tasks.digits import train_digits
from tfmodels.tasks.training import training_callbacks


class _Interrupt(keras.callbacks.Callback):
    """Stops training like Ctrl-C in the middle of epoch `at`."""

    def __init__(self, at):
        super().__init__()
        self.at = at

    def on_train_batch_begin(self, batch, logs=None):
        if self.epoch == self.at and batch == 1:
            raise KeyboardInterrupt

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch


class _Epochs(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seen = []

    def on_epoch_begin(self, epoch, logs=None):
        self.seen.append(epoch)


def _fit_twice(train, work_dir):
    """Runs `train(callbacks)` interrupted in epoch 2, then again; returns the epochs rerun."""
    with pytest.raises(KeyboardInterrupt):
        train([_Interrupt(at=1)])
    assert os.path.isdir(os.path.join(work_dir, "backup", "train"))
    epochs = _Epochs()
    result = train([epochs])
    assert not os.path.exists(os.path.join(work_dir, "backup", "train"))
    return epochs.seen, result


def test_training_callbacks_resume_a_plain_fit(tmp_path):
    x = np.random.default_rng(0).normal(size=(16, 3)).astype("float32")
    y = x.sum(axis=1, keepdims=True)

    def train(extra):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        model.compile("sgd", "mse")
        callbacks = training_callbacks(str(tmp_path), "train", monitor="loss", mode="min")
        model.fit(x, y, batch_size=4, epochs=3, verbose=0, callbacks=callbacks + extra)
        return model

    seen, model = _fit_twice(train, str(tmp_path))
    assert seen == [1, 2]
    assert os.path.isfile(tmp_path / "train.keras")
    assert os.listdir(tmp_path / "logs" / "train")
    assert training_callbacks(None, "train") == []


def test_digits_task_resumes(tmp_path):
    work_dir = str(tmp_path / "run")

    def train(extra):
        return train_digits(cell="rnn", units=4, epochs=2, batch_size=256, work_dir=work_dir,
                            callbacks=extra)

    seen, result = _fit_twice(train, work_dir)
    assert seen == [1]
    assert 0.0 <= result.test_accuracy <= 1.0


def test_char_lm_task_resumes(tmp_path):
    corpus_dir = tmp_path / "text"
    corpus_dir.mkdir()
    for split in ("train", "valid", "test"):
        (corpus_dir / f"{split}.txt").write_text("the cat sat on the mat.\n" * 8)
    work_dir = str(tmp_path / "run")

    def train(extra):
        return train_char_lm(data_dir=str(corpus_dir), cell="rnn", units=4, embedding_dim=4,
                             seq_len=8, batch_size=4, epochs=2, steps_per_epoch=3, eval_chars=64,
                             work_dir=work_dir, callbacks=extra)

    seen, result = _fit_twice(train, work_dir)
    assert seen == [1]
    assert np.isfinite(result.test_bpc)
