"""Single pictures for the coordinate networks: any PNG/JPEG, the Mona Lisa, or a test picture.

`load_image()` with no path reads the Mona Lisa that the optional `mvtb-data` package ships
(`mvtbdata/images/monalisa.png`, MIT; `pip install -e .[coordinate]`); without the package it
draws `test_picture`, so nothing needs the extra. Backend-agnostic (numpy + Pillow).

Example:
    >>> from tfmodels.data import images
    >>> picture = images.load_image(height=48)  # Mona Lisa if mvtb-data is installed
    >>> picture.dtype, picture.shape[0], picture.shape[2]
    (dtype('float32'), 48, 3)
"""

import importlib.util
import os

import numpy as np

MONA_LISA = ("mvtbdata", "images", "monalisa.png")


def default_image_path():
    """The Mona Lisa of the `mvtb-data` package, or None when the package is not installed."""
    spec = importlib.util.find_spec(MONA_LISA[0])
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(list(spec.submodule_search_locations)[0], *MONA_LISA[1:])
    return path if os.path.isfile(path) else None


def test_picture(height=64, width=64):
    """A generated RGB picture with sharp edges and smooth gradients (a disc, stripes, a ramp),
    the default when `mvtb-data` is absent. Same size, same picture.

    Returns:
        float32 `(height, width, 3)` in [0, 1].
    """
    for name, value in (("height", height), ("width", width)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    y, x = np.meshgrid(np.linspace(0, 1, height, dtype=np.float32),
                       np.linspace(0, 1, width, dtype=np.float32), indexing="ij")
    red = 0.2 + 0.6 * x
    green = 0.5 + 0.4 * np.sin(6 * np.pi * (x + y) / 2)
    blue = 0.3 + 0.5 * y
    disc = (x - 0.35) ** 2 + (y - 0.4) ** 2 < 0.2**2
    red, green, blue = (np.where(disc, v, c) for c, v in ((red, 0.95), (green, 0.85), (blue, 0.1)))
    square = (x > 0.6) & (x < 0.85) & (y > 0.6) & (y < 0.85)
    red, green, blue = (np.where(square, 0.05, c) for c in (red, green, blue))
    return np.clip(np.stack([red, green, blue], -1), 0, 1).astype(np.float32)


def load_image(path=None, height=None, width=None):
    """Reads a picture as float RGB in [0, 1], resized as asked.

    Args:
        path: a PNG/JPEG (anything Pillow reads; alpha is dropped, grey becomes RGB). None: the
            Mona Lisa (`default_image_path()`) if `mvtb-data` is installed, else
            `test_picture` (64 x 64 unless a size is given).
        height, width: output size; give one to keep the aspect ratio, neither for the
            file's own size.

    Returns:
        float32 `(height, width, 3)`.

    Raises:
        FileNotFoundError: `path` does not exist (named); ValueError: it is not a picture, or a
            bad size.
    """
    for name, value in (("height", height), ("width", width)):
        if value is not None and (not isinstance(value, (int, np.integer)) or value < 1):
            raise ValueError(f"{name} must be a positive int or None, got {value!r}")
    if path is None:
        path = default_image_path()
        if path is None:
            height = height or width or 64
            width = width or height
            return test_picture(height, width)
    from PIL import Image, UnidentifiedImageError

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"image path does not exist or is not a file: {path}")
    try:
        with Image.open(path) as image:
            image = image.convert("RGB")
    except (UnidentifiedImageError, OSError) as err:
        raise ValueError(f"image path {path} is not a picture Pillow can read: {err}") from None
    if height is None and width is not None:
        height = max(1, round(width * image.height / image.width))
    elif width is None and height is not None:
        width = max(1, round(height * image.width / image.height))
    if height is not None:
        image = image.resize((width, height), Image.Resampling.LANCZOS)
    return np.asarray(image, dtype=np.float32) / 255.0
