"""`tfmodels-train --task=char_lm --training=...` reaches the task (a stand-in records it)."""

import pytest
from absl import flags
from absl.testing import flagsaver

from tfmodels.cli import train
from tfmodels.tasks import char_lm


@pytest.fixture
def calls(monkeypatch):
    recorded = []
    monkeypatch.setattr(char_lm, "train_char_lm",
                        lambda **kwargs: recorded.append(kwargs) or "<result>")
    return recorded


def _run(argv):
    with flagsaver.flagsaver():
        flags.FLAGS(["tfmodels-train", *argv])
        train.main(["tfmodels-train"])


@pytest.mark.parametrize("training", ["professor", "scheduled"])
def test_training_flag_reaches_the_task(tmp_path, calls, training):
    _run(["--task=char_lm", "--cell=lstm", f"--training={training}", f"--data_dir={tmp_path}"])
    (kwargs,) = calls
    assert kwargs["training"] == training and kwargs["cell"] == "lstm"


def test_default_run_does_not_pass_training(tmp_path, calls):
    _run(["--task=char_lm", f"--data_dir={tmp_path}"])
    assert "training" not in calls[0]


def test_unknown_training_is_refused_by_the_flag_parser():
    with flagsaver.flagsaver(), pytest.raises(flags.IllegalFlagValueError):
        flags.FLAGS(["tfmodels-train", "--task=char_lm", "--training=professors"])
