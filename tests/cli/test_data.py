"""`tfmodels-data`: flags reach the generators; bad input ends with one line, no traceback.

The script runs in a subprocess here: its flags (--seed, ...) share names with
`tfmodels-train`'s, and absl refuses a second definition in one process. The generators
themselves (determinism, layout, refusal of an existing folder) are tested in tests/data.
"""

import json
import os
import subprocess
import sys

import pytest

from tfmodels.data import scenes


def _run(*args, cwd=None):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run(
        [sys.executable, "-m", "tfmodels.cli.data", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
    )


def test_scenes_flags_reach_the_generator(tmp_path):
    result = _run("--dataset=scenes", "--num_train=3", "--num_val=1", "--num_test=2",
                  "--height=32", "--width=64", "--seed=5", f"--out_dir={tmp_path / 'cli'}")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["path"] == str(tmp_path / "cli")
    # The library call with the same arguments writes the same files, byte for byte.
    scenes.generate(tmp_path / "lib", seed=5, num_train=3, num_val=1, num_test=2, height=32,
                    width=64)
    for split in ("train", "trainannot", "val", "valannot", "test", "testannot"):
        names = sorted(os.listdir(tmp_path / "lib" / split))
        assert sorted(os.listdir(tmp_path / "cli" / split)) == names
        for name in names:
            assert ((tmp_path / "cli" / split / name).read_bytes()
                    == (tmp_path / "lib" / split / name).read_bytes())


def test_existing_dataset_is_refused_with_one_line(tmp_path):
    target = tmp_path / "scenes"
    target.mkdir()
    (target / "keep.txt").write_text("user data")
    result = _run("--dataset=scenes", f"--out_dir={target}", "--num_train=1")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert str(target) in result.stderr and "overwrite" in result.stderr
    assert (target / "keep.txt").read_text() == "user data"


@pytest.mark.parametrize("args", [[], ["--dataset=imagenet"]])
def test_bad_flags_give_usage_errors(args):
    result = _run(*args)
    assert result.returncode != 0
    assert "dataset" in result.stderr and "Traceback" not in result.stderr


def test_noisy_copy_of_a_brought_corpus(tmp_path):
    from tests.data import speech_fixtures as fx

    source = fx.write_kaldi(tmp_path / "kaldi")
    out = tmp_path / "noisy"
    result = _run("--dataset=noisy_copy", f"--source={source}", f"--out_dir={out}",
                  "--seen_noise_types=white", "--unseen_noise_types=pink,clicks",
                  cwd=os.getcwd())
    assert result.returncode == 0, result.stderr
    assert "resampled to 16000 Hz" in result.stderr  # the one conversion warning
    assert json.loads(result.stdout)["path"] == str(out)
    lines = [json.loads(x) for x in (out / "test_unseen.jsonl").read_text().splitlines()]
    assert {x["noise"] for x in lines} == {"pink", "clicks"} and len(lines) == 4
    assert json.loads((out / "corpus.json").read_text())["seen_noise_types"] == ["white"]
    missing = _run("--dataset=noisy_copy", f"--out_dir={tmp_path / 'x'}")
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert "needs --source" in missing.stderr and not (tmp_path / "x").exists()
def test_speech_engine_flags_reach_the_generator(tmp_path):
    from tfmodels.data import speech

    if not {"espeak-ng", "flite"} <= set(speech.available_engines()):
        pytest.skip("needs espeak-ng and flite (Debian packages)")
    result = _run("--dataset=speech", "--num_train=2", "--num_val=0", "--num_test=1",
                  "--engines=espeak-ng,flite", "--holdout_engines=flite",
                  f"--out_dir={tmp_path / 'speech'}")
    assert result.returncode == 0, result.stderr
    metadata = json.loads((tmp_path / "speech" / "corpus.json").read_text())
    assert metadata["engines"] == ["espeak-ng", "flite"]
    assert metadata["holdout_engines"] == ["flite"]
    assert (tmp_path / "speech" / f"{speech.HOLDOUT_SPLIT}.jsonl").is_file()
