"""tfmodels.data.genotypes: the simulator's statistics and seeding, folds, batches, PLINK."""

import numpy as np
import pytest

from tfmodels.data import genotypes as g

POPS = {"A": ("a1", "a2"), "B": ("b1", "b2", "b3")}


@pytest.fixture(scope="module")
def small():
    return g.simulate_genotypes(num_snps=600, samples_per_population=40, populations=POPS,
                                fst_super=0.2, fst_population=0.02, seed=3)


def test_simulator_shape_dtype_labels(small):
    assert small.genotypes.shape == (200, 600) and small.genotypes.dtype == np.int8
    assert set(np.unique(small.genotypes)) <= {0, 1, 2}
    assert small.populations == ("a1", "a2", "b1", "b2", "b3")
    assert small.super_populations == ("A", "A", "B", "B", "B")
    np.testing.assert_array_equal(np.bincount(small.labels), [40] * 5)


def test_simulator_is_seeded():
    a = g.simulate_genotypes(num_snps=50, samples_per_population=3, seed=1)
    b = g.simulate_genotypes(num_snps=50, samples_per_population=3, seed=1)
    c = g.simulate_genotypes(num_snps=50, samples_per_population=3, seed=2)
    np.testing.assert_array_equal(a.genotypes, b.genotypes)
    assert not np.array_equal(a.genotypes, c.genotypes)
    assert a.num_classes == 26 and len(set(a.super_populations)) == 5


def _fst(freq):
    """Wright's Fst of allele frequencies `(groups, snps)`, averaged over SNPs (ratio of
    averages)."""
    mean = freq.mean(0)
    return float(freq.var(0).sum() / (mean * (1 - mean)).sum())


def test_nested_drift_matches_fst():
    data = g.simulate_genotypes(num_snps=4000, samples_per_population=200, populations=POPS,
                                fst_super=0.2, fst_population=0.02, seed=0)
    freq = np.stack([data.genotypes[data.labels == k].mean(0) / 2 for k in range(5)])
    within = np.mean([_fst(freq[[0, 1]]), _fst(freq[[2, 3, 4]])])
    between = _fst(np.stack([freq[:2].mean(0), freq[2:].mean(0)]))
    # Populations of one super-population differ by about fst_population (plus the sampling
    # noise of 200 individuals), super-populations by about fst_super: an order of magnitude.
    assert 0.01 < within < 0.04
    assert between > 5 * within


def test_folds_are_stratified_and_disjoint(small):
    folds = g.stratified_folds(small.labels, 5, seed=0)
    for k in range(5):
        counts = np.bincount(small.labels[folds == k], minlength=5)
        assert counts.min() >= 7 and counts.max() <= 9
    train, valid, test = g.fold_split(folds, 2)
    assert len(set(train) | set(valid) | set(test)) == 200
    assert not set(train) & set(test) and not set(valid) & set(test)
    assert set(folds[test]) == {2} and set(folds[valid]) == {3}


def test_batches_stream_float32(small):
    batches = g.GenotypeBatches(small.genotypes, small.labels, np.arange(10, 35), batch_size=8,
                                shuffle=True, reconstruction=True, seed=0)
    assert len(batches) == 4
    seen = []
    for i in range(len(batches)):
        x, y = batches[i]
        assert x.dtype == np.float32 and x.shape[1] == 600
        np.testing.assert_array_equal(y["reconstruction"], x)
        seen += list(y["label"])
    assert sorted(seen) == sorted(small.labels[10:35])
    first = batches[0][0].copy()
    batches.on_epoch_end()
    assert not np.array_equal(first, batches[0][0])


def test_tf_dataset_matches_batches(small):
    rows = np.arange(0, 20)
    ds = g.genotype_dataset(small.genotypes, small.labels, rows, batch_size=20)
    x, y = next(iter(ds))
    np.testing.assert_array_equal(x.numpy(), small.genotypes[:20].astype(np.float32))
    np.testing.assert_array_equal(y.numpy(), small.labels[:20])


@pytest.mark.parametrize("kwargs, match", [
    ({"num_snps": 0}, "num_snps"),
    ({"samples_per_population": 1.5}, "samples_per_population"),
    ({"fst_population": 1.0}, "fst_population"),
    ({"populations": {"A": ()}}, "populations"),
    ({"populations": {"A": ("x",), "B": ("x",)}}, "populations"),
])
def test_simulator_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        g.simulate_genotypes(**kwargs)


# PLINK


def _write(tmp_path, genotypes, panel_rows=None, name="cohort"):
    folder = tmp_path / name
    folder.mkdir()
    ids = [f"s{i}" for i in range(len(genotypes))]
    g.write_plink(folder / "cohort", genotypes, sample_ids=ids)
    rows = panel_rows if panel_rows is not None else [
        (s, "p0" if i % 2 else "p1", "S") for i, s in enumerate(ids)]
    (folder / "samples.panel").write_text(
        "sample\tpop\tsuper_pop\n" + "".join("\t".join(r) + "\n" for r in rows))
    return folder


def test_plink_round_trip(tmp_path):
    genotypes = np.random.default_rng(0).integers(0, 3, (7, 9)).astype(np.int8)
    folder = _write(tmp_path, genotypes)
    data = g.read_plink(str(folder), None)
    np.testing.assert_array_equal(data.genotypes, genotypes)
    assert data.populations == ("p0", "p1")
    np.testing.assert_array_equal(data.labels, [1, 0, 1, 0, 1, 0, 1])
    assert data.snp_ids[0] == "snp0" and data.sample_ids[-1] == "s6"


def test_plink_missing_genotypes(tmp_path):
    genotypes = np.array([[0, 2], [-127, 2], [0, 1], [1, -127]], np.int8)
    folder = _write(tmp_path, genotypes)
    with pytest.raises(ValueError, match="missing genotypes.*sample 's1'"):
        g.read_plink(str(folder), None)
    np.testing.assert_array_equal(g.read_plink(str(folder), None, missing="mode").genotypes,
                                  [[0, 2], [0, 2], [0, 1], [1, 2]])
    np.testing.assert_array_equal(g.read_plink(str(folder), None, missing="zero").genotypes,
                                  [[0, 2], [0, 2], [0, 1], [1, 0]])
    with pytest.raises(ValueError, match="missing must be"):
        g.read_plink(str(folder), None, missing="mean")


def test_plink_sample_mismatches(tmp_path):
    genotypes = np.zeros((4, 3), np.int8)
    folder = _write(tmp_path, genotypes, panel_rows=[("s0", "p", "S"), ("s1", "p", "S")])
    with pytest.raises(ValueError, match="2 of 4 samples .* no population.*'s2'"):
        g.read_plink(str(folder), None)
    # 5 samples take 2 bytes per SNP in the .bed; a .fam cut to 4 promises 1.
    folder = _write(tmp_path, np.zeros((5, 3), np.int8), name="short_fam")
    fam = folder / "cohort.fam"
    fam.write_text("".join(fam.read_text().splitlines(keepends=True)[:4]))
    with pytest.raises(ValueError, match="mismatched sample or SNP counts"):
        g.read_plink(str(folder), None)


def test_plink_not_biallelic(tmp_path):
    folder = _write(tmp_path, np.zeros((4, 3), np.int8))
    bim = folder / "cohort.bim"
    lines = bim.read_text().splitlines()
    fields = lines[1].split("\t")
    fields[4] = "A,T"
    bim.write_text("\n".join([lines[0], "\t".join(fields), lines[2]]) + "\n")
    with pytest.raises(ValueError, match="'snp1' is not biallelic"):
        g.read_plink(str(folder), None)
    fields[4] = "A"
    fields[3] = lines[0].split("\t")[3]
    bim.write_text("\n".join([lines[0], "\t".join(fields), lines[2]]) + "\n")
    with pytest.raises(ValueError, match="listed twice"):
        g.read_plink(str(folder), None)


def test_plink_files_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such PLINK .bed file or folder"):
        g.read_plink(str(tmp_path / "nope"), None)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="exactly one .bed"):
        g.read_plink(str(tmp_path / "empty"), None)
