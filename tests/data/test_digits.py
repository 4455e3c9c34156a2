"""Tests for tfmodels.data.digits: row-sequence digits, seeded stratified splits."""

import numpy as np
import pytest
from sklearn import datasets

from tfmodels.data import digits


def _rows(x, y):
    """Images with labels as sortable rows, to compare sets of examples."""
    table = np.concatenate([x.reshape(len(x), -1), y[:, None].astype(np.float32)], axis=1)
    return table[np.lexsort(table.T[::-1])]


def test_splits_partition_the_scaled_images():
    splits = digits.load_digits(seed=0)
    assert splits.x_train.shape == (1257, 8, 8)
    assert splits.x_val.shape == splits.x_test.shape == (270, 8, 8)
    assert splits.x_train.dtype == np.float32 and splits.y_train.dtype == np.int32
    full = datasets.load_digits()
    # Time steps are image rows: each example is one scikit-learn image divided by 16.
    np.testing.assert_array_equal(
        _rows(np.concatenate([splits.x_train, splits.x_val, splits.x_test]),
              np.concatenate([splits.y_train, splits.y_val, splits.y_test])),
        _rows((full.images / 16).astype(np.float32), full.target),
    )
    assert splits.x_train.min() == 0.0 and splits.x_train.max() == 1.0


def test_splits_are_stratified():
    splits = digits.load_digits(seed=3)
    full = np.bincount(datasets.load_digits().target, minlength=10) / 1797
    for y in (splits.y_train, splits.y_val, splits.y_test):
        counts = np.bincount(y, minlength=10)
        assert np.all(np.abs(counts - full * len(y)) <= 1)


def test_same_seed_same_split_other_seed_other_split():
    a, b, c = digits.load_digits(seed=5), digits.load_digits(seed=5), digits.load_digits(seed=6)
    np.testing.assert_array_equal(a.x_test, b.x_test)
    np.testing.assert_array_equal(a.y_val, b.y_val)
    assert not np.array_equal(a.x_test, c.x_test)
    assert not np.array_equal(a.x_val, c.x_val)


def test_fractions_set_split_sizes():
    splits = digits.load_digits(seed=0, val_fraction=0.1, test_fraction=0.2)
    assert (len(splits.y_train), len(splits.y_val), len(splits.y_test)) == (1258, 180, 359)


@pytest.mark.parametrize(
    "kwargs, name",
    [({"val_fraction": 0.0}, "val_fraction"), ({"test_fraction": 1.5}, "test_fraction"),
     ({"val_fraction": 0.5, "test_fraction": 0.5}, "val_fraction \\+ test_fraction")],
)
def test_bad_fractions(kwargs, name):
    with pytest.raises(ValueError, match=name):
        digits.load_digits(**kwargs)


def test_datasets_batch_and_shuffle_only_training():
    splits = digits.load_digits(seed=2)
    train, val, test = digits.digits_datasets(batch_size=100, seed=2)
    x, y = next(iter(val))
    assert x.shape == (100, 8, 8) and y.dtype == np.int32
    np.testing.assert_array_equal(x.numpy(), splits.x_val[:100])
    np.testing.assert_array_equal(np.concatenate([y for _, y in test]), splits.y_test)

    labels = np.concatenate([y for _, y in train])
    again = np.concatenate([y for _, y in digits.digits_datasets(batch_size=100, seed=2)[0]])
    np.testing.assert_array_equal(labels, again)
    assert not np.array_equal(labels, splits.y_train)
    np.testing.assert_array_equal(np.sort(labels), np.sort(splits.y_train))


def test_datasets_reject_bad_batch_size():
    with pytest.raises(ValueError, match="batch_size"):
        digits.digits_datasets(batch_size=0)
