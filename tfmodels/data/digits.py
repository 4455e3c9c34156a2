"""scikit-learn's 8x8 handwritten digits read row by row: a small sequence-classification task.

Each image is a sequence of 8 time steps (its rows) of 8 features (the pixels of that row),
scaled from scikit-learn's 0..16 intensities to [0, 1]; the label is the digit 0-9. The data
ships with scikit-learn (`sklearn.datasets.load_digits`, 1797 images), so nothing is
downloaded. It is the quick, offline sequence task on which the quantized RNN cells of
arXiv:1608.06902 are compared before the character language model.

Example:
    splits = load_digits(seed=0)
    splits.x_train.shape             # (1257, 8, 8) float32
    train, val, test = digits_datasets(batch_size=64, seed=0)
"""

import dataclasses

import numpy as np
import tensorflow as tf

NUM_CLASSES = 10
TIME_STEPS = 8
FEATURES = 8
_MAX_INTENSITY = 16.0


@dataclasses.dataclass(frozen=True)
class DigitsSplits:
    """The digits split three ways.

    Attributes:
        x_train, x_val, x_test: float32 `[N, 8, 8]` in [0, 1]; axis 1 is time (image rows).
        y_train, y_val, y_test: int32 `[N]` labels 0-9.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load_digits(seed=0, val_fraction=0.15, test_fraction=0.15):
    """Loads the digits as row sequences, split stratified by label.

    Args:
        seed: decides which images go to which split; same seed, same split.
        val_fraction: share of the images for validation.
        test_fraction: share of the images for test.

    Returns:
        A `DigitsSplits`; every split holds each digit in (nearly) the proportion of the whole
        set. With the defaults: 1257 train, 270 validation, 270 test images.

    Example:
        splits = load_digits(seed=1)
        splits.x_val[0, 3]           # the 4th row of the first validation image, 8 floats
    """
    from sklearn import datasets, model_selection

    for name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0 < value < 1:
            raise ValueError(f"{name} must lie in (0, 1), got {value}")
    if val_fraction + test_fraction >= 1:
        raise ValueError(
            f"val_fraction + test_fraction must be < 1, got {val_fraction} + {test_fraction}"
        )
    digits = datasets.load_digits()
    x = (digits.images / _MAX_INTENSITY).astype(np.float32)
    y = digits.target.astype(np.int32)
    n = len(y)
    n_test = int(round(test_fraction * n))
    n_val = int(round(val_fraction * n))
    x_rest, x_test, y_rest, y_test = model_selection.train_test_split(
        x, y, test_size=n_test, stratify=y, random_state=seed
    )
    # A second seed derived from the first, so validation is not drawn like test.
    x_train, x_val, y_train, y_val = model_selection.train_test_split(
        x_rest, y_rest, test_size=n_val, stratify=y_rest,
        random_state=int(np.random.SeedSequence(seed).generate_state(1)[0]),
    )
    return DigitsSplits(x_train, y_train, x_val, y_val, x_test, y_test)


def digits_datasets(batch_size=64, seed=0, val_fraction=0.15, test_fraction=0.15):
    """The splits of `load_digits` as batched `tf.data` datasets.

    Args:
        batch_size: images per batch (the last batch of each split may be smaller).
        seed: the split, and the training shuffle (reshuffled each epoch; the order also
            follows TensorFlow's global seed when one is set).
        val_fraction, test_fraction: as in `load_digits`.

    Returns:
        `(train, val, test)` datasets of `(x, y)`: x float32 `[batch, 8, 8]`, y int32
        `[batch]`. Only `train` is shuffled.

    Example:
        train, val, _ = digits_datasets(batch_size=32, seed=0)
        model.fit(train, validation_data=val, epochs=5)
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    splits = load_digits(seed, val_fraction, test_fraction)

    def dataset(x, y, shuffle):
        ds = tf.data.Dataset.from_tensor_slices((x, y))
        if shuffle:
            ds = ds.shuffle(len(y), seed=seed, reshuffle_each_iteration=True)
        return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)

    return (
        dataset(splits.x_train, splits.y_train, shuffle=True),
        dataset(splits.x_val, splits.y_val, shuffle=False),
        dataset(splits.x_test, splits.y_test, shuffle=False),
    )
