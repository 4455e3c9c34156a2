import keras
import numpy as np
import pytest
from keras import ops

from tests import testing_utils
from tfmodels.layers import SpecAugment

pytestmark = pytest.mark.multibackend


def _masked(layer, shape, training=True):
    out = ops.convert_to_numpy(layer(np.ones(shape, "float32"), training=training))
    return out == 0.0


@pytest.mark.parametrize("training", [False, None])
def test_inference_is_the_identity(training):
    x = np.random.default_rng(0).normal(size=(2, 30, 16)).astype("float32")
    layer = SpecAugment(freq_masks=3, max_freq_width=8, time_masks=3, max_time_width=10, seed=1)
    np.testing.assert_array_equal(ops.convert_to_numpy(layer(x, training=training)), x)


def test_frequency_masks_are_whole_bands_of_at_most_the_asked_width():
    layer = SpecAugment(freq_masks=1, max_freq_width=3, time_masks=0, seed=0)
    widths = []
    for _ in range(40):
        masked = _masked(layer, (4, 12, 20))
        # A frequency mask covers every frame of its channels and nothing else.
        assert (masked == masked[:, :1, :]).all()
        for row in masked[:, 0, :]:
            channels = np.flatnonzero(row)
            if len(channels):
                assert channels.tolist() == list(range(channels[0], channels[-1] + 1))
            widths.append(len(channels))
    assert max(widths) == 3 and min(widths) == 0 and set(widths) <= {0, 1, 2, 3}


def test_time_masks_are_whole_frames_bounded_by_width_and_fraction():
    layer = SpecAugment(freq_masks=0, time_masks=1, max_time_width=8, max_time_fraction=0.1,
                        seed=0)
    widths = []
    for _ in range(30):
        masked = _masked(layer, (4, 40, 6))
        assert (masked == masked[:, :, :1]).all()
        widths += masked[:, :, 0].sum(axis=1).tolist()
    # The fraction (0.1 of 40 frames) binds before the width (8).
    assert max(widths) == 4 and min(widths) == 0


def test_masks_write_the_mask_value_and_leave_other_cells_alone():
    x = np.random.default_rng(1).normal(size=(3, 25, 10)).astype("float32") + 5.0
    layer = SpecAugment(freq_masks=2, max_freq_width=4, time_masks=2, max_time_width=5,
                        mask_value=-1.0, seed=3)
    out = ops.convert_to_numpy(layer(x, training=True))
    changed = out != x
    assert changed.any()
    np.testing.assert_array_equal(out[changed], -1.0)
    # At most 2 bands of 4 channels and 2 runs of 5 frames per example.
    for example in changed:
        full_rows = example.all(axis=1).sum()
        full_columns = example.all(axis=0).sum()
        assert full_rows <= 10 and full_columns <= 8
        assert example.sum() <= full_rows * 10 + full_columns * 25


def test_same_seed_same_masks():
    a = _masked(SpecAugment(seed=5), (2, 50, 20))
    b = _masked(SpecAugment(seed=5), (2, 50, 20))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kwargs, name", [
    (dict(freq_masks=-1), "freq_masks"), (dict(max_time_width=1.5), "max_time_width"),
    (dict(max_time_fraction=0.0), "max_time_fraction")])
def test_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        SpecAugment(**kwargs)


def test_standard_layer_checks(tmp_path):
    testing_utils.check_layer(lambda: SpecAugment(seed=0), (2, 30, 16), tmp_path)
    assert isinstance(keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(SpecAugment(time_masks=1))), SpecAugment)
