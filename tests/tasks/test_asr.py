"""The ASR task on a tiny generated corpus: splits, WER bookkeeping, probe, saving, errors."""

import dataclasses
import json
import os
import shutil

import keras
import numpy as np
import pytest

from tfmodels.data import speech
from tfmodels.tasks import asr
from tests.data import speech_fixtures as fx

TINY = dict(conv_filters=(8, 8), conv_strides=(2, 2), lstm_units=(12, 12), adversary_units=6,
            epochs=1, batch_size=8)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("speech") / "corpus"
    return speech.generate(root, seed=3, train_utterances=6, dev_utterances=6, test_utterances=3,
                           seen_noise_types=("babble", "white"),
                           unseen_noise_types=("pink", "clicks"), snrs_db=(0, 10))


def test_splits_follow_the_seen_noises(corpus):
    vocabulary, classes, splits = asr.load_splits(corpus, ["white"])
    assert classes == ("clean", "white")
    assert {r.noise for r in splits["train"]} == {"clean", "white"}
    assert len(splits["train"]) == 12  # each utterance clean + once noisy
    assert {r.noise for r in splits["seen"]} == {"white"}
    assert {r.noise for r in splits["unseen"]} == {"pink", "clicks"}
    assert {r.noise for r in splits["clean"]} == {"clean"}
    with pytest.raises(ValueError, match="music"):
        asr.load_splits(corpus, ["music"])


class Oracle:
    """Stands in for a model: emits logits that spell the queued transcripts, in order."""

    def __init__(self, transcripts, vocabulary):
        self.queue = [vocabulary.encode(t) for t in transcripts]

    def predict_on_batch(self, x):
        size = int(np.shape(x["waveform"])[0])
        rows, self.queue = self.queue[:size], self.queue[size:]
        frames = 2 * max(len(r) for r in rows) + 1
        logits = np.full((size, frames, 12), -10.0, np.float32)
        logits[:, :, 0] = 10.0
        for i, row in enumerate(rows):
            for j, label in enumerate(row):
                logits[i, 2 * j + 1, 0], logits[i, 2 * j + 1, label] = -10.0, 10.0
        return {"logits": logits, "frame_length": np.full(size, frames, np.int32)}


def test_wer_per_snr_and_noise_type(corpus):
    vocabulary, _, splits = asr.load_splits(corpus, ["babble", "white"])
    records = splits["seen"]
    hypotheses = [r.text for r in records]
    # Break exactly one word of the first 0 dB utterance.
    first = next(i for i, r in enumerate(records) if r.snr_db == 0)
    words = hypotheses[first].split()
    words[0] = "one" if words[0] != "one" else "two"
    hypotheses[first] = " ".join(words)
    result = asr.evaluate_wer(Oracle(hypotheses, vocabulary), records, vocabulary, batch_size=4)
    zero_db = [r for r in records if r.snr_db == 0]
    total = sum(len(r.text.split()) for r in records)
    assert result["all"] == pytest.approx(1 / total)
    assert result["0dB"] == pytest.approx(1 / sum(len(r.text.split()) for r in zero_db))
    assert result["10dB"] == 0.0
    noise = records[first].noise
    assert result[noise] == pytest.approx(
        1 / sum(len(r.text.split()) for r in records if r.noise == noise))


def test_baseline_is_the_same_network_without_the_discriminator():
    config = asr.ASRConfig(adversarial=False, **TINY)
    baseline = asr.build_model(config, 12, 3, ramp_steps=10)
    adversarial = asr.build_model(asr.ASRConfig(**TINY), 12, 3, ramp_steps=10)
    names = {w.path for w in baseline.weights}
    extra = {w.path for w in adversarial.weights} - names
    assert names <= {w.path for w in adversarial.weights}
    assert {e.split("/")[0] for e in extra} == {"gradient_reversal", "noise_hidden", "noise_logits"}


@pytest.fixture(scope="module")
def trained(corpus, tmp_path_factory):
    """One tiny adversarial run shared by the tests below (the baseline takes the same path
    minus the discriminator, checked above)."""
    config = asr.ASRConfig(data_dir=str(corpus), seen_noises=("babble", "white"),
                           adversarial=True, export_dir=str(tmp_path_factory.mktemp("asr")),
                           seed=1, **TINY)
    return asr.train_asr(config)


def _word_edits(reference, hypothesis):
    """Levenshtein distance between two word lists (substitutions, insertions, deletions)."""
    row = list(range(len(hypothesis) + 1))
    for i, ref_word in enumerate(reference, 1):
        previous, row[0] = row[0], i
        for j, hyp_word in enumerate(hypothesis, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1,
                                           previous + (ref_word != hyp_word))
    return row[-1]


def test_word_edits_by_hand():
    assert _word_edits("one two three".split(), "one three".split()) == 1
    assert _word_edits("one two".split(), "two one one".split()) == 2
    assert _word_edits([], "oh".split()) == 1


@pytest.mark.parametrize("split, groups", [
    ("clean", ()),
    ("seen", ("0dB", "10dB", "babble", "white")),
    ("unseen", ("0dB", "10dB", "pink", "clicks")),
])
def test_wer_is_that_of_the_model_transcripts(corpus, trained, split, groups):
    vocabulary, _, splits = asr.load_splits(corpus, ["babble", "white"])
    records = splits[split]
    hypotheses = asr.transcribe(trained.model, records, vocabulary)
    assert set(trained.wer) == {"clean", "seen", "unseen"}
    assert set(trained.wer[split]) == {"all", *groups}

    def rate(keep):
        pairs = [(r.text.split(), h.split()) for r, h in zip(records, hypotheses) if keep(r)]
        return sum(_word_edits(ref, hyp) for ref, hyp in pairs) / sum(len(ref) for ref, _ in pairs)

    expected = {"all": rate(lambda r: True)}
    for group in groups:
        expected[group] = rate(lambda r, g=group: g in (f"{r.snr_db:g}dB", r.noise))
    assert trained.wer[split] == pytest.approx(expected)


def test_probe_and_discriminator_figures(trained):
    assert 0.0 <= trained.probe_accuracy <= 1.0
    # dev is half clean, half noisy: the majority class is clean, at least half the probe set.
    assert 0.5 <= trained.probe_chance < 1.0
    assert 0.0 <= trained.discriminator_accuracy <= 1.0
    assert len(trained.history["loss"]) == 1


@pytest.fixture(scope="module")
def trained_global(corpus):
    config = asr.ASRConfig(data_dir=str(corpus), seen_noises=("babble", "white"),
                           adversarial=False, features={"normalization": "global"}, seed=1,
                           **TINY)
    return asr.train_asr(config)


def test_global_features_are_adapted_to_the_training_set(corpus, trained_global):
    # "global" normalization uses fixed per-bin statistics of the training records (clean
    # and noisy), set before fitting, not those of each utterance.
    layer = trained_global.model.get_layer("features")
    assert layer.normalization == "global"
    vocabulary, classes, splits = asr.load_splits(corpus, ["babble", "white"], seed=1)
    frames = []
    for record in splits["train"]:
        wave = asr.read_waveform(record)[None]
        frames.append(keras.ops.convert_to_numpy(layer.log_mel(wave))[0])
    frames = np.concatenate(frames)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer.mean), frames.mean(0),
                               rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer.variance), frames.var(0),
                               rtol=1e-2, atol=1e-3)


def test_saved_model_and_json_reproduce_the_run(trained):
    loaded = keras.saving.load_model(trained.model_path)
    rng = np.random.default_rng(0)
    x = {"waveform": rng.normal(0, 0.1, (1, 3200)).astype("float32"),
         "waveform_length": np.array([3200])}
    np.testing.assert_allclose(loaded.predict(x, verbose=0)["logits"],
                               trained.model.predict(x, verbose=0)["logits"], atol=1e-6)
    with open(trained.model_path.replace(".keras", ".json")) as f:
        saved = json.load(f)
    assert saved["wer"] == trained.wer
    assert saved["config"]["seed"] == 1 and saved["model_path"] == trained.model_path
    # The gradient-reversal ramp spans all training steps and survives the save.
    ramp = loaded.get_layer("gradient_reversal")
    steps_per_epoch = -(-12 // 8)  # 12 training utterances (6 clean + 6 noisy), batch 8
    assert ramp.ramp_steps == steps_per_epoch
    assert float(keras.ops.convert_to_numpy(ramp.steps)) == steps_per_epoch


def test_format_result_names_the_system_and_the_rates(trained):
    text = asr.format_result(trained)
    first = text.splitlines()[0]
    assert first.startswith("system: adversarial") and "baseline" not in text
    for split in ("clean", "seen", "unseen"):
        assert f"WER {split:7s} {trained.wer[split]['all']:.3f}" in text
    assert f"{trained.discriminator_accuracy:.3f}" in text.splitlines()[-1]
    baseline = dataclasses.replace(trained, config={**trained.config, "adversarial": False},
                                   discriminator_accuracy=None)
    text = asr.format_result(baseline)
    assert text.startswith("system: baseline") and "discriminator" not in text


def test_corpus_folder_without_manifest(tmp_path):
    (tmp_path / "stray.txt").write_text("x")
    with pytest.raises(FileNotFoundError, match="train.jsonl"):
        asr.ensure_corpus(tmp_path)


# Corpora users bring


def test_wer_accepts_noise_labels_outside_the_generated_types(corpus):
    vocabulary, _, splits = asr.load_splits(corpus, ["babble", "white"])
    records = [dataclasses.replace(r, noise=("car", "airport")[i % 2])
               for i, r in enumerate(splits["unseen"])]
    hypotheses = [r.text for r in records]
    hypotheses[0] = "oh oh oh oh oh oh oh oh"
    result = asr.evaluate_wer(Oracle(hypotheses, vocabulary), records, vocabulary, batch_size=4)
    assert set(result) >= {"all", "car", "airport"}
    assert result["car"] > 0 and result["airport"] == 0.0
    # Transcripts in another case (Kaldi's upper case) are scored in the vocabulary's spelling.
    upper = [dataclasses.replace(r, text=r.text.upper()) for r in records]
    result = asr.evaluate_wer(Oracle([r.text for r in records], vocabulary), upper, vocabulary)
    assert result["all"] == 0.0


def _noisy_manifest_corpus(corpus, root, dev_clean_only):
    shutil.copytree(corpus, root)
    if dev_clean_only:
        lines = (root / "dev.jsonl").read_text().splitlines()
        (root / "dev.jsonl").write_text(
            "".join(line + "\n" for line in lines if json.loads(line)["noise"] == "clean"))
    return root


def test_clean_only_dev_skips_the_probe_with_a_note(corpus, tmp_path):
    root = _noisy_manifest_corpus(corpus, tmp_path / "c", dev_clean_only=True)
    config = asr.ASRConfig(data_dir=str(root), seen_noises=("white",), adversarial=False,
                           export_dir=str(tmp_path / "out"), **TINY)
    result = asr.train_asr(config)
    assert result.probe_accuracy is None and result.probe_chance is None
    assert any(n.startswith("noise probe skipped: probe needs") for n in result.notes)
    assert "noise probe accuracy on tap features: not measured" in asr.format_result(result)
    assert os.path.isfile(result.model_path)


def test_noisy_training_data_without_noisy_tests_gets_them_mixed(corpus, tmp_path):
    root = _noisy_manifest_corpus(corpus, tmp_path / "c", dev_clean_only=False)
    (root / "test_seen.jsonl").unlink()
    (root / "test_unseen.jsonl").unlink()
    data = asr.prepare_data(root, ("white",))
    assert {r.noise for r in data.splits["seen"]} == {"white"}
    unseen = {r.noise for r in data.splits["unseen"]}
    assert unseen and unseen.isdisjoint({"clean", "white", "babble"})  # babble is in train
    assert all(r.mix_noise for r in data.splits["seen"] + data.splits["unseen"])
    assert set(data.mixers) == {"seen", "unseen"}
    with pytest.raises(ValueError, match=r"no unseen-noise test utterances .*\['car'\]"):
        asr.prepare_data(root, ("white",), unseen_noises=("car",))


def test_a_clean_corpus_gets_noise_mixed_in(tmp_path):
    root = fx.write_kaldi(tmp_path / "kaldi")
    with pytest.warns(UserWarning, match="resampled"):
        data = asr.prepare_data(root, ("white", "babble"), vocabulary="corpus")
    assert data.vocabulary.tokens == ("down", "no", "up", "yes")
    train = data.splits["train"]
    assert [r.noise for r in train].count("clean") == len(train) // 2
    assert {r.noise for r in train if r.mix_noise} == {"white", "babble"}
    assert all(r.snr_db is None for r in train if r.mix_noise)  # drawn every epoch
    assert {r.noise for r in data.splits["clean"]} == {"clean"}
    assert {r.noise for r in data.splits["unseen"]}.isdisjoint({"clean", "white", "babble"})
    assert set(data.mixers) == {"train", "dev", "clean", "seen", "unseen"}
    # Test babble comes from test speech, not from training speakers.
    assert data.mixers["seen"] is not data.mixers["train"]


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(), r"4 words of the transcripts are outside the vocabulary.*--vocabulary=corpus"),
    (dict(vocabulary="corpus", seen_noises=("car",)),
     r"a clean corpus; noise is mixed in.*unknown noise types \['car'\]"),
])
def test_bad_corpus_fails_before_any_folder_is_made(tmp_path, kwargs, pattern):
    root = fx.write_speech_commands(tmp_path / "sc")
    config = asr.ASRConfig(data_dir=str(root), export_dir=str(tmp_path / "out"),
                           work_dir=str(tmp_path / "work"), **{**TINY, **kwargs})
    with pytest.warns(UserWarning), pytest.raises(ValueError, match=pattern):
        asr.train_asr(config)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sc"]


def test_experiment_table_mean_and_std():
    from tfmodels.tasks.asr_experiment import markdown_table

    def fake(unseen):
        wer = {"clean": {"all": 0.1}, "seen": {"all": 0.2}, "unseen": {"all": unseen}}
        return asr.ASRResult(config={}, wer=wer, probe_accuracy=0.5, probe_chance=0.5,
                             discriminator_accuracy=None, train_seconds=0.0, history={})

    table = markdown_table({(True, ("babble",)): [fake(0.3), fake(0.5)],
                            (False, ("babble",)): [fake(0.4)]})
    rows = table.strip().splitlines()
    assert rows[2].startswith("| babble | baseline | 1 |")
    assert "0.400 ± 0.141" in rows[3]  # mean 0.4, sample std of {0.3, 0.5}
    skipped = dataclasses.replace(fake(0.3), probe_accuracy=None, probe_chance=None)
    row = markdown_table({(False, ("babble",)): [skipped]}).strip().splitlines()[2]
    assert "| n/a (nan) |" in row  # a run without a noise probe still tabulates


def test_experiment_saves_runs_resumes_and_tabulates(tmp_path, monkeypatch):
    from tfmodels.tasks import asr_experiment

    trained = []

    def fake_train(config):
        trained.append((config.adversarial, config.seen_noises, config.seed))
        unseen = 0.3 + 0.1 * config.seed + (0.05 if config.adversarial else 0.0)
        wer = {"clean": {"all": 0.1}, "seen": {"all": 0.2}, "unseen": {"all": unseen}}
        return asr.ASRResult(config=dataclasses.asdict(config), wer=wer, probe_accuracy=0.6,
                             probe_chance=0.5, discriminator_accuracy=None,
                             train_seconds=10.0, history={})

    monkeypatch.setattr(asr, "train_asr", fake_train)
    runs, out = tmp_path / "runs", tmp_path / "table.md"
    seen_sets = (("babble",), ("babble", "white"))
    asr_experiment.run_experiment(asr.ASRConfig(), seeds=(0,), seen_sets=seen_sets, out=out,
                                  runs_dir=runs, header="# h\n", log=lambda _: None)
    # Seeds outermost: seed 0 covers every (seen set, system) first.
    assert trained == [(False, ("babble",), 0), (True, ("babble",), 0),
                       (False, ("babble", "white"), 0), (True, ("babble", "white"), 0)]
    assert (runs / "adversarial_babble-white_seed0.json").is_file()
    results = asr_experiment.run_experiment(asr.ASRConfig(), seeds=(0, 1), seen_sets=seen_sets,
                                            out=out, runs_dir=runs, log=lambda _: None)
    assert len(trained) == 8  # seed 0 was not trained again
    assert [r.config["seed"] for r in results[(True, ("babble",))]] == [0, 1]
    rows = out.read_text().strip().splitlines()
    assert len(rows) == 2 + 4
    adversarial_babble = next(r for r in rows if r.startswith("| babble | adversarial"))
    assert "| 2 |" in adversarial_babble
    assert "0.400 ± 0.071" in adversarial_babble  # unseen WER 0.35, 0.45


def test_causal_run_exports_the_raw_audio_stream(corpus, tmp_path):
    from tfmodels.export.streaming_transcriber import StreamingTranscriber

    config = asr.ASRConfig(data_dir=str(corpus), seen_noises=("babble",), adversarial=False,
                           export_dir=str(tmp_path / "asr"), seed=2,
                           feature_normalization="causal", **TINY)
    result, exported = asr.run(config, calibration_utterances=2, print_fn=lambda *_: None)
    features = result.model.get_layer("features")
    assert features.normalization == "causal"
    # Adapted on the training set before training: no longer the zero / one initial values.
    assert np.abs(keras.ops.convert_to_numpy(features.mean)).min() > 0.5
    for key in ("stream_tflite", "stream_tflite.dynamic_int8"):
        assert os.path.isfile(exported[key])
    record = asr.load_splits(corpus, ("babble",))[2]["clean"][0]
    wave = asr.read_waveform(record)
    out = result.model.predict(
        {"waveform": wave[None], "waveform_length": np.array([len(wave)], "int32")}, verbose=0)
    logits = out["logits"][0]
    want = speech.Vocabulary().decode(asr.greedy_decode(out["logits"], out["frame_length"])[0])
    # The recipe's output delay (3 frames by default) is the transcriber's to skip.
    assert result.model.output_delay == config.output_delay > 0
    # Configured from the JSON the export wrote beside the file: tokens, hop, output delay.
    transcriber = StreamingTranscriber.from_export(exported["stream_tflite"])
    assert transcriber.output_delay == result.model.output_delay
    assert transcriber.tokens == list(speech.Vocabulary().tokens)
    assert transcriber.frame_step == features.frame_step
    assert transcriber.transcribe(wave, 800) == want
    # One epoch may still decode to nothing; the frames themselves are the offline ones.
    log_softmax = logits - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(
        -1, keepdims=True)) - logits.max(-1, keepdims=True)
    np.testing.assert_allclose(transcriber.final_log_probs, log_softmax, atol=1e-3)


def test_bad_feature_normalization_fails_first(tmp_path):
    config = asr.ASRConfig(data_dir=str(tmp_path / "none"), feature_normalization="batch")
    with pytest.raises(ValueError, match="feature_normalization"):
        asr.train_asr(config)
    assert not (tmp_path / "none").exists()


def test_make_augmenter_kinds():
    assert asr.make_augmenter(False) is None and asr.make_augmenter("none") is None
    full = asr.make_augmenter(True, seed=2)
    assert full.vtlp_prob > 0 and full.seed == 2
    speed = asr.make_augmenter("speed", seed=1)
    assert (speed.vtlp_prob, speed.reverb_prob, speed.band_prob, speed.gain_prob) == (0, 0, 0, 0)
    # Speed perturbation only: the length scales by 1 / factor, the level is not touched.
    audio = 0.3 * np.sin(np.arange(16000) * 2 * np.pi * 440 / 16000).astype("float32")
    lengths = {len(speed(audio)) for _ in range(30)}
    assert lengths <= {16000, round(16000 / 0.9), round(16000 / 1.1)} and len(lengths) > 1
    with pytest.raises(ValueError, match="augment"):
        asr.make_augmenter("vtlp")


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(augment="pitch"), "augment"),
    (dict(spec_augment=True), "spec_augment"),
])
def test_bad_augmentation_fails_first(tmp_path, kwargs, pattern):
    config = asr.ASRConfig(data_dir=str(tmp_path / "none"), **kwargs)
    with pytest.raises(ValueError, match=pattern):
        asr.train_asr(config)
    assert not (tmp_path / "none").exists()


class _StopAtEpoch(keras.callbacks.Callback):
    """Records the epochs begun and the state at their start; raises at the start of `stop`
    (a simulated interruption between epochs)."""

    def __init__(self, stop=None):
        super().__init__()
        self.stop, self.epochs, self.states = stop, [], {}

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)
        self.states[epoch] = (
            [np.array(w) for w in self.model.get_weights()],
            int(keras.ops.convert_to_numpy(self.model.optimizer.iterations)))
        if epoch == self.stop:
            raise KeyboardInterrupt("simulated interruption")


def test_interrupted_run_resumes_at_the_next_epoch_with_the_same_state(corpus, tmp_path):
    # What ASRConfig.work_dir promises: an interrupted run, rerun with the same folder,
    # resumes from its last finished epoch (BackupAndRestore). The rerun must start at epoch 1
    # with the weights (the gradient reversal's step counter included) and optimizer step
    # that epoch 0 left, not train epoch 0 again; then finish and clear its backup.
    config = asr.ASRConfig(data_dir=str(corpus), seen_noises=("white",), adversarial=True,
                           export_dir=str(tmp_path / "export"), work_dir=str(tmp_path / "run"),
                           seed=2, **{**TINY, "epochs": 2, "lstm_units": (6,),
                                      "conv_filters": (4, 4)})
    first = _StopAtEpoch(stop=1)
    with pytest.raises(KeyboardInterrupt):
        asr.train_asr(config, callbacks=[first])
    assert first.epochs == [0, 1]
    assert os.listdir(tmp_path / "run" / "backup" / "train")
    second = _StopAtEpoch()
    result = asr.train_asr(config, callbacks=[second])
    assert second.epochs == [1]
    (want_weights, want_step), (got_weights, got_step) = first.states[1], second.states[1]
    assert got_step == want_step > 0
    assert len(got_weights) == len(want_weights)
    for got, want in zip(got_weights, want_weights):
        np.testing.assert_array_equal(got, want)
    # The whole curve, each epoch once; the finished run leaves no backup behind.
    with open(tmp_path / "run" / "logs" / "train.csv") as f:
        assert [line.split(",")[0] for line in f.read().splitlines()[1:]] == ["0", "1"]
    assert not os.path.exists(tmp_path / "run" / "backup" / "train")
    assert len(result.history["loss"]) == 1
