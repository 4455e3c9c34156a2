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


# Bringing a corpus: one tiny epoch on each real layout, in process.

TINY_FLAGS = ("--epochs=1", "--batch_size=4", "--lstm_units=8", "--noasr_export",
              "--asr_verbose=0", "--adversarial=false")


@pytest.mark.parametrize("layout, extra", [
    ("kaldi", ("--seen_noises=white,babble",)),
    ("speech_commands", ("--seen_noises=white,running_tap", "--unseen_noises=hum,pink")),
])
def test_trains_on_a_brought_corpus(parsed, tmp_path, layout, extra):
    from tests.data import speech_fixtures as fx

    root = (fx.write_kaldi if layout == "kaldi" else fx.write_speech_commands)(tmp_path / layout)
    parsed(f"--data_dir={root}", f"--export_dir={tmp_path}/out", "--vocabulary=corpus",
           *TINY_FLAGS, *extra)
    with pytest.warns(UserWarning, match="resampled to 16000 Hz"):
        train.main(["tfmodels-train"])
    (saved,) = (tmp_path / "out" / "asr").glob("*.json")
    result = __import__("json").loads(saved.read_text())
    assert result["vocabulary"] == ["down", "no", "up", "yes"]
    assert (tmp_path / "out" / "asr" / saved.name.replace(".json", ".keras")).is_file()
    unseen = set(result["wer"]["unseen"]) - {"all"}
    if layout == "speech_commands":
        assert {"hum", "pink"} <= unseen  # a recorded noise is an unseen type
    assert len(result["history"]["loss"]) == 1
    assert any("mixed in on the fly" in note for note in result["notes"])


def test_bad_corpus_ends_with_one_error_line(parsed, tmp_path, capsys):
    from tests.data import speech_fixtures as fx

    root = fx.write_kaldi(tmp_path / "kaldi")
    (root / "test" / "wav.scp").write_text("spk4-yes-0 flac -d -c x.flac |\n")
    parsed(f"--data_dir={root}", f"--export_dir={tmp_path}/out", *TINY_FLAGS)
    with pytest.raises(SystemExit) as exit_info:
        train.main(["tfmodels-train"])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]
    assert err[0].startswith("tfmodels-train: error: ") and "is a command pipe" in err[0]
    assert "test/wav.scp, line 1" in err[0]
    assert not (tmp_path / "out").exists()


def test_feature_normalization_flag(monkeypatch, parsed):
    calls = []
    monkeypatch.setattr(asr, "run", lambda config, export, quantize: calls.append(config))
    parsed()
    train_asr.main()
    parsed("--feature_normalization=causal")
    train_asr.main()
    assert [c.feature_normalization for c in calls] == ["utterance", "causal"]
    with pytest.raises(flags.IllegalFlagValueError):
        parsed("--feature_normalization=batch")
def test_augment_flag(monkeypatch, parsed):
    calls = []
    monkeypatch.setattr(asr, "run", lambda config, export, quantize: calls.append(config))
    parsed("--asr_augment")
    train_asr.main()
    parsed()
    train_asr.main()
    assert [c.augment for c in calls] == [True, False]


def test_speed_perturb_and_spec_augment_flags(monkeypatch, parsed):
    calls = []
    monkeypatch.setattr(asr, "run", lambda config, export, quantize: calls.append(config))
    parsed("--asr_speed_perturb", "--spec_augment")
    train_asr.main()
    parsed("--asr_speed_perturb", "--asr_augment")
    train_asr.main()
    assert [c.augment for c in calls] == ["speed", True]
    assert calls[0].spec_augment == asr.DEFAULT_SPEC_AUGMENT and calls[1].spec_augment is None


def test_output_delay_flag(monkeypatch, parsed):
    calls = []
    monkeypatch.setattr(asr, "run", lambda config, export, quantize: calls.append(config))
    parsed()
    train_asr.main()
    parsed("--output_delay=0")
    train_asr.main()
    assert [c.output_delay for c in calls] == [asr.ASRConfig().output_delay, 0]
    with pytest.raises(flags.IllegalFlagValueError):
        parsed("--output_delay=-1")
