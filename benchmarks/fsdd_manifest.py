"""Converts Free Spoken Digit Dataset recordings to a 16 kHz JSONL manifest (measurement only).

FSDD (github.com/Jakobovski/free-spoken-digit-dataset) holds 8 kHz 16-bit mono WAVs named
`{digit}_{speaker}_{take}.wav`: real people saying one digit. This writes the first `--takes`
takes of every digit and speaker, resampled to 16 kHz, with a manifest in the project's format
(`tfmodels.data.speech`), so `benchmarks/asr_voices.py` can score a model on real isolated
digits. Nothing of FSDD is committed or used by tests.

Usage:
  python benchmarks/fsdd_manifest.py --recordings=fsdd/recordings --out_dir=/tmp/fsdd --takes=10
"""

import json
from pathlib import Path

from absl import app, flags

from tfmodels.data import wav

_RECORDINGS = flags.DEFINE_string("recordings", None, "FSDD recordings folder.", required=True)
_OUT_DIR = flags.DEFINE_string("out_dir", None, "Output folder.", required=True)
_TAKES = flags.DEFINE_integer("takes", 10, "Takes per digit and speaker (0..takes-1).")

_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def main(argv):
    del argv
    source, out = Path(_RECORDINGS.value), Path(_OUT_DIR.value)
    files = sorted(source.glob("*_*_*.wav"))
    if not files:
        raise ValueError(f"--recordings {source} holds no {{digit}}_{{speaker}}_{{take}}.wav")
    out.mkdir(parents=True, exist_ok=True)
    lines = []
    for path in files:
        digit, speaker, take = path.stem.split("_")
        if int(take) >= _TAKES.value:
            continue
        # The project's one WAV reader and writer: 8 kHz in, resampled to 16 kHz.
        wav.write(out / path.name, wav.read(path, sample_rate=16000), 16000)
        lines.append({"audio": path.name, "text": _WORDS[int(digit)], "noise": "clean",
                      "speaker": speaker, "utterance": path.stem})
    (out / "fsdd.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    print(f"{len(lines)} utterances -> {out / 'fsdd.jsonl'}")


if __name__ == "__main__":
    app.run(main)
