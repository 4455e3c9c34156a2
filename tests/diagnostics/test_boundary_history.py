"""Tests for tfmodels.diagnostics.BoundaryHistory: HM-LSTM boundary F1 during training (TF, JAX)."""

import json

import keras
import numpy as np
import pytest

from tests import testing_utils
from tfmodels.diagnostics import BoundaryHistory, write_history_figure
from tfmodels.metrics.boundaries import boundary_scores, chance_f1
from tfmodels.models.rnn import SlopeAnnealing, boundary_states
from tfmodels.tasks.char_lm import build_hm_lstm_lm

pytestmark = pytest.mark.multibackend

VOCAB, SEQ = 6, 12


def _data(n=8, seed=0):
    return np.random.default_rng(seed).integers(0, VOCAB, (n, SEQ + 1)).astype("int32")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny HM-LSTM trained 6 batches with the history scoring every 2, its reference the
    model's own boundaries before training."""
    tmp = tmp_path_factory.mktemp("history")
    model = build_hm_lstm_lm(VOCAB, units=4, num_layers=2, embedding_dim=3, seed=0,
                             learning_rate=0.05)
    held_out = _data(seed=1)[:, :SEQ]
    z0 = boundary_states(model, held_out)
    history = BoundaryHistory(held_out, {"own_1": (1, z0[..., 0]), "own_2": (2, z0[..., 1]),
                                         "first": (1, np.arange(SEQ)[None].repeat(8, 0) == 0)},
                              every=2, path=tmp / "history.json", png=tmp / "history.png")
    data = _data()
    fit = model.fit(data[:, :-1], data[:, 1:], batch_size=2, epochs=2, verbose=0,
                    callbacks=[SlopeAnnealing(rate=1.0), history])
    return model, held_out, z0, history, fit, tmp


def test_own_boundaries_score_one_before_training(trained):
    _, _, z0, history, _, _ = trained
    first = history.history["entries"][0]
    assert first["step"] == 0 and first["slope"] == 1.0
    for name, layer in (("own_1", 0), ("own_2", 1)):
        rate = float(z0[..., layer].mean())
        assert first["scores"][name]["rate"] == pytest.approx(rate)
        assert first["scores"][name]["f1"] == (1.0 if rate > 0 else 0.0)
    assert first["rates"] == pytest.approx(list(z0.reshape(-1, 2).mean(0)))


def test_entries_follow_the_steps_and_match_a_recomputation(trained):
    model, held_out, z0, history, fit, _ = trained
    entries = history.history["entries"]
    # 8 rows in batches of 2: 4 steps an epoch, 8 in all; scored at 0, 2, 4, 6, 8.
    assert [e["step"] for e in entries] == [0, 2, 4, 6, 8]
    assert [e["epoch"] for e in entries] == [0, 0, 0, 1, 1]
    assert entries[-1]["slope"] == 2.0  # SlopeAnnealing(rate=1) in the second epoch
    z = boundary_states(model, held_out)
    last = entries[-1]["scores"]
    for name, layer in (("own_1", 0), ("own_2", 1)):
        expected = boundary_scores(z[..., layer], z0[..., layer])
        for key in ("rate", "precision", "recall", "f1"):
            assert last[name][key] == pytest.approx(expected[key])
        assert last[name]["chance_f1"] == pytest.approx(
            chance_f1(expected["rate"], float(z0[..., layer].mean())))
    # The logs carry the last scores into Keras's History, per epoch.
    assert fit.history["boundary_f1/own_1"][-1] == pytest.approx(last["own_1"]["f1"])
    assert len(fit.history["boundary_rate/layer_2"]) == 2


def test_json_and_png_are_written(trained):
    _, _, _, history, _, tmp = trained
    with open(tmp / "history.json") as f:
        assert json.load(f) == json.loads(json.dumps(history.history))
    assert (tmp / "history.png").read_bytes()[:4] == b"\x89PNG"
    assert not [p for p in tmp.iterdir() if p.name.startswith(".")]  # no temporaries left
    both = write_history_figure({"a": history.history, "b": history.history},
                                str(tmp / "both.png"), title="two runs")
    assert open(both, "rb").read(4) == b"\x89PNG"


def test_per_epoch_scoring(tmp_path):
    model = build_hm_lstm_lm(VOCAB, units=3, num_layers=2, embedding_dim=2, seed=1)
    held_out = _data(n=4, seed=2)[:, :SEQ]
    history = BoundaryHistory(held_out, {"x": (2, held_out == 0)})
    data = _data(n=4)
    model.fit(data[:, :-1], data[:, 1:], batch_size=2, epochs=3, verbose=0, callbacks=[history])
    assert [e["step"] for e in history.history["entries"]] == [0, 2, 4, 6]


@testing_utils.tensorflow_only
def test_bad_arguments_are_refused():
    x = np.zeros((2, 5), "int32")
    with pytest.raises(ValueError, match="shape"):
        BoundaryHistory(x, {"a": (1, np.zeros((2, 4)))})
    with pytest.raises(ValueError, match="layer"):
        BoundaryHistory(x, {"a": (0, np.zeros((2, 5)))})
    with pytest.raises(ValueError, match="every"):
        BoundaryHistory(x, {"a": (1, np.zeros((2, 5)))}, every=0)
    with pytest.raises(ValueError, match="references"):
        BoundaryHistory(x, {})
    model = build_hm_lstm_lm(VOCAB, units=3, num_layers=2, embedding_dim=2)
    model.compile("sgd", "sparse_categorical_crossentropy")
    history = BoundaryHistory(x, {"a": (3, np.zeros((2, 5)))})
    with pytest.raises(ValueError, match="above"):
        model.fit(x, x, epochs=1, verbose=0, callbacks=[history])
