"""Professor Forcing experiment helpers: sample statistics, MNIST sequences, PCA, the figure."""

import numpy as np
import pytest

from tfmodels.models.rnn import char_lm
from tfmodels.tasks import professor_forcing_experiment as exp


def test_ngram_tv_by_hand():
    assert exp.ngram_tv("abab", "abab", n=2) == 0.0
    assert exp.ngram_tv("aaaa", "bbbb", n=2) == 1.0
    # "aab": {aa: .5, ab: .5}; "abb": {ab: .5, bb: .5} -> TV 0.5.
    assert exp.ngram_tv("aab", "abb", n=2) == pytest.approx(0.5)


def test_repetition_rate_by_hand():
    assert exp.repetition_rate("abcdefg", n=2) == 0.0
    # "abab": ab, ba, ab -> one of three repeats.
    assert exp.repetition_rate("abab", n=2) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="shorter"):
        exp.repetition_rate("ab", n=4)


def test_binarized_sequences_pool_and_threshold():
    images = np.zeros((1, 28, 28), np.uint8)
    images[0, :2, :2] = 255          # full block -> 1
    images[0, 2:4, :2] = [[255, 255], [0, 0]]   # mean 0.5 -> 0 (strictly above)
    seq = exp.binarized_sequences(images, size=14)
    assert seq.shape == (1, 196)
    assert seq[0, 0] == 1 and seq[0, 14] == 0 and seq.sum() == 1
    with pytest.raises(ValueError, match="size"):
        exp.binarized_sequences(images, size=10)


def test_pca_2d_finds_the_main_axis():
    rng = np.random.default_rng(0)
    a = np.stack([rng.normal(size=200) * 10, rng.normal(size=200), rng.normal(size=200)], 1)
    (p,) = exp.pca_2d(a)
    assert p.shape == (200, 2)
    assert abs(np.corrcoef(p[:, 0], a[:, 0])[0, 1]) > 0.99


def test_hidden_state_figure_writes_a_png(tmp_path):
    model = char_lm(9, cell="lstm", units=4, embedding_dim=3, seed=0)
    ids = np.random.default_rng(0).integers(0, 9, (4, 10)).astype("int32")
    path = str(tmp_path / "pca.png")
    gaps = exp.hidden_state_figure({"a": model}, ids, path)
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert gaps["a"] >= 0.0


def test_windowed_undoes_running_means():
    # Per-step values 1, 1, 0, 0 logged every 2 steps as running means 1.0 and 0.5.
    history = [{"step": 2, "d_accuracy": 1.0}, {"step": 4, "d_accuracy": 0.5}]
    assert exp.windowed(history, "d_accuracy") == [(2, 1.0), (4, 0.0)]
    assert exp.windowed([{"step": 2, "nll": 1.0}], "d_accuracy") == []
