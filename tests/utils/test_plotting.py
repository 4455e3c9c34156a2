import pytest
from PIL import Image

from tfmodels.utils import plotting


def test_write_png_writes_a_readable_png_and_closes_the_figure(tmp_path):
    plt = plotting.pyplot()
    fig, ax = plt.subplots(figsize=(2, 1))
    ax.plot([0, 1], [1, 0])
    path = plotting.write_png(fig, tmp_path / "curve.png", dpi=50)
    with Image.open(path) as image:
        assert image.format == "PNG" and image.size == (100, 50)
    assert not plt.fignum_exists(fig.number)


def test_a_failed_write_keeps_the_previous_file(tmp_path, monkeypatch):
    plt = plotting.pyplot()
    path = tmp_path / "curve.png"
    path.write_bytes(b"previous")
    fig, _ = plt.subplots()

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(fig, "savefig", fail)
    with pytest.raises(OSError, match="disk full"):
        plotting.write_png(fig, path)
    assert path.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curve.png"]
    plt.close(fig)
