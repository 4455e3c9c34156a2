"""Tests for `tfmodels-train --task=segmentation`: flags reach `tasks.segmentation.run`."""

import pytest
from absl import app, flags

from tfmodels.cli import train, train_segmentation  # noqa: F401  (train defines --task)
from tfmodels.tasks import segmentation


@pytest.fixture
def calls(monkeypatch):
    recorded = []
    monkeypatch.setattr(segmentation, "run", lambda **kwargs: recorded.append(kwargs))
    yield recorded
    flags.FLAGS.unparse_flags()


def parse(*args):
    flags.FLAGS.unparse_flags()
    flags.FLAGS(["tfmodels-train", "--task=segmentation", *args])


def test_defaults_are_the_main_job(calls):
    parse()
    train.main(["tfmodels-train"])
    (kwargs,) = calls
    assert kwargs["model"] == "fc_densenet56"
    assert kwargs["data_dir"] is None  # the generated scenes
    assert kwargs["export_dir"] == "export" and kwargs["quantize"] is True
    assert kwargs["crop_size"] == (64, 64)
    # The paper's optimizer recipe.
    assert (kwargs["learning_rate"], kwargs["lr_decay"], kwargs["weight_decay"]) == (
        1e-3,
        0.995,
        1e-4,
    )
    assert kwargs["epochs"] == 3 and kwargs["batch_size"] == 8


def test_paper_recipe_flags(calls):
    parse(
        "--data_dir=/data/camvid", "--fc_densenet=103", "--crop_size=224,224",
        "--batch_size=3", "--epochs=1000", "--class_weights", "--qat_epochs=10", "--seed=7",
        "--noquantize",
    )  # fmt: skip
    train.main(["tfmodels-train"])
    (kwargs,) = calls
    assert kwargs["data_dir"] == "/data/camvid" and kwargs["model"] == "fc_densenet103"
    assert kwargs["crop_size"] == (224, 224) and kwargs["batch_size"] == 3
    assert kwargs["epochs"] == 1000 and kwargs["class_weights"] is True
    assert kwargs["qat_epochs"] == 10 and kwargs["seed"] == 7 and kwargs["quantize"] is False


def test_full_frames_and_bad_crop_size(calls):
    parse("--crop_size=full")
    train_segmentation.main()
    assert calls[-1]["crop_size"] is None
    parse("--crop_size=64x64")
    with pytest.raises(app.UsageError, match="--crop_size"):
        train_segmentation.main()


def test_library_errors_end_as_one_error_line(monkeypatch, capsys):
    def refuse(**kwargs):
        raise FileNotFoundError("data_dir does not exist: /nowhere")

    monkeypatch.setattr(segmentation, "run", refuse)
    parse("--data_dir=/nowhere")
    try:
        with pytest.raises(SystemExit) as info:
            train.main(["tfmodels-train"])
        assert info.value.code == 1
        assert capsys.readouterr().err == "tfmodels-train: error: data_dir does not exist: /nowhere\n"
        parse("--data_dir=/nowhere", "--traceback")
        with pytest.raises(FileNotFoundError, match="/nowhere"):
            train.main(["tfmodels-train"])
    finally:
        flags.FLAGS.unparse_flags()
