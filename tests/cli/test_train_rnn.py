"""`tfmodels-train --task=char_lm|digits`: flags reach the task, artifacts land in --export_dir."""

import pytest
from absl import flags
from absl.testing import flagsaver

from tfmodels.cli import train


def _run(argv):
    with flagsaver.flagsaver():
        flags.FLAGS(["tfmodels-train", *argv])
        train.main(["tfmodels-train"])


def test_digits_trains_and_exports_float_only(tmp_path, capsys):
    _run(["--task=digits", "--cell=rnn", "--quantizer=ternary", "--epochs=1", "--units=4",
          f"--export_dir={tmp_path}", "--noquantize", "--seed=3"])
    out = capsys.readouterr().out
    assert "digits rnn/ternary seed=3" in out
    assert (tmp_path / "digits_rnn_ternary.keras").is_file()
    assert (tmp_path / "digits_rnn_ternary_step.float32.tflite").is_file()
    assert not (tmp_path / "digits_rnn_ternary_step.int8.tflite").exists()


def test_char_lm_uses_flags(tmp_path, capsys):
    data = tmp_path / "text"
    data.mkdir()
    for split in ("train", "valid", "test"):
        (data / f"{split}.txt").write_text("the cat sat on the mat.\n" * 40)
    _run(["--task=char_lm", "--cell=gru", "--quantizer=pow2_ternary", "--stochastic",
          "--epochs=1", "--steps_per_epoch=2", "--units=8", "--seq_len=10", "--batch_size=4",
          f"--data_dir={data}", f"--export_dir={tmp_path / 'out'}", "--noquantize"])
    out = capsys.readouterr().out
    assert "char_lm gru/pow2_ternary (stochastic)" in out
    assert (tmp_path / "out" / "char_lm_gru_pow2_ternary_stochastic.vocab.json").is_file()


def test_unknown_quantizer_is_refused():
    with flagsaver.flagsaver(), pytest.raises(flags.IllegalFlagValueError):
        flags.FLAGS(["tfmodels-train", "--task=digits", "--quantizer=int4"])
