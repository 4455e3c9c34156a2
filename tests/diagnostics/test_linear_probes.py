"""Tests for tfmodels.diagnostics.LinearProbes (TF and JAX: marked multibackend)."""

import json
import os

import keras
import numpy as np
import pytest
from PIL import Image

from tfmodels.diagnostics import LinearProbes, figures

pytestmark = pytest.mark.multibackend

CLASSES = 4


def _labelled_data(n=240, seed=0):
    """Features whose first CLASSES columns are the one-hot label, the rest pure noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, CLASSES, n)
    x = np.concatenate([np.eye(CLASSES)[y], rng.normal(size=(n, 12))], 1).astype("float32")
    return x, y


def _model():
    inputs = keras.Input((CLASSES + 12,), name="x")
    label = keras.layers.Lambda(lambda t: t[:, :CLASSES], name="label")(inputs)
    noise = keras.layers.Lambda(lambda t: t[:, CLASSES:], name="noise")(inputs)
    hidden = keras.layers.Dense(8, activation="relu", name="hidden")(noise)
    hidden = keras.layers.Dropout(0.5, name="dropout")(hidden)
    logits = keras.layers.Dense(CLASSES, name="logits")(
        keras.layers.Concatenate(name="concat")([label, hidden]))
    model = keras.Model(inputs, logits)
    model.compile(keras.optimizers.Adam(1e-2),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def _train(callbacks, epochs=2):
    keras.utils.set_random_seed(7)
    x, y = _labelled_data()
    model = _model()
    history = model.fit(x, y, batch_size=32, epochs=epochs, shuffle=True, verbose=0,
                        callbacks=callbacks)
    return model, history


def test_probes_leave_training_bit_identical():
    plain, _ = _train([])
    probes = LinearProbes(["x", "hidden"], _labelled_data(seed=1), max_iterations=50)
    probed, _ = _train([probes])
    assert [e["epoch"] for e in probes.history["epochs"]] == [0, 1, 2]
    for a, b in zip(plain.get_weights(), probed.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_label_layer_reaches_zero_error_and_noise_stays_at_chance():
    x, y = _labelled_data(n=600, seed=1)
    probes = LinearProbes(["label", "noise"], (x, y), epochs=[0], validation_split=0.5,
                          max_iterations=50)
    _train([probes], epochs=1)
    scores = probes.history["epochs"][0]["layers"]
    assert scores["label"]["error"] == 0.0 and scores["label"]["val_error"] <= 0.01
    # Chance is 1 - 1/4; held-out noise cannot do better than chance beyond sampling error.
    assert scores["noise"]["val_error"] > 0.6


def test_results_reach_history_logs_and_all_skips_dropout():
    probes = LinearProbes("all", _labelled_data(seed=1), epochs=[2], max_iterations=50,
                          logs="all")
    _, history = _train([probes])
    assert sorted(probes.layer_names) == ["concat", "hidden", "label", "logits", "noise", "x"]
    assert len(history.history["probe_val_error/label"]) == 1  # probed after epoch 2 only
    assert history.history["probe_val_error/label"][-1] <= 0.02
    assert "probe_error/hidden" in history.history
    assert [e["epoch"] for e in probes.history["epochs"]] == [2]
    assert probes.history["overhead"] > 0 and probes.history["train_seconds"] > 0


@pytest.mark.parametrize("logs", ["last", None])
def test_epoch_logs_hold_only_what_was_asked(logs):
    probes = LinearProbes(["x", "hidden"], _labelled_data(seed=1), epochs=[1], max_iterations=20,
                          logs=logs)
    _, history = _train([probes], epochs=1)
    keys = sorted(k for k in history.history if k.startswith("probe_"))
    expected = ["probe_error/hidden", "probe_val_error/hidden"] if logs else []
    assert keys == expected
    assert set(probes.history["epochs"][0]["layers"]) == {"x", "hidden"}


def test_files_are_written_and_a_failed_write_keeps_the_previous_ones(tmp_path, monkeypatch):
    probes = LinearProbes(["label", "noise"], _labelled_data(seed=1), max_iterations=50,
                          output_dir=tmp_path / "probes")
    _train([probes], epochs=1)
    out = tmp_path / "probes"
    assert sorted(os.listdir(out)) == ["probes.gif", "probes.json", "probes.png"]
    saved = json.loads((out / "probes.json").read_text())
    assert [e["epoch"] for e in saved["epochs"]] == [0, 1]
    assert saved["layers"] == ["label", "noise"]
    assert Image.open(out / "probes.png").format == "PNG"
    assert Image.open(out / "probes.gif").n_frames == 2
    png = (out / "probes.png").read_bytes()

    def broken_draw(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(figures, "draw", broken_draw)
    with pytest.raises(RuntimeError, match="disk full"):
        probes.probe(epoch=2)
    assert sorted(os.listdir(out)) == ["probes.gif", "probes.json", "probes.png"]
    assert (out / "probes.png").read_bytes() == png


def test_pixel_probes_score_miou_per_layer():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, (12, 8, 8))
    labels[:, 0, 0] = 9  # void
    # Channels 0-2: the label one-hot at full resolution; 3-5: noise.
    images = np.concatenate([np.eye(3)[np.minimum(labels, 2)],
                             rng.normal(size=(12, 8, 8, 3))], -1).astype("float32")
    inputs = keras.Input((8, 8, 6), name="image")
    onehot = keras.layers.Lambda(lambda t: t[..., :3], name="onehot")(inputs)
    noise = keras.layers.Lambda(lambda t: t[..., 3:], name="noise")(inputs)
    pooled = keras.layers.MaxPooling2D(2, name="pooled")(onehot)
    model = keras.Model(inputs, [noise, pooled])
    probes = LinearProbes(["onehot", "noise", "pooled"], (images, labels), mode="pixel",
                          num_classes=3, ignore_class=9, max_pixels=400, max_iterations=100)
    entry = probes.probe(model, epoch=0)["layers"]
    assert entry["onehot"]["val_miou"] == 1.0 and entry["onehot"]["val_error"] == 0.0
    assert entry["noise"]["val_miou"] < 0.5
    # Half resolution: the probe is upsampled to the labels and loses the fine detail.
    assert 0.0 < entry["pooled"]["val_error"] < entry["noise"]["val_error"]


def test_step_probes_find_the_step_that_holds_the_label():
    rng = np.random.default_rng(0)
    y = rng.integers(0, CLASSES, 400)
    x = rng.normal(size=(400, 3, CLASSES)).astype("float32")
    x[:, 1] = np.eye(CLASSES)[y]
    inputs = keras.Input((3, CLASSES), name="sequence")
    model = keras.Model(inputs, keras.layers.Dense(2, name="dense")(inputs))
    probes = LinearProbes(["sequence"], (x, y), mode="step", validation_split=0.5)
    errors = probes.probe(model)["layers"]["sequence"]["val_error"]
    assert errors[1] <= 0.01
    assert errors[0] > 0.6 and errors[2] > 0.6


@pytest.mark.parametrize("reduce, features, pool", [("pool", 16, 4), ("random", 16, 1),
                                                    (None, 256, 1)])
def test_conv_features_are_reduced(reduce, features, pool):
    x = np.random.default_rng(0).normal(size=(40, 8, 8, 4)).astype("float32")
    y = np.arange(40) % 2
    inputs = keras.Input((8, 8, 4), name="image")
    model = keras.Model(inputs, keras.layers.Conv2D(2, 3, name="conv")(inputs))
    probes = LinearProbes(["image"], (x, y), reduce=reduce, max_features=16, max_iterations=50)
    probes.probe(model)
    assert probes.history["features"]["image"]["probe_features"] == features
    assert probes.history["features"]["image"]["pool"] == pool


def test_pooling_averages_blocks_and_partial_edges():
    from tfmodels.diagnostics.linear_probes import _average_pool

    x = np.arange(9, dtype=np.float32).reshape(1, 3, 3, 1)
    pooled = _average_pool(x, 2)[0, ..., 0]
    np.testing.assert_allclose(pooled, [[(0 + 1 + 3 + 4) / 4, (2 + 5) / 2], [(6 + 7) / 2, 8]])


def _probe_args(**override):
    args = dict(layers=["x"], probe_data=_labelled_data())
    args.update(override)
    return args


@pytest.mark.parametrize("override, argument", [
    (dict(layers="some"), "layers"),
    (dict(layers=[]), "layers"),
    (dict(layers=["x", "x"]), "layers"),
    (dict(mode="token"), "mode"),
    (dict(reduce="pca"), "reduce"),
    (dict(max_features=0), "max_features"),
    (dict(max_iterations=1.5), "max_iterations"),
    (dict(l2=-1), "l2"),
    (dict(validation_split=1.0), "validation_split"),
    (dict(epochs=[-1]), "epochs"),
    (dict(epochs="each"), "epochs"),
    (dict(num_classes=1), "num_classes"),
    (dict(probe_data=(np.zeros((4, 2)), np.zeros(3, int))), "probe_data"),
    (dict(probe_data=(np.zeros((4, 2)), np.zeros(4))), "probe_data"),
    (dict(mode="pixel"), "probe_data"),
    (dict(logs="every"), "logs"),
])
def test_bad_arguments_are_refused(override, argument):
    with pytest.raises(ValueError, match=argument):
        LinearProbes(**_probe_args(**override))


def test_unknown_layer_and_subclassed_model_are_refused():
    with pytest.raises(ValueError, match="layers: model .* has no layer 'nope'"):
        LinearProbes(["nope"], _labelled_data()).probe(_model())

    class Subclassed(keras.Model):
        def call(self, x):
            return x

    with pytest.raises(ValueError, match="functional or built Sequential"):
        LinearProbes(["x"], _labelled_data()).probe(Subclassed())
