import keras
import numpy as np
import pytest
from keras import ops

from tfmodels.optimization.quantization.quantizers import (
    AllValuesQuantizer,
    LastValueQuantizer,
    MovingAverageQuantizer,
    as_tfmot_quantizer,
)
from tfmodels.quantization import Ternary, Uniform

pytestmark = pytest.mark.multibackend


def _np(x):
    return ops.convert_to_numpy(x)


def test_last_value_quantizer_is_uniform_on_the_tensor_range():
    x = np.random.default_rng(0).normal(size=(6, 5)).astype("float32")
    q = LastValueQuantizer(num_bits=4, per_axis=True, symmetric=True, narrow_range=True)
    assert q.build(x.shape, "kernel", None) == {}
    y = _np(q(x, training=True, weights={}))
    np.testing.assert_array_equal(y, _np(Uniform(bits=4, per_channel=True)(x)))
    for column in range(5):  # 15 levels per output channel, the extreme kept exactly
        assert len(np.unique(y[:, column])) <= 15
        assert np.abs(y[:, column]).max() == pytest.approx(np.abs(x[:, column]).max(), rel=1e-6)
    assert LastValueQuantizer.from_config(q.get_config()) == q


def test_moving_average_quantizer_tracks_the_range_with_tfmot_decay():
    holder = keras.layers.Layer()
    q = MovingAverageQuantizer(num_bits=8, per_axis=False, symmetric=False, narrow_range=False)
    weights = q.build(None, "act", holder)
    assert sorted(v.path for v in holder.weights) == [
        "layer/act_initialized", "layer/act_range_max", "layer/act_range_min"]
    q(np.float32([-1.0, 3.0]), training=True, weights=weights)  # the first batch sets the range
    np.testing.assert_allclose([_np(weights["min_var"]), _np(weights["max_var"])], [-1.0, 3.0])
    q(np.float32([-2.0, 5.0]), training=True, weights=weights)
    np.testing.assert_allclose([_np(weights["min_var"]), _np(weights["max_var"])],
                               [0.999 * -1 + 0.001 * -2, 0.999 * 3 + 0.001 * 5], rtol=1e-6)
    # Inference uses the stored range: 9 is clipped to it.
    y = _np(q(np.float32([9.0]), training=False, weights=weights))
    assert y[0] == pytest.approx(3.002, abs=4.0 / 255)
    assert float(_np(weights["max_var"])) == pytest.approx(3.002, rel=1e-6)


def test_all_values_quantizer_keeps_the_running_min_and_max():
    holder = keras.layers.Layer()
    q = AllValuesQuantizer(num_bits=8, per_axis=False, symmetric=False, narrow_range=False)
    weights = q.build(None, "act", holder)
    for batch in ([-1.0, 3.0], [-2.0, 1.0], [-0.5, 2.0]):
        q(np.float32(batch), training=True, weights=weights)
    np.testing.assert_array_equal([_np(weights["min_var"]), _np(weights["max_var"])], [-2, 3])
    assert AllValuesQuantizer.from_config(q.get_config()) == q
    assert q != MovingAverageQuantizer(**q.get_config())


@pytest.mark.parametrize("kwargs, match", [
    (dict(num_bits=1, per_axis=False, symmetric=True, narrow_range=True), "num_bits"),
    (dict(num_bits=8, per_axis=0, symmetric=True, narrow_range=True), "per_axis"),
])
def test_bad_quantizer_arguments_are_rejected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LastValueQuantizer(**kwargs)


def test_moving_average_is_per_tensor_and_strings_are_not_quantizers():
    with pytest.raises(ValueError, match="per_axis"):
        MovingAverageQuantizer(8, True, False, False)
    with pytest.raises(ValueError, match="MyConfig must be"):
        as_tfmot_quantizer("int8", "weight", "MyConfig")
    ternary = as_tfmot_quantizer(Ternary(scale=1.0), "weight", "MyConfig")
    np.testing.assert_array_equal(
        _np(ternary(np.float32([-0.9, 0.1, 0.7]), False, {})), [-1.0, 0.0, 1.0])
