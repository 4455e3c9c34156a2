"""tasks.mnist_mlp on tiny idx fixtures: selection on validation, artifacts, argument errors."""

import json
import os

import numpy as np
import pytest

from tfmodels.data import mnist
from tfmodels.tasks import mnist_mlp


def _fixture(folder, num_train=60, num_test=20):
    rng = np.random.default_rng(0)
    for split, count in (("train", num_train), ("test", num_test)):
        labels = rng.integers(0, 10, count).astype(np.uint8)
        images = rng.integers(0, 40, (count, 28, 28)).astype(np.uint8)
        images[np.arange(count), labels, :] = 255  # the label's row lights up: learnable
        images_name, labels_name = mnist.FILES[split]
        mnist.write_idx(os.path.join(folder, images_name), images)
        mnist.write_idx(os.path.join(folder, labels_name), labels)


def test_trains_selects_on_validation_and_writes(tmp_path):
    loss = "squared_error"
    _fixture(tmp_path)
    result = mnist_mlp.train_mnist_mlp(
        hidden=(16,), loss=loss, epochs=3, batch_size=10, validation=20, data_dir=str(tmp_path),
        export_dir=str(tmp_path / "out"))
    assert result.skip and result.parameters == 784 * 16 + 16 + (16 + 784) * 10 + 10
    assert 1 <= result.best_epoch <= 3 and 0 <= result.test_error <= 1
    with open(result.report_path, encoding="utf-8") as f:
        report = json.load(f)
    assert report["best_epoch"] == result.best_epoch and report["loss"] == loss
    from PIL import Image

    with Image.open(result.weights_png) as png:  # 16 tiles of 28 x 28 (4 x 4), enlarged x2
        assert png.size == (2 * (4 * 29 + 1), 2 * (4 * 29 + 1))
    with Image.open(result.weights_change_png) as png:
        assert png.size == (2 * (4 * 29 + 1), 2 * (4 * 29 + 1))
        assert np.asarray(png).std() > 0  # training moved the first layer
    assert os.path.isfile(result.model_path)


def test_bad_arguments_raise_before_anything_is_written(tmp_path):
    with pytest.raises(ValueError, match="preset"):
        mnist_mlp.train_mnist_mlp(preset="wide", export_dir=str(tmp_path / "out"))
    with pytest.raises(ValueError, match="loss"):
        mnist_mlp.train_mnist_mlp(loss="hinge", export_dir=str(tmp_path / "out"))
    with pytest.raises(ValueError, match="validation"):
        mnist_mlp.train_mnist_mlp(validation=0, export_dir=str(tmp_path / "out"))
    with pytest.raises(FileNotFoundError, match="nowhere"):
        mnist_mlp.train_mnist_mlp(data_dir=str(tmp_path / "nowhere"), export_dir=str(tmp_path / "o"))
    assert os.listdir(tmp_path) == []
