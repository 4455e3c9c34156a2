"""`tfmodels-train --task=probes`: flags reach the experiment, files land in --export_dir."""

import json

import numpy as np
import pytest
from absl import flags
from absl.testing import flagsaver

from tfmodels.cli import train
from tfmodels.data import mnist


def _run(argv):
    with flagsaver.flagsaver():
        flags.FLAGS(["tfmodels-train", *argv])
        train.main(["tfmodels-train"])


def test_mnist_probes_from_the_command_line(tmp_path, capsys):
    rng = np.random.default_rng(0)
    for split, n in (("train", 40), ("test", 4)):
        images_name, labels_name = mnist.FILES[split]
        mnist.write_idx(tmp_path / images_name, rng.integers(0, 255, (n, 28, 28)).astype(np.uint8))
        mnist.write_idx(tmp_path / labels_name, rng.integers(0, 10, n).astype(np.uint8))
    _run(["--task=probes", "--experiment=mnist", "--epochs=1", "--train_examples=20", "--probe_examples=12",
          "--probe_reduce=pool", f"--data_dir={tmp_path}", f"--export_dir={tmp_path / 'out'}"])
    out = capsys.readouterr().out
    assert "probes mnist seed=0, 1 epochs" in out
    assert (tmp_path / "out" / "probes" / "mnist" / "probes.png").is_file()


def test_unknown_experiment_is_refused():
    with flagsaver.flagsaver(), pytest.raises(flags.IllegalFlagValueError):
        flags.FLAGS(["tfmodels-train", "--task=probes", "--experiment=cifar"])


def test_deep_mlp_flags_reach_the_model(tmp_path, capsys):
    rng = np.random.default_rng(0)
    for split, n in (("train", 40), ("test", 4)):
        images_name, labels_name = mnist.FILES[split]
        mnist.write_idx(tmp_path / images_name, rng.integers(0, 255, (n, 28, 28)).astype(np.uint8))
        mnist.write_idx(tmp_path / labels_name, rng.integers(0, 10, n).astype(np.uint8))
    _run(["--task=probes", "--experiment=deep_mlp", "--epochs=1", "--train_examples=20",
          "--probe_examples=12", "--mlp_depth=4", "--mlp_width=6", "--mlp_init=glorot",
          "--probes_learning_rate=0.01",
          f"--data_dir={tmp_path}", f"--export_dir={tmp_path / 'out'}"])
    out = capsys.readouterr().out
    assert "probes deep_mlp seed=0, 1 epochs" in out and "leaky_4" in out and "leaky_5" not in out
    out_dir = tmp_path / "out" / "probes" / "deep_mlp"
    assert "4-layer leaky-ReLU MLP (6 units, glorot init)" in (out_dir / "probes.json").read_text()
    assert json.loads((out_dir / "report.json").read_text())["learning_rate"] == 0.01
