"""tasks.diet: the k-fold comparison end to end, leak-free embeddings, the int8 file."""

import json
import os

import numpy as np
import pytest

from tfmodels.data import genotypes as g
from tfmodels.export.runtime import LiteRTRunner
from tfmodels.models.diet import DietNetwork, parameter_count
from tfmodels.tasks import diet

TINY = {"num_snps": 120, "samples_per_population": 6, "epochs": 1, "batch_size": 32,
        "embedding_size": 8, "hidden": 16, "snp2vec_epochs": 1, "patience": 2}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("diet")
    result = diet.run_diet(models=["basic", "histogram_rec"], run_folds=[0, 1],
                           export_dir=str(out), export_model="histogram_rec", **TINY)
    return result, out


def test_table_rows_and_parameters(run):
    result, _ = run
    assert [r["model"] for r in result.rows] == ["basic", "histogram_rec"]
    assert result.num_snps == 120 and result.num_classes == 26 and result.run_folds == [0, 1]
    for row in result.rows:
        assert len(row["errors"]) == 2 and 0 <= row["mean"] <= 100
        assert row["mean"] == pytest.approx(np.mean(row["errors"]))
    assert result.rows[0]["parameters"] == parameter_count(120, 26, hidden=16)["trainable"]
    assert result.rows[1]["parameters"] == parameter_count(
        120, 26, 78, hidden=16, reconstruction=True)["trainable"]
    table = result.table()
    assert "| histogram_rec |" in table and "7.44 ± 0.45" in table
    assert "misclassification" in str(result)


def test_int8_file_runs_in_litert(run):
    result, out = run
    check = result.int8
    assert os.path.isfile(check["tflite"]) and check["model"] == "diet_histogram_rec"
    # An untrained 26-class softmax is nearly flat, so argmax agreement says little here; the
    # probabilities themselves must match to about the int8 output's step (1/256).
    assert check["max_abs_error"] < 0.03
    assert 0 < check["agreement"] <= 1
    runner = LiteRTRunner(check["tflite"])
    # The predicted fat layer is a constant int8 FULLY_CONNECTED kernel of 120 x 16.
    weights = [d for d in runner.interpreter.get_tensor_details()
               if tuple(d["shape"]) == (16, 120)]
    assert weights and weights[0]["dtype"] == np.int8
    assert "FULLY_CONNECTED" in check["op_types"]
    with open(result.files["report"], encoding="utf-8") as f:
        report = json.load(f)
    assert report["rows"][1]["errors"] == result.rows[1]["errors"]
    assert result.files["model"].endswith("diet_histogram_rec.keras")


def test_work_dir_resumes_finished_runs(tmp_path, monkeypatch):
    kwargs = dict(TINY, models=["basic", "histogram"], run_folds=[0], work_dir=str(tmp_path / "w"),
                  export_dir=str(tmp_path / "out"), export_model="histogram", int8=False)
    first = diet.run_diet(**kwargs)
    assert sorted(os.listdir(tmp_path / "w")) == [
        "backup", "fold0_basic.json", "fold0_histogram.json", "fold0_histogram.keras", "logs"]

    def no_training(*args, **kwargs):
        raise AssertionError("a finished (fold, model) was trained again")

    monkeypatch.setattr(diet, "fit_model", no_training)
    second = diet.run_diet(**kwargs)
    assert [r["errors"] for r in second.rows] == [r["errors"] for r in first.rows]
    assert os.path.isfile(second.files["model"])


def test_build_model_uses_training_rows_only():
    data = g.simulate_genotypes(num_snps=60, samples_per_population=4, seed=0)
    train = np.arange(0, 60)
    model = diet.build_model("histogram", data, train, hidden=8)
    assert isinstance(model, DietNetwork)
    changed = g.Genotypes(data.genotypes.copy(), data.labels.copy(), data.populations,
                          data.super_populations, data.sample_ids, data.snp_ids)
    changed.genotypes[60:] = 2 - changed.genotypes[60:]
    changed.labels[60:] = 0
    other = diet.build_model("histogram", changed, train, hidden=8)
    for name in ("embedding",):
        np.testing.assert_array_equal(
            np.asarray(model.get_layer("fat").embedding), np.asarray(other.get_layer("fat").embedding))
    np.testing.assert_array_equal(np.asarray(model.get_layer("centering").mean),
                                  data.genotypes[train].mean(0).astype(np.float32))


def test_plink_folder(tmp_path):
    data = g.simulate_genotypes(num_snps=40, samples_per_population=5,
                                populations={"A": ("a", "b"), "B": ("c",)}, seed=1)
    folder = tmp_path / "plink"
    folder.mkdir()
    g.write_plink(folder / "cohort", data.genotypes, sample_ids=data.sample_ids)
    (folder / "panel.txt").write_text("".join(
        f"{s}\t{data.populations[k]}\tX\n" for s, k in zip(data.sample_ids, data.labels)))
    result = diet.run_diet(data_dir=str(folder), models=["basic"], folds=3, run_folds=[0],
                           epochs=1, hidden=8)
    assert result.num_samples == 15 and result.num_classes == 3 and "PLINK" in result.data


@pytest.mark.parametrize("kwargs, match", [
    ({"models": ["nope"]}, "models"),
    ({"folds": 2}, "folds"),
    ({"run_folds": [5]}, "run_folds"),
    ({"epochs": 0}, "epochs"),
    ({"export_dir": "/tmp", "export_model": "histogram", "models": ["basic"]}, "export_model"),
])
def test_bad_arguments_fail_before_work(kwargs, match):
    with pytest.raises(ValueError, match=match):
        diet.run_diet(**kwargs)


def test_missing_export_parent_and_data_dir(tmp_path):
    with pytest.raises(FileNotFoundError, match="export_dir"):
        diet.run_diet(export_dir=str(tmp_path / "a" / "b"))
    with pytest.raises(FileNotFoundError, match="data_dir"):
        diet.run_diet(data_dir=str(tmp_path / "nope"))
    assert not os.path.exists(tmp_path / "a")
