"""`tfmodels-train --task=coordinate|mnist_mlp`: flags reach the tasks, artifacts land."""

import os

import numpy as np
from absl import flags
from absl.testing import flagsaver

from tfmodels.cli import train
from tfmodels.data import images, mnist


def _run(argv):
    with flagsaver.flagsaver():
        flags.FLAGS(["tfmodels-train", *argv])
        train.main(["tfmodels-train"])


def test_coordinate_with_a_picture(tmp_path, capsys):
    from PIL import Image

    Image.fromarray((images.test_picture(12, 24) * 255).astype(np.uint8)).save(tmp_path / "p.png")
    _run(["--task=coordinate", f"--image={tmp_path / 'p.png'}", "--image_height=6",
          "--coord_depth=2", "--coord_units=8", "--epochs=2", "--animate_every=0", "--noshallow",
          "--noquantize", f"--export_dir={tmp_path / 'out'}", "--seed=1"])
    out = capsys.readouterr().out
    assert "coordinate 2x8" in out and "p.png 6x12" in out
    written = sorted(os.listdir(tmp_path / "out" / "coordinate"))
    assert "truth_deep.png" in written and "learning.gif" not in written
    assert not any(name.endswith(".tflite") for name in written)


def test_mnist_mlp_flags(tmp_path, capsys):
    rng = np.random.default_rng(0)
    for split, count in (("train", 30), ("test", 10)):
        images_name, labels_name = mnist.FILES[split]
        mnist.write_idx(str(tmp_path / images_name), rng.integers(0, 256, (count, 28, 28),
                                                                  dtype=np.uint8))
        mnist.write_idx(str(tmp_path / labels_name), rng.integers(0, 10, count, dtype=np.uint8))
    _run(["--task=mnist_mlp", "--mnist_preset=deep_3x1024", "--mnist_loss=crossentropy",
          "--epochs=1", "--batch_size=10", "--validation=10", "--train_limit=10", f"--data_dir={tmp_path}",
          "--momentum=0", f"--export_dir={tmp_path / 'out'}"])
    out = capsys.readouterr().out
    assert "mnist_mlp deep_3x1024 (1024x1024x1024" in out and "crossentropy" in out
    assert (tmp_path / "out" / "wide_mlp_1024x1024x1024_crossentropy_seed0.first_layer.png").is_file()
