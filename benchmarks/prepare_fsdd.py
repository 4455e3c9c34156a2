"""Turns a local copy of the Free Spoken Digit Dataset into a leave-one-speaker-out ASR corpus.

Reads `<fsdd_dir>/{digit}_{speaker}_{i}.wav` (FSDD's `recordings/` folder: 8 kHz mono 16-bit
isolated digits, 50 takes per digit and speaker), resamples to 16 kHz, and writes the layout of
`tfmodels.data.speech` (train/dev/test_clean/test_seen/test_unseen JSONL manifests + WAVs) so
`tfmodels-train --task=asr --data_dir=OUT` trains on it unchanged:

- train / dev: every speaker but `--test_speaker`; isolated digits (takes `--dev_takes` to
  `--max_take` - 1 go to train, the takes below `--dev_takes` to dev) plus `--strings` digit
  strings (a tenth of that in dev) of 2-5 digits joined, with 50-150 ms gaps, from one
  speaker's isolated digits of the split. Each utterance is written clean and once per
  seen-candidate noise type at a random 0-20 dB SNR, as the generator does.
- test_clean / test_seen / test_unseen: the held-out speaker's isolated digits (takes below
  `--test_takes`) and `--test_strings` joined strings, clean and corrupted (seen and unseen
  noise types at every SNR).

Nothing is downloaded: point `--fsdd_dir` at the recordings you have.

Usage:
    python benchmarks/prepare_fsdd.py --fsdd_dir ~/fsdd/recordings --test_speaker theo \
        --out_dir data/fsdd_theo
"""

import argparse
import json
import re
from pathlib import Path

import numpy as np
from tfmodels.data import noise as noise_lib
from tfmodels.data import speech, wav
from tfmodels.utils import atomic

_NAME = re.compile(r"^(\d)_([A-Za-z]+)_(\d+)\.wav$")
_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def read_fsdd(folder):
    """`{(digit, speaker, take): float64 16 kHz waveform}` of every FSDD file in `folder`
    (read and resampled by `tfmodels.data.wav`, the project's one WAV reader)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"--fsdd_dir {folder} is not a folder")
    audio = {}
    for path in sorted(folder.iterdir()):
        match = _NAME.match(path.name)
        if match:
            x = wav.read(path, sample_rate=speech.SAMPLE_RATE).astype(np.float64)
            audio[(int(match[1]), match[2], int(match[3]))] = x
    if not audio:
        raise ValueError(f"--fsdd_dir {folder} holds no FSDD files named digit_speaker_take.wav")
    return audio


def _level(x, level_db, sample_rate=speech.SAMPLE_RATE):
    power = noise_lib.active_power(x, sample_rate)
    return x * np.sqrt(10.0 ** (level_db / 10.0) / max(power, 1e-12))


def _utterances(audio, keys, strings, rng, prefix):
    """Isolated digits of `keys` plus `strings` joined strings of one speaker's digits each."""
    utterances = []
    for digit, speaker, take in keys:
        utterances.append((f"{prefix}-{speaker}-{digit}-{take}", _WORDS[digit], speaker,
                           audio[(digit, speaker, take)]))
    by_speaker = {}
    for key in keys:
        by_speaker.setdefault(key[1], []).append(key)
    speakers = sorted(by_speaker)
    for index in range(strings):
        speaker = speakers[index % len(speakers)]
        pool = by_speaker[speaker]
        picks = [pool[i] for i in rng.choice(len(pool), size=int(rng.integers(2, 6)))]
        parts = []
        for key in picks:
            parts += [audio[key], np.zeros(int(rng.uniform(0.05, 0.15) * speech.SAMPLE_RATE))]
        utterances.append((f"{prefix}-{speaker}-string{index:04d}",
                           " ".join(_WORDS[k[0]] for k in picks), speaker,
                           np.concatenate(parts[:-1])))
    return utterances


def prepare(fsdd_dir, out_dir, test_speaker, strings=250, test_strings=100, dev_takes=5,
            max_take=30, test_takes=20, seen=speech.DEFAULT_SEEN_NOISE_TYPES, snrs=speech.SNRS_DB,
            seed=0, overwrite=False):
    """Writes the corpus; returns `Path(out_dir)`."""
    audio = read_fsdd(fsdd_dir)
    speakers = sorted({k[1] for k in audio})
    if test_speaker not in speakers:
        raise ValueError(f"--test_speaker {test_speaker!r} is not among {speakers}")
    unseen = tuple(t for t in noise_lib.NOISE_TYPES if t not in seen)
    rng = np.random.default_rng(seed)
    train_keys = [k for k in audio if k[1] != test_speaker and dev_takes <= k[2] < max_take]
    dev_keys = [k for k in audio if k[1] != test_speaker and k[2] < dev_takes]
    test_keys = [k for k in audio if k[1] == test_speaker and k[2] < test_takes]
    groups = {
        "train": _utterances(audio, train_keys, strings, rng, "train"),
        "dev": _utterances(audio, dev_keys, strings // 10, rng, "dev"),
        "test": _utterances(audio, test_keys, test_strings, rng, "test"),
    }
    codes = {t: i for i, t in enumerate(noise_lib.NOISE_TYPES)}
    with atomic.atomic_directory(out_dir, overwrite=overwrite) as temp:
        temp = Path(temp)
        manifests = {s: [] for s in speech.SPLITS}
        for group, utterances in groups.items():
            clean = [_level(u[3], -26.0 + rng.uniform(-4, 4)) for u in utterances]
            pool = clean[:200]
            jobs = []
            for i in range(len(utterances)):
                if group == "test":
                    jobs.append(("test_clean", i, "clean", None))
                else:
                    jobs.append((group, i, "clean", None))
                    jobs += [(group, i, t, int(rng.choice(snrs))) for t in seen]
            if group == "test":
                for split, types in (("test_seen", seen), ("test_unseen", unseen)):
                    jobs += [(split, i, types[(i + k) % len(types)], snr)
                             for k, snr in enumerate(snrs) for i in range(len(utterances))]
            for split, i, noise_type, snr in jobs:
                utterance, text, speaker, _ = utterances[i]
                x = clean[i]
                if noise_type != "clean":
                    mix_rng = np.random.default_rng([seed, i, codes[noise_type], snr, len(split)])
                    x = noise_lib.corrupt(x, noise_type, snr, mix_rng, speech.SAMPLE_RATE,
                                          pool).noisy
                peak = np.max(np.abs(x))
                if peak > 0.99:
                    x = x * (0.99 / peak)
                name = f"{utterance}_{noise_type}" + ("" if snr is None else f"_{snr}dB") + ".wav"
                (temp / split).mkdir(exist_ok=True)
                speech._write_wav(temp / split / name, x, speech.SAMPLE_RATE)
                manifests[split].append({
                    "audio": f"{split}/{name}", "text": text, "noise": noise_type,
                    "snr_db": snr, "speaker": speaker, "utterance": utterance})
        for split, entries in manifests.items():
            with open(temp / f"{split}.jsonl", "w", encoding="utf-8") as f:
                f.writelines(json.dumps(e) + "\n" for e in entries)
        with open(temp / "corpus.json", "w", encoding="utf-8") as f:
            json.dump({"source": "Free Spoken Digit Dataset", "test_speaker": test_speaker,
                       "seed": seed, "sample_rate": speech.SAMPLE_RATE,
                       "seen_noise_types": list(seen), "unseen_noise_types": list(unseen),
                       "snrs_db": list(snrs), "strings": strings}, f, indent=2)
    return Path(out_dir)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fsdd_dir", required=True, help="FSDD recordings/ folder")
    parser.add_argument("--out_dir", required=True)
    parser.add_argument("--test_speaker", required=True)
    parser.add_argument("--strings", type=int, default=250,
                        help="joined digit strings in train (a tenth of it in dev)")
    parser.add_argument("--test_strings", type=int, default=100)
    parser.add_argument("--dev_takes", type=int, default=5,
                        help="takes 0..N-1 of each training speaker's digits go to dev")
    parser.add_argument("--max_take", type=int, default=30,
                        help="training speakers' takes dev_takes..N-1 go to train")
    parser.add_argument("--test_takes", type=int, default=20,
                        help="the held-out speaker's takes 0..N-1 go to test")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args()
    root = prepare(args.fsdd_dir, args.out_dir, args.test_speaker, args.strings,
                   args.test_strings, args.dev_takes, args.max_take, args.test_takes,
                   seed=args.seed, overwrite=args.overwrite)
    print(root)


if __name__ == "__main__":
    main()
