"""Tests for tfmodels.utils.atomic: artifacts appear whole or not at all."""

import json
import os

import pytest

from tfmodels.utils import atomic


def _leftovers(directory):
    return [name for name in os.listdir(directory) if name.startswith(".")]


def test_atomic_path_replaces_only_on_success(tmp_path):
    target = tmp_path / "model.keras"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic.atomic_path(target) as temp:
            assert temp.endswith(".keras") and os.path.dirname(temp) == str(tmp_path)
            with open(temp, "w") as f:
                f.write("half")
            raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert _leftovers(tmp_path) == []
    with atomic.atomic_path(target) as temp:
        with open(temp, "w") as f:
            f.write("new")
    assert target.read_text() == "new"
    assert _leftovers(tmp_path) == []


def test_atomic_path_refuses_a_missing_folder_and_an_unwritten_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing"):
        with atomic.atomic_path(tmp_path / "missing" / "f.txt"):
            pass
    with pytest.raises(FileNotFoundError, match="nothing was written"):
        with atomic.atomic_path(tmp_path / "f.txt"):
            pass
    assert os.listdir(tmp_path) == []


def test_write_helpers_round_trip(tmp_path):
    atomic.write_bytes(tmp_path / "b.bin", b"\x00\x01")
    atomic.write_text(tmp_path / "t.txt", "héllo")
    atomic.write_json(tmp_path / "j.json", {"a": [1, 2], "path": tmp_path})
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert (tmp_path / "t.txt").read_text(encoding="utf-8") == "héllo"
    assert json.loads((tmp_path / "j.json").read_text()) == {"a": [1, 2], "path": str(tmp_path)}


def test_failing_writer_keeps_the_previous_file(tmp_path, monkeypatch):
    target = tmp_path / "report.json"
    atomic.write_json(target, {"version": 1})

    class Full(Exception):
        pass

    def no_space(*args, **kwargs):
        raise Full("No space left on device")

    monkeypatch.setattr(json, "dumps", no_space)
    with pytest.raises(Full):
        atomic.write_json(target, {"version": 2})
    monkeypatch.undo()
    assert json.loads(target.read_text()) == {"version": 1}
    assert _leftovers(tmp_path) == []


def test_atomic_directory_new_refused_and_overwritten(tmp_path):
    target = tmp_path / "sub" / "corpus"
    with atomic.atomic_directory(target) as temp:
        assert not os.path.exists(target)
        (open(os.path.join(temp, "a.txt"), "w")).close()
    assert os.listdir(target) == ["a.txt"]
    with pytest.raises(FileExistsError, match="overwrite=True"):
        with atomic.atomic_directory(target):
            pytest.fail("must refuse before the block runs")
    with pytest.raises(RuntimeError):
        with atomic.atomic_directory(target, overwrite=True) as temp:
            (open(os.path.join(temp, "b.txt"), "w")).close()
            raise RuntimeError("interrupted")
    assert os.listdir(target) == ["a.txt"]
    with atomic.atomic_directory(target, overwrite=True) as temp:
        (open(os.path.join(temp, "b.txt"), "w")).close()
    assert os.listdir(target) == ["b.txt"]
    assert _leftovers(target.parent) == []


def test_atomic_directory_refuses_a_file_and_a_folder_that_appears_meanwhile(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError, match="not a folder"):
        with atomic.atomic_directory(tmp_path / "file"):
            pass
    target = tmp_path / "version"
    with pytest.raises(FileExistsError):
        with atomic.atomic_directory(target) as temp:
            (open(os.path.join(temp, "mine"), "w")).close()
            target.mkdir()
            (target / "theirs").write_text("concurrent writer")
    assert os.listdir(target) == ["theirs"]
    assert _leftovers(tmp_path) == []
