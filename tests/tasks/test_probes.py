"""Tests for tfmodels.tasks.probes: the paper's models and the experiment runner (tiny MNIST
fixture, never the real data)."""

import json

import keras
import numpy as np
import pytest

from tfmodels.data import camvid, mnist, scenes
from tfmodels.models.segmentation import FCDenseNet
from tfmodels.tasks import probes


@pytest.fixture
def mnist_dir(tmp_path):
    """60 training and 10 test 'digits': the label drawn as a bright row, so they are learnable."""
    rng = np.random.default_rng(0)
    for split, n in (("train", 60), ("test", 10)):
        labels = rng.integers(0, 10, n).astype(np.uint8)
        images = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
        images[np.arange(n), 2 + 2 * labels] = 255
        images_name, labels_name = mnist.FILES[split]
        mnist.write_idx(tmp_path / images_name, images)
        mnist.write_idx(tmp_path / labels_name, labels)
    return tmp_path


def test_deep_mlp_joins_the_input_before_the_middle_layer():
    model = probes.deep_mlp(depth=6, width=8)
    skip = model.get_layer("skip")
    assert [t.name for t in skip.input] == ["leaky_2", "flatten"] or len(skip.input) == 2
    assert model.get_layer("dense_3").input.shape[-1] == 8 + 784
    assert model.get_layer("dense_2").input.shape[-1] == 8
    assert sum(1 for layer in model.layers if layer.name.startswith("dense_")) == 6
    with pytest.raises(ValueError, match="skip_at"):
        probes.deep_mlp(depth=6, skip_at=7)


def test_mnist_experiment_writes_figures_and_trains_identically(mnist_dir, tmp_path):
    report = probes.run("mnist", export_dir=tmp_path / "out", data_dir=str(mnist_dir),
                        epochs=1, train_examples=40, probe_examples=18, measure_overhead=True,
                        verbose=0)
    out = tmp_path / "out" / "probes" / "mnist"
    assert {p.name for p in out.iterdir()} == {"probes.json", "probes.png", "probes.gif",
                                               "report.json"}
    assert report.identical_weights is True
    assert list(report.last) == list(probes.MNIST_LAYERS)
    saved = json.loads((out / "report.json").read_text())
    assert saved["first"]["pixels"] == report.first["pixels"]
    assert [e["epoch"] for e in json.loads((out / "probes.json").read_text())["epochs"]] == [0, 1]


def test_he_init_keeps_the_signal_where_glorot_loses_it():
    x = np.random.default_rng(0).random((64, 28, 28)).astype("float32")
    spread = {}
    for init in probes.MLP_INITS:
        model = probes.deep_mlp(depth=40, width=32, init=init)
        features = keras.Model(model.input, [model.get_layer(f"leaky_{i}").output
                                             for i in (1, 19)])(x)
        spread[init] = [float(np.std(keras.ops.convert_to_numpy(f))) for f in features]
    # Glorot halves the second moment per leaky-ReLU layer: 18 layers -> std / 2**9.
    assert spread["glorot"][1] < spread["glorot"][0] / 100
    assert spread["he"][0] / 10 < spread["he"][1] < 10 * spread["he"][0]


def test_deep_mlp_probes_every_depth_over_16_layer_and_both_sides_of_the_skip():
    layers = probes.deep_mlp_probe_layers(128)
    assert layers[0] == "pixels" and layers[-1] == "logits"
    hidden = [int(name.split("_")[1]) for name in layers[1:-1]]
    assert hidden == sorted(set(hidden))
    assert {1, 8, 63, 64, 128} <= set(hidden) and 4 not in hidden and len(hidden) == 18
    model = probes.deep_mlp(depth=128, width=2)
    assert all(model.get_layer(name) is not None for name in layers)


def test_deep_mlp_experiment_takes_depth_width_and_init(mnist_dir, tmp_path):
    report = probes.run("deep_mlp", export_dir=tmp_path / "out", data_dir=str(mnist_dir),
                        epochs=1, train_examples=40, probe_examples=18, depth=6, width=8,
                        init="glorot", verbose=0)
    assert list(report.last) == probes.deep_mlp_probe_layers(6)
    assert "leaky_3" in report.last and "leaky_7" not in report.last
    assert np.isfinite(report.model_scores["last_epoch_loss"])
    assert "6-layer" in json.loads(
        (tmp_path / "out" / "probes" / "deep_mlp" / "probes.json").read_text())["title"]


@pytest.mark.parametrize("num_pools", [1, 3])
def test_fc_densenet_probe_layers_are_each_blocks_output(num_pools):
    model = FCDenseNet(camvid.NUM_CLASSES, growth_rate=2, layers_per_block=2, initial_filters=4,
                       num_pools=num_pools, input_shape=(None, None, 3))
    layers = probes.fc_densenet_probe_layers(num_pools)
    assert len(layers) == 2 * num_pools + 4
    assert all(model.get_layer(name) is not None for name in layers)  # raises if absent
    assert model.get_layer(layers[-2]).output is model.get_layer("logits").input
    for level in range(num_pools - 1):  # what the next transition up reads
        assert (model.get_layer(f"up{level}_new").output
                is model.get_layer(f"transition_up{level + 1}").input)


def test_fc_densenet_experiment_scores_pixel_probes_per_block(tmp_path):
    root = tmp_path / "scenes"
    scenes.generate(str(root), seed=1, num_train=4, num_val=4, num_test=1, height=64, width=64)
    report = probes.run("fc_densenet", export_dir=tmp_path / "out", data_dir=str(root),
                        epochs=1, batch_size=4, num_pools=1, verbose=0)
    assert list(report.last) == probes.fc_densenet_probe_layers(1)
    assert all(0.0 <= v <= 1.0 for v in [*report.first.values(), *report.last.values()])
    assert 0.0 <= report.model_scores["mean_iou"] <= 1.0
    assert "1 pools" in json.loads(
        (tmp_path / "out" / "probes" / "fc_densenet" / "probes.json").read_text())["title"]


@pytest.mark.parametrize("kwargs, argument", [
    (dict(experiment="cifar"), "experiment"),
    (dict(experiment="mnist", epochs=0), "epochs"),
    (dict(experiment="mnist", reduce="pca"), "reduce"),
    (dict(experiment="mnist", depth=8), "depth"),
    (dict(experiment="mnist", learning_rate=0), "learning_rate"),
    (dict(experiment="deep_mlp", num_pools=2), "num_pools"),
    (dict(experiment="fc_densenet", num_pools=6), "num_pools"),
    (dict(experiment="deep_mlp", init="lecun"), "init"),
    (dict(experiment="deep_mlp", depth=1), "depth"),
    (dict(experiment="deep_mlp", width=0), "width"),
])
def test_bad_arguments_are_refused(tmp_path, kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        probes.run(export_dir=tmp_path, **kwargs)
