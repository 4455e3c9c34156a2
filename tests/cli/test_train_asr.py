"""`tfmodels-train --task=asr` flags reach the task's config."""

import pytest
from absl import flags

from tfmodels.cli import train, train_asr  # noqa: F401  (train defines --task)
from tfmodels.tasks import asr


@pytest.fixture
def parsed():
    def parse(*argv):
        flags.FLAGS.unparse_flags()
        flags.FLAGS(["tfmodels-train", "--task=asr", *argv])

    yield parse
    flags.FLAGS.unparse_flags()


def test_flags_build_the_config(monkeypatch, parsed, tmp_path):
    calls = []
    monkeypatch.setattr(asr, "run", lambda config, export, quantize: calls.append(
        (config, export, quantize)))
    parsed("--adversarial=false", "--seen_noises=babble,street", "--epochs=3", "--seed=7",
           f"--data_dir={tmp_path}", f"--export_dir={tmp_path}/out", "--lstm_units=32",
           "--gamma=5", "--noquantize", "--beam_width=4")
    train_asr.main()
    (config, export, quantize), = calls
    assert config.adversarial is False
    assert config.seen_noises == ("babble", "street")
    assert (config.epochs, config.seed, config.lstm_units, config.gamma) == (3, 7, (32,), 5.0)
    assert config.data_dir == str(tmp_path)
    assert config.export_dir == f"{tmp_path}/out/asr"
    assert config.beam_width == 4
    assert export is True and quantize is False


def test_defaults(monkeypatch, parsed):
    calls = []
    monkeypatch.setattr(asr, "run", lambda config, export, quantize: calls.append(config))
    parsed()
    train_asr.main()
    assert calls[0].adversarial is True
    assert calls[0].data_dir == "data/speech"
    assert calls[0].epochs == asr.ASRConfig().epochs


def test_augment_flag(monkeypatch, parsed):
    calls = []
    monkeypatch.setattr(asr, "run", lambda config, export, quantize: calls.append(config))
    parsed("--asr_augment")
    train_asr.main()
    parsed()
    train_asr.main()
    assert [c.augment for c in calls] == [True, False]
