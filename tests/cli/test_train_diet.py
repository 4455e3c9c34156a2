"""`tfmodels-train --task=diet`: flags reach the task, the table prints, artifacts land."""

import os

import pytest
from absl import flags
from absl.testing import flagsaver

from tfmodels.cli import train


def _run(argv):
    with flagsaver.flagsaver():
        flags.FLAGS(["tfmodels-train", *argv])
        train.main(["tfmodels-train"])


def test_diet_simulated(tmp_path, capsys):
    _run(["--task=diet", "--diet_models=basic,histogram", "--diet_snps=80",
          "--diet_samples_per_population=4", "--diet_folds=3", "--diet_run_folds=0",
          "--epochs=1", "--batch_size=32", "--noquantize", f"--export_dir={tmp_path}"])
    out = capsys.readouterr().out
    assert "| basic |" in out and "| histogram |" in out and "folds [0] of 3" in out
    written = sorted(os.listdir(tmp_path / "diet"))
    assert written == ["diet_histogram.keras", "report.json"]


def test_diet_bad_folds_flag(tmp_path, capsys):
    with pytest.raises(SystemExit):
        _run(["--task=diet", "--diet_run_folds=a", f"--export_dir={tmp_path}"])
    assert "--diet_run_folds must be comma-separated ints" in capsys.readouterr().err
