"""tfmodels.data.images: any picture, resized; the generated default; errors name the path."""

import numpy as np
import pytest
from PIL import Image

from tfmodels.data import images


def _write(path, size=(40, 20), mode="RGBA"):
    array = np.zeros((size[1], size[0], len(mode)), np.uint8)
    array[..., 0] = 255
    Image.fromarray(array, mode).save(path)


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_load_image_resizes_keeping_aspect(tmp_path, suffix):
    path = tmp_path / f"pic{suffix}"
    _write(path, mode="RGB")
    picture = images.load_image(path, height=10)
    assert picture.shape == (10, 20, 3) and picture.dtype == np.float32
    assert picture[..., 0].min() > 0.95 and picture[..., 1:].max() < 0.05
    assert images.load_image(path, height=7, width=3).shape == (7, 3, 3)
    assert images.load_image(path).shape == (20, 40, 3)


def test_alpha_is_dropped(tmp_path):
    _write(tmp_path / "a.png")
    assert images.load_image(tmp_path / "a.png", width=8).shape == (4, 8, 3)


def test_bad_paths_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.png"):
        images.load_image(tmp_path / "nope.png")
    (tmp_path / "text.png").write_text("not a picture")
    with pytest.raises(ValueError, match="text.png"):
        images.load_image(tmp_path / "text.png")
    with pytest.raises(ValueError, match="height"):
        images.load_image(None, height=0)


def test_default_without_the_extra_is_the_test_picture(monkeypatch):
    monkeypatch.setattr(images, "default_image_path", lambda: None)
    picture = images.load_image(height=12, width=16)
    np.testing.assert_array_equal(picture, images.test_picture(12, 16))
    assert picture.shape == (12, 16, 3) and 0 <= picture.min() and picture.max() <= 1
    assert picture.std() > 0.1  # edges and gradients to learn, not a flat colour
