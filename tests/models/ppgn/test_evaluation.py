"""PPGN sample metrics on cases with known answers."""

import numpy as np
import pytest

from tfmodels.models.ppgn import (
    class_confidence,
    frechet_distance,
    inception_score,
    intra_class_diversity,
)


def test_inception_score_bounds():
    confident = np.eye(10)[np.arange(30) % 10]
    assert inception_score(confident) == pytest.approx(10.0, rel=1e-6)
    assert inception_score(np.full((5, 10), 0.1)) == pytest.approx(1.0)
    assert inception_score(np.eye(10)[np.zeros(7, int)]) == pytest.approx(1.0)  # one class only


def test_frechet_distance():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4000, 3))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
    shifted = frechet_distance(a, a + np.array([3.0, 0.0, 4.0]))
    assert shifted == pytest.approx(25.0, rel=1e-6)
    # Same mean, covariance 4S: tr(S + 4S - 2 (4 S S)^(1/2)) = tr(S).
    assert frechet_distance(a, 2 * a) == pytest.approx(np.trace(np.cov(a.T)) * 1.0, rel=1e-3)
    with pytest.raises(ValueError, match="features"):
        frechet_distance(a, a[:, :2])


def test_confidence_and_diversity():
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    confidence, accuracy = class_confidence(probs, np.array([0, 1, 1]))
    assert confidence == pytest.approx((0.9 + 0.8 + 0.4) / 3)
    assert accuracy == pytest.approx(2 / 3)
    same = np.ones((4, 2, 2))
    assert intra_class_diversity(same, np.array([0, 0, 1, 1])) == 0.0
    pair = np.array([[[0.0, 0.0]], [[3.0, 4.0]]])
    assert intra_class_diversity(pair, np.array([5, 5])) == pytest.approx(5.0)
    with pytest.raises(ValueError, match="two images"):
        intra_class_diversity(pair, np.array([0, 1]))
