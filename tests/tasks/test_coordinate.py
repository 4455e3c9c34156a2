"""tasks.coordinate: metrics, the tiny end-to-end job, the int8 render file, depth comparison."""

import json
import os

import numpy as np
import pytest

from tfmodels.data import images
from tfmodels.export.runtime import LiteRTRunner
from tfmodels.models.coordinate import coordinate_grid, width_for_parameters
from tfmodels.tasks import coordinate


def test_psnr_and_mae_exact():
    truth = np.zeros((2, 2, 3))
    assert coordinate.psnr(truth, truth + 0.1) == pytest.approx(20.0)
    assert coordinate.mae(truth, truth + 0.1) == pytest.approx(0.1)


def test_train_coordinate_writes_pictures_and_an_int8_render(tmp_path, monkeypatch):
    monkeypatch.setattr(images, "default_image_path", lambda: None)
    result = coordinate.train_coordinate(
        height=8, width=10, depth=2, units=16, epochs=4, batch_size=16, animate_every=2,
        neuron_size=4, scale=1, export_dir=str(tmp_path), learning_rate=1e-2)
    files = result.files
    assert result.image == "test picture" and (result.height, result.width) == (8, 10)
    assert result.epochs == 4
    assert result.shallow_units == width_for_parameters(1, result.parameters)
    from PIL import Image

    with Image.open(files["side_by_side"]) as side:
        assert side.size == (3 * 10 + 2 * 2, 8)  # truth | shallow | deep
    with Image.open(files["animation"]) as gif:
        assert gif.n_frames == 3  # epoch 0, 2, 4
    with Image.open(files["neurons_hidden_2"]) as grid:
        assert grid.size == (4 * (5 + 1) + 1, 4 * (4 + 1) + 1)  # 16 tiles of 4 x 5
    # The int8 PSNR is the file's own render, recomputed here from its output.
    runner = LiteRTRunner(files["tflite_int8"])
    assert any(d["dtype"] == np.int8 for d in runner.interpreter.get_tensor_details())
    (out,) = runner.predict({runner.input_names[0]: coordinate_grid(8, 10)[None]}).values()
    truth = images.test_picture(8, 10)
    device = np.clip(out.reshape(8, 10, 3), 0, 1)
    assert result.int8_psnr == pytest.approx(coordinate.psnr(truth, device), abs=1e-6)
    assert result.psnr_drop == pytest.approx(result.psnr - result.int8_psnr)
    with open(files["report"], encoding="utf-8") as f:
        assert json.load(f)["int8_psnr"] == pytest.approx(result.int8_psnr)


def test_missing_image_fails_before_writing(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.png"):
        coordinate.train_coordinate(image=str(tmp_path / "missing.png"), export_dir=str(tmp_path))
    with pytest.raises(ValueError, match="preset"):
        coordinate.train_coordinate(preset="huge", export_dir=str(tmp_path))
    assert os.listdir(tmp_path) == []


def test_compare_depths_equal_weights_and_resume(tmp_path, monkeypatch):
    monkeypatch.setattr(images, "default_image_path", lambda: None)
    kwargs = dict(height=6, width=6, depths=(1, 2), parameters=300, seconds=0.0, seeds=(0,),
                  out_dir=str(tmp_path))
    rows = coordinate.compare_depths(**kwargs)
    assert [r["depth"] for r in rows] == [1, 2]
    assert all(abs(r["parameters"] - 300) < 30 and r["epochs"] == 1 for r in rows)
    assert sorted(os.listdir(tmp_path)) == ["depth1_seed0.json", "depth2_seed0.json"]
    with open(tmp_path / "depth1_seed0.json", "w", encoding="utf-8") as f:
        json.dump({**rows[0], "psnr": 99.0}, f)
    again = coordinate.compare_depths(**kwargs)  # resumes from the JSON files
    assert again[0]["psnr"] == 99.0 and again[1] == rows[1]
    assert "| 2 |" in coordinate.depth_table(again)
