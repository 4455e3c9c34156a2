"""`tfmodels-train --task=ppgn`: flags reach the task, the parts train on idx fixtures, the
figures and report land in --export_dir/ppgn."""

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


def test_ppgn_from_the_command_line(tmp_path, capsys):
    rng = np.random.default_rng(0)
    for split, n in (("train", 64), ("test", 40)):
        labels = np.arange(n) % 10
        images = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
        images[np.arange(n), 2 * labels + 4, :] = 255  # learnable: the label's row lights up
        images_name, labels_name = mnist.FILES[split]
        mnist.write_idx(tmp_path / images_name, images)
        mnist.write_idx(tmp_path / labels_name, labels.astype(np.uint8))
    _run(["--task=ppgn", "--epochs=1", "--ppgn_classifier_epochs=1", "--ppgn_dae_epochs=1",
          "--ppgn_steps=2", "--ppgn_samples_per_class=2", "--ppgn_code_units=8",
          "--ppgn_neurons=2", "--ppgn_variants=dgn_am", "--ppgn_variants=joint_ppgn_h",
          "--validation=4", "--batch_size=32", f"--data_dir={tmp_path}",
          f"--export_dir={tmp_path / 'out'}"])
    out = capsys.readouterr().out
    assert "ppgn on MNIST" in out and "joint_ppgn_h" in out and "ppgn_x" not in out
    folder = tmp_path / "out" / "ppgn"
    for name in ("dgn_am.png", "joint_ppgn_h.png", "joint_ppgn_h.gif", "inpainting.png",
                 "neurons_with_prior.png", "generator.keras", "code_dae.keras"):
        assert (folder / name).is_file(), name
    report = json.loads((folder / "report.json").read_text())
    assert set(report["variants"]) == {"dgn_am", "joint_ppgn_h"}
    assert report["inpainting"]["visible_max_change"] == 0.0
    for row in report["variants"].values():
        assert 1.0 <= row["inception_score"] <= 10.0 and 0.0 <= row["accuracy"] <= 1.0


def test_unknown_variant_is_refused():
    with flagsaver.flagsaver(), pytest.raises(flags.IllegalFlagValueError):
        flags.FLAGS(["tfmodels-train", "--task=ppgn", "--ppgn_variants=ppgn_z"])
