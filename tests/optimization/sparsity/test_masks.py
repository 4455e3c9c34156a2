"""Tests for tfmodels.optimization.sparsity.masks: which weights a pruning step keeps."""

import keras
import numpy as np
import pytest

from tfmodels.optimization.sparsity.masks import m_by_n_mask, magnitude_mask

pytestmark = pytest.mark.multibackend


def _np(x):
    return keras.ops.convert_to_numpy(x)


@pytest.mark.parametrize("sparsity", [0.0, 0.3, 0.75, 0.9, 1.0])
def test_magnitude_mask_zeroes_exactly_the_smallest_fraction(sparsity):
    weight = np.random.default_rng(0).permutation(np.arange(1, 201, dtype="float32")).reshape(10, 20)
    weight *= np.where(np.arange(200).reshape(10, 20) % 2, -1, 1)  # signs must not matter
    mask = _np(magnitude_mask(weight, sparsity))
    pruned = int(round(200 * sparsity))
    assert mask.sum() == 200 - pruned
    assert set(np.abs(weight[mask == 0])) == set(np.arange(1, pruned + 1, dtype="float32"))


def test_ties_at_the_threshold_are_kept():
    mask = _np(magnitude_mask(np.array([1.0, 2.0, 2.0, 2.0, 3.0]), 0.5))
    np.testing.assert_array_equal(mask, [0, 1, 1, 1, 1])


@pytest.mark.parametrize("pooling, expected", [
    # Blocks (2x2) of |w|: means 1.5, 10.5 / 2.5, 3; maxima 2, 20 / 4, 3.
    ("AVG", [[0, 0, 1, 1], [0, 0, 1, 1], [0, 0, 1, 1], [0, 0, 1, 1]]),
    ("MAX", [[0, 0, 1, 1], [0, 0, 1, 1], [1, 1, 0, 0], [1, 1, 0, 0]]),
])
def test_blocks_are_scored_by_their_pooled_magnitude_and_kept_whole(pooling, expected):
    weight = np.array([[1, 2, 20, 1], [-1, 2, 0, 21], [0, 4, 3, 3], [-4, 2, 3, 3]], "float32")
    mask = _np(magnitude_mask(weight, 0.5, block_size=(2, 2), block_pooling_type=pooling))
    np.testing.assert_array_equal(mask, expected)


def test_partial_edge_blocks_are_scored_on_their_real_entries():
    # 3 columns in blocks of 2: the last block holds one column; its mean must not be halved.
    weight = np.array([[1.0, 1.0, 5.0]], "float32")
    mask = _np(magnitude_mask(weight, 0.5, block_size=(1, 2)))
    np.testing.assert_array_equal(mask, [[0, 0, 1]])


@pytest.mark.parametrize("axis", [0, -1])
def test_m_by_n_keeps_the_n_largest_of_every_group(axis):
    rng = np.random.default_rng(3)
    weight = rng.normal(size=(8, 12)).astype("float32")
    mask = _np(m_by_n_mask(weight, (2, 4), axis=axis))
    groups = np.moveaxis(weight, axis, -1).reshape(-1, 4)
    kept = np.moveaxis(mask, axis, -1).reshape(-1, 4)
    assert (kept.sum(axis=1) == 2).all()
    for values, keep in zip(np.abs(groups), kept):
        assert values[keep == 1].min() >= values[keep == 0].max()
