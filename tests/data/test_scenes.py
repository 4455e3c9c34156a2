"""Tests for tfmodels.data.scenes: frames, determinism, CamVid layout, atomic writing."""

import json
import os

import numpy as np
import pytest
from PIL import Image

from tfmodels.data import camvid, scenes


def _files(root):
    out = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, root)] = f.read()
    return out


def test_class_ids_match_camvid():
    assert scenes.CLASS_NAMES == camvid.CLASS_NAMES
    assert (scenes.NUM_CLASSES, scenes.VOID) == (camvid.NUM_CLASSES, camvid.VOID)


def test_render_scene_is_deterministic_and_well_formed():
    image, label = scenes.render_scene(7, 64, 96)
    again = scenes.render_scene(7, 64, 96)
    other = scenes.render_scene(8, 64, 96)
    assert image.shape == (64, 96, 3) and image.dtype == np.uint8
    assert label.shape == (64, 96) and label.dtype == np.uint8
    np.testing.assert_array_equal(image, again[0])
    np.testing.assert_array_equal(label, again[1])
    assert not np.array_equal(image, other[0])
    assert label.max() <= scenes.VOID


def test_frames_look_like_streets():
    frames = [scenes.render_scene((1, 0, i), 64, 96) for i in range(12)]
    labels = np.stack([l for _, l in frames])
    present = set(np.unique(labels).tolist())
    # Every class shows up over a dozen frames, and void too.
    assert present == set(range(scenes.NUM_CLASSES + 1))
    for _, label in frames:
        assert 0 < (label == scenes.VOID).mean() < 0.15
        rows = np.arange(label.shape[0])[:, None] * np.ones_like(label)
        if (label == scenes.SKY).any() and (label == scenes.ROAD).any():
            # Perspective: sky above the horizon, road below it.
            assert rows[label == scenes.SKY].mean() < rows[label == scenes.ROAD].mean()
    bottom = labels[:, -6:]
    assert (bottom == scenes.ROAD).mean() > 0.4
    brightness = [image.mean() for image, _ in frames]
    assert np.std(brightness) > 5  # lighting varies from frame to frame


def test_render_scene_rejects_tiny_frames():
    with pytest.raises(ValueError, match="height"):
        scenes.render_scene(0, 16, 96)


def test_generate_writes_a_valid_camvid_layout(tmp_path):
    out = tmp_path / "scenes"
    summary = scenes.generate(
        str(out), seed=3, num_train=3, num_val=2, num_test=2, height=64, width=96
    )
    assert summary["counts"] == {"train": 3, "val": 2, "test": 2}
    assert summary["path"] == str(out) and summary["seconds"] > 0
    pixels = np.zeros(12, np.int64)
    for split, count in summary["counts"].items():
        files = camvid.list_split(str(out), split)  # the reader's validation accepts it
        assert len(files) == count and (files.height, files.width) == (64, 96)
        pixels[:11] += files.class_pixels
        pixels[11] += files.void_pixels
    names = list(camvid.CLASS_NAMES) + ["void"]
    expected = dict(zip(names, (pixels / pixels.sum()).tolist()))
    assert summary["class_pixel_frequency"] == pytest.approx(expected)
    stored = json.loads((out / "classes.json").read_text())
    assert stored["class_names"] == list(camvid.CLASS_NAMES) and stored["void"] == 11
    assert stored["class_pixel_frequency"] == pytest.approx(expected)
    assert "| 3 | Road |" in (out / "README.md").read_text()
    assert os.listdir(tmp_path) == ["scenes"]  # no temporary folders left behind
    image = Image.open(out / "train" / "scene_00000.png")
    assert (image.mode, image.size) == ("RGB", (96, 64))


def test_generate_is_deterministic_and_frames_depend_on_index_only(tmp_path):
    kwargs = dict(seed=5, num_train=2, num_val=1, num_test=1, height=32, width=64)
    scenes.generate(str(tmp_path / "a"), **kwargs)
    scenes.generate(str(tmp_path / "b"), **kwargs)
    scenes.generate(str(tmp_path / "c"), **{**kwargs, "num_val": 3})
    scenes.generate(str(tmp_path / "d"), **{**kwargs, "seed": 6})
    a, b, c, d = (_files(tmp_path / n) for n in "abcd")
    assert a == b
    frames = [k for k in a if k.endswith(".png") and k.startswith("train")]
    assert len(frames) == 4 and all(a[k] == c[k] for k in frames)
    assert all(a[k] != d[k] for k in frames)


def test_existing_target_is_refused_or_replaced(tmp_path):
    out = tmp_path / "scenes"
    out.mkdir()
    kwargs = dict(num_train=1, num_val=1, num_test=1, height=32, width=32)
    scenes.generate(str(out), **kwargs)  # an empty folder is fine
    (out / "mine.txt").write_text("keep")
    with pytest.raises(FileExistsError, match="not empty"):
        scenes.generate(str(out), **kwargs)
    assert (out / "mine.txt").read_text() == "keep"
    scenes.generate(str(out), overwrite=True, **kwargs)
    assert not (out / "mine.txt").exists() and (out / "classes.json").exists()
    assert sorted(os.listdir(tmp_path)) == ["scenes"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError, match="not a folder"):
        scenes.generate(str(tmp_path / "file"), **kwargs)


def test_failure_leaves_nothing_behind(tmp_path, monkeypatch):
    calls = []

    def failing(seed, height, width):
        calls.append(seed)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return np.zeros((height, width, 3), np.uint8), np.zeros((height, width), np.uint8)

    monkeypatch.setattr(scenes, "render_scene", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        scenes.generate(str(tmp_path / "scenes"), num_train=5, height=32, width=32)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    "kwargs, text",
    [({"num_train": 0}, "num_train"), ({"num_test": 1.5}, "num_test"), ({"width": 31}, "width")],
)
def test_generate_argument_errors(tmp_path, kwargs, text):
    with pytest.raises(ValueError, match=text):
        scenes.generate(str(tmp_path / "x"), **kwargs)
    assert not (tmp_path / "x").exists()
