import json
import os
import subprocess
import sys

import pytest


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


def test_scenes_are_generated_deterministically(tmp_path):
    args = ["--dataset=scenes", "--num_train=3", "--num_val=1", "--num_test=1", "--seed=5"]
    first = _run(*args, f"--out_dir={tmp_path / 'a'}")
    second = _run(*args, f"--out_dir={tmp_path / 'b'}")
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout)
    assert summary["path"] == str(tmp_path / "a")
    names = sorted(os.listdir(tmp_path / "a" / "train"))
    assert len(names) == 3 and len(os.listdir(tmp_path / "a" / "valannot")) == 1
    for name in names:
        for split in ("train", "trainannot"):
            a = (tmp_path / "a" / split / name).read_bytes()
            assert a == (tmp_path / "b" / split / name).read_bytes()
    assert second.returncode == 0


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


def test_help_documents_every_flag():
    result = _run("--helpshort")
    for flag in ("--dataset", "--out_dir", "--seed", "--overwrite", "--num_train", "--height"):
        assert flag in result.stdout, flag
