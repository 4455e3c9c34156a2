"""Tests for tfmodels.callbacks.ModelCheckpoint: best model by a monitored log, written atomically."""

import os

import keras
import numpy as np
import pytest

from tfmodels.callbacks import ModelCheckpoint


def _model():
    inputs = keras.Input((3,), name="x")
    model = keras.Model(inputs, keras.layers.Dense(1, kernel_initializer="zeros")(inputs))
    model.compile("sgd", "mse")
    return model


def _epoch(checkpoint, model, value, weight):
    model.layers[-1].kernel.assign(np.full((3, 1), weight, "float32"))
    checkpoint.on_epoch_end(0, {"val_score": value})


def _saved_weight(path):
    return float(keras.saving.load_model(path).layers[-1].kernel.numpy()[0, 0])


def test_saves_only_improvements(tmp_path):
    path = str(tmp_path / "best.keras")
    model = _model()
    checkpoint = ModelCheckpoint(path, monitor="val_score", mode="max")
    checkpoint.set_model(model)
    _epoch(checkpoint, model, 0.5, 1.0)
    _epoch(checkpoint, model, 0.4, 2.0)  # worse: kept the first
    assert _saved_weight(path) == 1.0
    _epoch(checkpoint, model, float("nan"), 3.0)
    assert _saved_weight(path) == 1.0
    _epoch(checkpoint, model, 0.7, 4.0)
    assert _saved_weight(path) == 4.0 and checkpoint.best == 0.7


def test_interrupted_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = str(tmp_path / "best.keras")
    model = _model()
    checkpoint = ModelCheckpoint(path, monitor="val_score", mode="min")
    checkpoint.set_model(model)
    _epoch(checkpoint, model, 1.0, 1.0)

    def half_written(filepath, *args, **kwargs):
        with open(filepath, "wb") as f:
            f.write(b"PK\x03\x04 truncated")
        raise KeyboardInterrupt

    monkeypatch.setattr(model, "save", half_written)
    with pytest.raises(KeyboardInterrupt):
        _epoch(checkpoint, model, 0.5, 2.0)
    assert _saved_weight(path) == 1.0
    assert sorted(os.listdir(tmp_path)) == ["best.keras"]


def test_works_in_fit_and_checks_its_arguments(tmp_path):
    path = str(tmp_path / "m.keras")
    model = _model()
    x, y = np.ones((8, 3), "float32"), np.ones((8, 1), "float32")
    model.fit(x, y, validation_data=(x, y), epochs=2, verbose=0,
              callbacks=[ModelCheckpoint(path, monitor="val_loss")])
    assert isinstance(keras.saving.load_model(path), keras.Model)
    with pytest.raises(ValueError, match="logs lack"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[ModelCheckpoint(path, monitor="val_loss")])
    with pytest.raises(ValueError, match=".keras"):
        ModelCheckpoint(str(tmp_path / "m.h5"))
    with pytest.raises(ValueError, match="mode"):
        ModelCheckpoint(path, mode="best")
