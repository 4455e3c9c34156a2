"""`tfmodels-train --task=char_lm|digits`: flags reach the task, its result is printed.

The tasks themselves are tested in tests/tasks (test_char_lm.py, test_digits.py); here they are
replaced by stand-ins that record their arguments, so that the script is tested in-process and
without training.
"""

import pytest
from absl import flags
from absl.testing import flagsaver

from tfmodels.cli import train
from tfmodels.tasks import char_lm, digits


class _Result:
    def __str__(self):
        return "<the task's result>"


@pytest.fixture
def calls(monkeypatch):
    recorded = []

    def record(name):
        return lambda **kwargs: recorded.append((name, kwargs)) or _Result()

    monkeypatch.setattr(digits, "train_digits", record("digits"))
    monkeypatch.setattr(char_lm, "train_char_lm", record("char_lm"))
    return recorded


def _run(argv):
    with flagsaver.flagsaver():
        flags.FLAGS(["tfmodels-train", *argv])
        train.main(["tfmodels-train"])


def test_digits_flags_reach_the_task(tmp_path, capsys, calls):
    _run(["--task=digits", "--cell=rnn", "--quantizer=ternary", "--epochs=1", "--units=4",
          f"--export_dir={tmp_path}", "--noquantize", "--seed=3", "--batch_size=16"])
    (task, kwargs), = calls
    assert task == "digits"
    assert kwargs == dict(cell="rnn", quantizer="ternary", stochastic=False, seed=3,
                          export_dir=str(tmp_path), int8=False, verbose=2, epochs=1,
                          batch_size=16, units=4, work_dir=str(tmp_path / "runs" / "digits"))
    assert capsys.readouterr().out == "<the task's result>\n"


def test_char_lm_flags_reach_the_task(tmp_path, capsys, calls):
    _run(["--task=char_lm", "--cell=gru", "--quantizer=pow2_ternary", "--stochastic",
          "--steps_per_epoch=2", "--seq_len=10", "--rnn_layers=2", f"--data_dir={tmp_path}"])
    (task, kwargs), = calls
    assert task == "char_lm"
    assert kwargs == dict(data_dir=str(tmp_path), cell="gru", quantizer="pow2_ternary",
                          stochastic=True, num_layers=2, seq_len=10, steps_per_epoch=2,
                          seed=0, export_dir="export", int8=True, verbose=2,
                          work_dir="export/runs/char_lm")
    assert capsys.readouterr().out == "<the task's result>\n"


def test_hm_lstm_flags_reach_the_task(tmp_path, calls):
    _run(["--task=char_lm", "--cell=hm_lstm", "--layer_norm", "--noslope_annealing",
          f"--data_dir={tmp_path}"])
    (task, kwargs), = calls
    assert kwargs["cell"] == "hm_lstm" and kwargs["num_layers"] is None
    assert kwargs["layer_norm"] is True and kwargs["slope_annealing"] is False
    assert "boundary_every" not in kwargs


def test_boundary_every_reaches_the_task(tmp_path, calls):
    _run(["--task=char_lm", "--cell=hm_lstm", "--boundary_every=7", f"--data_dir={tmp_path}"])
    (task, kwargs), = calls
    assert kwargs["boundary_every"] == 7


def test_unknown_quantizer_is_refused():
    with flagsaver.flagsaver(), pytest.raises(flags.IllegalFlagValueError):
        flags.FLAGS(["tfmodels-train", "--task=digits", "--quantizer=int4"])
