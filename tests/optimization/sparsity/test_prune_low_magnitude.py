"""Tests for PruneLowMagnitude, prune_low_magnitude and strip_pruning on TF and JAX."""

import keras
import numpy as np
import pytest

from tfmodels.optimization import sparsity
from tfmodels.quantization import QuantDense, Ternary

pytestmark = pytest.mark.multibackend


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _data(n=256, features=12, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype("float32")
    return x, (x[:, 0] - x[:, 1] > 0).astype("int32")


def _mlp():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((12,)), keras.layers.Dense(16, activation="relu",
                             name="hidden"), keras.layers.Dense(2, name="logits")])


def _fit(model, epochs=2, batch_size=32, callbacks=None):
    x, y = _data()
    model.compile(keras.optimizers.Adam(0.01),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    callbacks = [sparsity.UpdatePruningStep()] if callbacks is None else callbacks
    return model.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=0, shuffle=False,
                     callbacks=callbacks)


@pytest.fixture(scope="module")
def trained():
    """An MLP pruned along a polynomial ramp to 75% over 16 steps (2 epochs of 8 steps)."""
    schedule = sparsity.PolynomialDecay(0.0, 0.75, begin_step=0, end_step=12, frequency=4)
    pruned = sparsity.prune_low_magnitude(_mlp(), schedule)
    _fit(pruned)
    return pruned


def test_the_schedule_s_final_sparsity_is_reached_and_saved_in_the_weights(trained):
    for layer in trained.layers:
        for weight, mask in zip(layer.pruned_weights, layer.masks):
            expected = round(np.prod(weight.shape) * 0.75) / np.prod(weight.shape)
            assert np.mean(_np(mask) == 0) == pytest.approx(expected)
            # UpdatePruningStep wrote the masks into the variables at the epoch end.
            np.testing.assert_array_equal(_np(weight)[_np(mask) == 0], 0.0)
        assert int(_np(layer.pruning_step)) == 16
    assert sparsity.pruning_summary(trained) == {
        w.path: pytest.approx(0.75, abs=0.01) for layer in trained.layers for w in layer.pruned_weights}


def test_the_model_computes_with_the_masked_weights(trained):
    x, _ = _data(8, seed=1)
    hidden, logits = trained.layers
    kernels = [_np(l.layer.kernel) * _np(l.masks[0]) for l in (hidden, logits)]
    biases = [_np(l.layer.bias) for l in (hidden, logits)]
    expected = np.maximum(x @ kernels[0] + biases[0], 0) @ kernels[1] + biases[1]
    np.testing.assert_allclose(_np(trained(x)), expected, rtol=1e-5, atol=1e-5)


def test_masks_hold_between_pruning_steps():
    layer = sparsity.PruneLowMagnitude(keras.layers.Dense(4), sparsity.ConstantSparsity(
        0.5, begin_step=0, frequency=3))
    x = np.random.default_rng(2).normal(size=(2, 6)).astype("float32")
    layer(x, training=True)  # step 0 prunes
    mask = _np(layer.masks[0]).copy()
    # Swap the magnitudes: steps 1 and 2 keep the mask (and zero the grown weights again);
    # the next pruning turn (step 3) follows the magnitudes.
    grown = np.where(mask == 0, 10.0, 0.01).astype("float32")
    for _ in range(2):
        layer.layer.kernel.assign(grown)
        layer(x, training=True)
        np.testing.assert_array_equal(_np(layer.masks[0]), mask)
        np.testing.assert_array_equal(_np(layer.layer.kernel)[mask == 0], 0.0)
    layer.layer.kernel.assign(grown)
    layer(x, training=True)  # step 3
    np.testing.assert_array_equal(_np(layer.masks[0]), 1 - mask)
    # Inference calls neither advance the step nor update the mask.
    layer(x, training=False)
    assert int(_np(layer.pruning_step)) == 4


def test_strip_pruning_gives_back_the_original_layers_with_zeros(trained):
    stripped = sparsity.strip_pruning(trained)
    assert [type(l).__name__ for l in stripped.layers] == ["Dense", "Dense"]
    assert [l.name for l in stripped.layers] == ["hidden", "logits"]
    x, _ = _data(8, seed=3)
    np.testing.assert_allclose(_np(stripped(x)), _np(trained(x)), rtol=1e-6, atol=1e-6)
    assert np.mean(_np(stripped.get_layer("hidden").kernel) == 0) == pytest.approx(0.75, abs=0.01)


def test_keras_round_trip_keeps_masks_and_step(trained, tmp_path):
    path = tmp_path / "pruned.keras"
    trained.save(path)
    loaded = keras.models.load_model(path)
    x, _ = _data(8, seed=4)
    np.testing.assert_allclose(_np(loaded(x)), _np(trained(x)), rtol=1e-6, atol=1e-6)
    for old, new in zip(trained.layers, loaded.layers):
        assert isinstance(new, sparsity.PruneLowMagnitude)
        np.testing.assert_array_equal(_np(new.masks[0]), _np(old.masks[0]))
        assert int(_np(new.pruning_step)) == int(_np(old.pruning_step))
        assert new.pruning_schedule.get_config() == old.pruning_schedule.get_config()


def test_functional_models_rnn_layers_and_quant_layers_are_pruned():
    inputs = keras.Input((5, 4), name="sequence")
    hidden = keras.layers.LSTM(8, name="lstm")(inputs)
    hidden = keras.layers.BatchNormalization(name="norm")(hidden)
    outputs = QuantDense(3, kernel_quantizer=Ternary(), name="head")(hidden)
    model = keras.Model(inputs, outputs)
    pruned = sparsity.prune_low_magnitude(model, sparsity.ConstantSparsity(0.5, 0, frequency=1))
    assert [type(l).__name__ for l in pruned.layers[1:]] == [
        "PruneLowMagnitude", "BatchNormalization", "PruneLowMagnitude"]
    # The float weights were copied in.
    np.testing.assert_array_equal(_np(pruned.layers[1].layer.cell.kernel),
                                  _np(model.get_layer("lstm").cell.kernel))
    rng = np.random.default_rng(5)
    pruned.compile("adam", "mse")
    pruned.fit(rng.normal(size=(8, 5, 4)).astype("float32"),
               rng.normal(size=(8, 3)).astype("float32"), verbose=0,
               callbacks=[sparsity.UpdatePruningStep()])
    summary = sparsity.pruning_summary(pruned)
    assert sorted(p.rsplit("/", 1)[-1] for p in summary) == [
        "kernel", "kernel", "recurrent_kernel"]
    assert all(v == pytest.approx(0.5) for v in summary.values())
    head = pruned.layers[-1].layer
    # A pruned weight quantizes to exactly zero: the ternary kernel keeps the zeros.
    pruned_entries = _np(pruned.layers[-1].masks[0]) == 0
    assert (_np(head.quantized_kernel()) [pruned_entries] == 0).all()


def test_m_by_n_structured_sparsity_on_a_conv_kernel():
    model = keras.Sequential([keras.Input((6, 6, 8)), keras.layers.Conv2D(4, 3, name="conv")])
    pruned = sparsity.prune_low_magnitude(model, sparsity.ConstantSparsity(0.5, 0),
                                          sparsity_m_by_n=(2, 4))
    pruned(np.ones((1, 6, 6, 8), "float32"), training=True)
    kernel = _np(sparsity.strip_pruning(pruned).get_layer("conv").kernel)  # (3, 3, in=8, out=4)
    nonzero = (kernel != 0).reshape(3, 3, 2, 4, 4).sum(axis=3)  # groups of 4 input channels
    assert (nonzero == 2).all()


class _Scale(sparsity.PrunableLayer, keras.layers.Layer):
    def build(self, input_shape):
        self.scale = self.add_weight(shape=input_shape[-1:], initializer="ones")

    def call(self, x):
        return x * self.scale

    def get_prunable_weights(self):
        return [self.scale]


def test_a_prunable_layer_says_what_to_prune():
    layer = _Scale()
    layer.build((None, 4))
    layer.scale.assign(np.array([1.0, -3.0, 0.5, 2.0], "float32"))
    wrapper = sparsity.PruneLowMagnitude(layer, sparsity.ConstantSparsity(0.5, 0))
    out = _np(wrapper(np.ones((1, 4), "float32"), training=True))
    np.testing.assert_array_equal(out, [[0.0, -3.0, 0.0, 2.0]])


def test_bad_input_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="no prunable weights"):
        sparsity.PruneLowMagnitude(keras.layers.ReLU())(np.ones((1, 2), "float32"))
    with pytest.raises(ValueError, match="block_size .* rank-2"):
        sparsity.PruneLowMagnitude(keras.layers.Conv2D(2, 3), block_size=(2, 2))(
            np.ones((1, 5, 5, 2), "float32"))
    with pytest.raises(ValueError, match="not a multiple of 4"):
        sparsity.PruneLowMagnitude(keras.layers.Dense(2), sparsity_m_by_n=(2, 4))(
            np.ones((1, 6), "float32"))
    with pytest.raises(ValueError, match="sparsity_m_by_n"):
        sparsity.PruneLowMagnitude(keras.layers.Dense(2), sparsity_m_by_n=(4, 2))
    with pytest.raises(ValueError, match="block_pooling_type"):
        sparsity.PruneLowMagnitude(keras.layers.Dense(2), block_pooling_type="MIN")
    with pytest.raises(ValueError, match="already pruned"):
        sparsity.prune_low_magnitude(sparsity.prune_low_magnitude(_mlp()))

    class Subclassed(keras.Model):
        def call(self, x):
            return x

    with pytest.raises(ValueError, match="subclassed"):
        sparsity.prune_low_magnitude(Subclassed())
    with pytest.raises(ValueError, match="no PruneLowMagnitude layers"):
        _fit(_mlp(), epochs=1)
        _fit(_mlp(), epochs=1, callbacks=[sparsity.UpdatePruningStep()])


def test_pruning_summaries_log_each_weight_s_sparsity(tmp_path):
    pruned = sparsity.prune_low_magnitude(_mlp(), sparsity.ConstantSparsity(0.5, 0))
    history = _fit(pruned, epochs=1, callbacks=[sparsity.UpdatePruningStep(),
                                                sparsity.PruningSummaries(tmp_path / "logs")])
    keys = sorted(k for k in history.history if k.startswith("sparsity/"))
    assert len(keys) == 2 and all(history.history[k] == [0.5] for k in keys)
    if keras.backend.backend() == "tensorflow":
        assert list((tmp_path / "logs" / "metrics").glob("events.out.tfevents.*"))
