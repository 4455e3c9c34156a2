"""Boundary precision / recall / F1 on hand-counted cases."""

import pytest

import numpy as np

from tfmodels.metrics.boundaries import boundary_scores, chance_f1


def test_hand_counted():
    # 2 predicted, 1 of them right; 3 true.
    s = boundary_scores([[1, 0, 1, 0, 0]], [[1, 1, 0, 0, 1]])
    assert s["rate"] == pytest.approx(0.4)
    assert s["precision"] == pytest.approx(0.5)
    assert s["recall"] == pytest.approx(1 / 3)
    assert s["f1"] == pytest.approx(2 * 0.5 * (1 / 3) / (0.5 + 1 / 3))


def test_degenerate_cases():
    assert boundary_scores([0, 0], [1, 0]) == {"rate": 0.0, "precision": 0.0, "recall": 0.0,
                                                "f1": 0.0}
    assert boundary_scores([1, 1], [1, 1])["f1"] == 1.0
    with pytest.raises(ValueError, match="shape"):
        boundary_scores([1, 0], [1, 0, 0])
    with pytest.raises(ValueError, match="empty"):
        boundary_scores([], [])


def test_chance_f1_matches_random_boundaries():
    rng = np.random.default_rng(0)
    reference = rng.random(200000) < 0.2
    predicted = rng.random(200000) < 0.6
    measured = boundary_scores(predicted, reference)["f1"]
    assert chance_f1(0.6, 0.2) == pytest.approx(measured, abs=0.005)
    assert chance_f1(0.0, 0.0) == 0.0
    with pytest.raises(ValueError, match="rate"):
        chance_f1(1.5, 0.2)
