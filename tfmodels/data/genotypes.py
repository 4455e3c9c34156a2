"""Genotype matrices for population classification: a seeded simulator and a PLINK reader.

Genotypes are SNP minor-allele counts in {0, 1, 2}, stored int8 `(samples, snps)` (a tenth of
float32's memory; a 3,500 x 10^6 matrix is 3.5 GB). Models read them in float32 batches
(`GenotypeBatches`, a `keras.utils.PyDataset` that runs on any backend, or
`genotype_dataset`, its tf.data twin), so only one batch is ever float.

`simulate_genotypes` is a nested Balding-Nichols model: each SNP gets an ancestral frequency
`p ~ U(min_frequency, 1 - min_frequency)`; each super-population drifts from it,
`p_s ~ Beta(p (1 - F_s) / F_s, (1 - p) (1 - F_s) / F_s)`, each population from its
super-population with `F_p`, and an individual of population `k` has `Binomial(2, p_k)`
copies. The defaults are shaped like the 1000 Genomes data of Diet Networks (arXiv:1611.09340):
26 populations in 5 super-populations, 133 individuals each (3,458 in all). There is no
linkage and no admixture: every SNP is independent, so the simulated task is cleaner than
the real one (see the README).

`read_plink` reads a `.bed/.bim/.fam` triple through `bed-reader`, with the population of
each sample from a 1000 Genomes-style panel file (`sample pop super_pop ...`).

Example:
    >>> data = simulate_genotypes(num_snps=1000, samples_per_population=10, seed=0)
    >>> data.genotypes.shape, data.genotypes.dtype, data.num_classes
    ((260, 1000), dtype('int8'), 26)
"""

import dataclasses
import glob
import os

import keras
import numpy as np

# The 1000 Genomes phase 3 populations, by super-population.
POPULATIONS_1000G = {
    "AFR": ("ACB", "ASW", "ESN", "GWD", "LWK", "MSL", "YRI"),
    "AMR": ("CLM", "MXL", "PEL", "PUR"),
    "EAS": ("CDX", "CHB", "CHS", "JPT", "KHV"),
    "EUR": ("CEU", "FIN", "GBR", "IBS", "TSI"),
    "SAS": ("BEB", "GIH", "ITU", "PJL", "STU"),
}
MISSING = ("error", "mode", "zero")
_BLOCK = 4096


@dataclasses.dataclass
class Genotypes:
    """A genotype matrix with population labels.

    Attributes:
        genotypes: int8 `(samples, snps)`, values in {0, 1, 2}.
        labels: int32 `(samples,)`, indices into `populations`.
        populations: population names, one per class.
        super_populations: the super-population of each population (same order).
        sample_ids: one id per sample.
        snp_ids: one id per SNP.
    """

    genotypes: np.ndarray
    labels: np.ndarray
    populations: tuple
    super_populations: tuple
    sample_ids: tuple
    snp_ids: tuple

    @property
    def num_samples(self):
        return int(self.genotypes.shape[0])

    @property
    def num_snps(self):
        return int(self.genotypes.shape[1])

    @property
    def num_classes(self):
        return len(self.populations)

    def __str__(self):
        return (f"{self.num_samples:,} samples x {self.num_snps:,} SNPs (int8, "
                f"{self.genotypes.nbytes / 2**20:.1f} MiB), {self.num_classes} populations in "
                f"{len(set(self.super_populations))} super-populations")


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def _fraction(name, value, low=0.0, high=1.0):
    if not isinstance(value, (int, float, np.floating)) or not low < value < high:
        raise ValueError(f"{name} must be a number in ({low}, {high}), got {value!r}")


def simulate_genotypes(num_snps=20000, samples_per_population=133, populations=None,
                       fst_super=0.1, fst_population=0.005, min_frequency=0.05, seed=0):
    """Simulates population-structured genotypes (nested Balding-Nichols, see module doc).

    Args:
        num_snps: SNPs (columns).
        samples_per_population: individuals per population.
        populations: `{super-population: (population names)}`; default `POPULATIONS_1000G`.
        fst_super: drift of each super-population from the ancestral frequencies (the
            continental Fst of 1000 Genomes is about 0.05-0.15).
        fst_population: drift of each population from its super-population (within-continent
            Fst is about 0.001-0.01; smaller is harder to classify). The default 0.005 leaves
            a plain logistic regression some error at 5,000 SNPs; at 0.002 the per-class
            histograms of 80 training samples per class are mostly sampling noise.
        min_frequency: ancestral frequencies are uniform in `[min_frequency, 1 - min_frequency]`.
        seed: same seed, same matrix; the first `k` SNPs of a larger simulation with the
            same seed are the `k`-SNP simulation when `k` is a multiple of 4096.

    Returns:
        `Genotypes`, samples grouped by population.
    """
    _positive_int("num_snps", num_snps)
    _positive_int("samples_per_population", samples_per_population)
    _fraction("fst_super", fst_super)
    _fraction("fst_population", fst_population)
    _fraction("min_frequency", min_frequency, 0.0, 0.5)
    if populations is None:
        populations = POPULATIONS_1000G
    if (not isinstance(populations, dict) or not populations
            or any(not isinstance(v, (list, tuple)) or not v for v in populations.values())):
        raise ValueError("populations must be a non-empty dict {{super-population: [population "
                         f"names]}}, got {populations!r}")
    names = [p for group in populations.values() for p in group]
    if len(set(names)) != len(names):
        raise ValueError(f"populations has repeated population names: {names}")
    supers = [s for s, group in populations.items() for _ in group]
    super_index = np.array([list(populations).index(s) for s in supers])
    num_pops = len(names)
    n = num_pops * samples_per_population
    labels = np.repeat(np.arange(num_pops, dtype=np.int32), samples_per_population)
    genotypes = np.empty((n, num_snps), np.int8)
    # Each block of _BLOCK SNPs has its own generator, seeded by (seed, block): the float
    # working memory is one population x one block, whatever the matrix size.
    for start in range(0, num_snps, _BLOCK):
        end = min(num_snps, start + _BLOCK)
        rng = np.random.default_rng([seed, start // _BLOCK])
        ancestral = rng.uniform(min_frequency, 1 - min_frequency, end - start)
        super_freq = _drift(rng, ancestral[None, :], fst_super, len(populations))
        pop_freq = _drift(rng, super_freq[super_index], fst_population, None)
        for k in range(num_pops):
            rows = slice(k * samples_per_population, (k + 1) * samples_per_population)
            genotypes[rows, start:end] = rng.binomial(
                2, pop_freq[k], (samples_per_population, end - start))
    return Genotypes(
        genotypes=genotypes, labels=labels, populations=tuple(names),
        super_populations=tuple(supers),
        sample_ids=tuple(f"{names[k]}_{i}" for k in range(num_pops)
                         for i in range(samples_per_population)),
        snp_ids=tuple(f"snp{j}" for j in range(num_snps)))


def _drift(rng, freq, fst, rows):
    """Balding-Nichols: Beta(p (1 - F) / F, (1 - p) (1 - F) / F), mean p, variance F p (1 - p)."""
    scale = (1 - fst) / fst
    if rows is not None:
        freq = np.broadcast_to(freq, (rows, freq.shape[1]))
    return np.clip(rng.beta(freq * scale, (1 - freq) * scale), 1e-6, 1 - 1e-6)


def stratified_folds(labels, num_folds=5, seed=0):
    """Assigns every sample a fold in `[0, num_folds)`, each class spread evenly over folds.

    Returns:
        int32 `(samples,)` fold ids.
    """
    labels = np.asarray(labels)
    _positive_int("num_folds", num_folds)
    if num_folds < 3:
        raise ValueError(f"num_folds must be >= 3 (train, validation, test), got {num_folds}")
    rng = np.random.default_rng(seed)
    folds = np.empty(len(labels), np.int32)
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        folds[members] = (np.arange(len(members)) + rng.integers(num_folds)) % num_folds
    return folds


def fold_split(folds, fold):
    """`(train, validation, test)` sample indices of fold `fold`: test is that fold, validation
    the next one, training the rest (60/20/20 with 5 folds, as the paper's splits)."""
    folds = np.asarray(folds)
    num_folds = int(folds.max()) + 1
    if not isinstance(fold, (int, np.integer)) or not 0 <= fold < num_folds:
        raise ValueError(f"fold must be an int in [0, {num_folds}), got {fold!r}")
    valid = (fold + 1) % num_folds
    return (np.flatnonzero((folds != fold) & (folds != valid)), np.flatnonzero(folds == valid),
            np.flatnonzero(folds == fold))


class GenotypeBatches(keras.utils.PyDataset):
    """Float32 batches of rows of an int8 genotype matrix (backend-agnostic streaming).

    Args:
        genotypes: int8 `(samples, snps)`.
        labels: `(samples,)` class indices.
        indices: which rows (default all).
        batch_size: rows per batch.
        shuffle: reshuffle every epoch (seeded by `seed` and the epoch).
        reconstruction: targets are `{"label": y, "reconstruction": x}` (Diet Networks with the
            reconstruction path) instead of `y`.
        seed: shuffling seed.
    """

    def __init__(self, genotypes, labels, indices=None, batch_size=64, shuffle=False,
                 reconstruction=False, seed=0, **kwargs):
        super().__init__(**kwargs)
        _positive_int("batch_size", batch_size)
        if len(genotypes) != len(labels):
            raise ValueError(f"genotypes has {len(genotypes)} rows but labels has {len(labels)}")
        self.genotypes, self.labels = genotypes, np.asarray(labels, np.int32)
        self.indices = np.arange(len(labels)) if indices is None else np.asarray(indices)
        self.batch_size, self.shuffle, self.reconstruction = batch_size, shuffle, reconstruction
        self.seed, self.epoch = seed, 0
        self.order = self._order()

    def _order(self):
        if not self.shuffle:
            return self.indices
        return np.random.default_rng([self.seed, self.epoch]).permutation(self.indices)

    def __len__(self):
        return -(-len(self.indices) // self.batch_size)

    def __getitem__(self, index):
        rows = np.sort(self.order[index * self.batch_size : (index + 1) * self.batch_size])
        x = self.genotypes[rows].astype(np.float32)
        y = self.labels[rows]
        return (x, {"label": y, "reconstruction": x}) if self.reconstruction else (x, y)

    def on_epoch_end(self):
        self.epoch += 1
        self.order = self._order()


def genotype_dataset(genotypes, labels, indices=None, batch_size=64, shuffle=False,
                     reconstruction=False, seed=0):
    """The tf.data twin of `GenotypeBatches`: the int8 matrix stays int8 in TensorFlow memory
    and each batch is gathered and cast to float32."""
    import tensorflow as tf

    _positive_int("batch_size", batch_size)
    indices = np.arange(len(labels)) if indices is None else np.asarray(indices)
    table = tf.constant(genotypes)
    targets = tf.constant(np.asarray(labels, np.int32))
    ds = tf.data.Dataset.from_tensor_slices(indices.astype(np.int64))
    if shuffle:
        ds = ds.shuffle(len(indices), seed=seed, reshuffle_each_iteration=True)

    def gather(rows):
        x = tf.cast(tf.gather(table, rows), tf.float32)
        y = tf.gather(targets, rows)
        return (x, {"label": y, "reconstruction": x}) if reconstruction else (x, y)

    return ds.batch(batch_size).map(gather).prefetch(2)


# PLINK


def read_panel(path):
    """Reads a 1000 Genomes-style panel: whitespace columns `sample pop [super_pop ...]`, an
    optional header line starting with `sample`. Returns `{sample: (population, super)}`."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no panel file at {path}")
    panel = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            fields = line.split()
            if not fields or (number == 1 and fields[0].lower() in ("sample", "#sample", "iid")):
                continue
            if len(fields) < 2:
                raise ValueError(f"{path}:{number}: expected 'sample population [super]', "
                                 f"got {line.strip()!r}")
            panel[fields[0]] = (fields[1], fields[2] if len(fields) > 2 else fields[1])
    if not panel:
        raise ValueError(f"{path} lists no samples")
    return panel


def find_plink(folder):
    """`(bed path, panel path)` of a folder with one `.bed` (+ `.bim`, `.fam`) and one panel
    file (`*.panel`, or `panel.txt` / `panel.tsv`)."""
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"no such folder: {folder}")
    beds = sorted(glob.glob(os.path.join(folder, "*.bed")))
    if len(beds) != 1:
        raise ValueError(f"{folder} must hold exactly one .bed file, found {len(beds)}")
    panels = sorted(glob.glob(os.path.join(folder, "*.panel"))
                    + [p for name in ("panel.txt", "panel.tsv")
                       for p in [os.path.join(folder, name)] if os.path.isfile(p)])
    if len(panels) != 1:
        raise ValueError(f"{folder} must hold exactly one panel file (*.panel, panel.txt or "
                         f"panel.tsv: sample -> population), found {len(panels)}")
    return beds[0], panels[0]


def read_plink(bed_path, panel_path, missing="error"):
    """Reads a PLINK `.bed/.bim/.fam` triple and labels each sample from a panel file.

    Args:
        bed_path: the `.bed` file (its `.bim` and `.fam` beside it), or a folder holding one
            `.bed` and one panel (then `panel_path` may be None).
        panel_path: sample -> population file (`read_panel`).
        missing: what to do with missing genotypes: `"error"` (default), `"mode"` (each SNP's
            most frequent genotype over all samples read: state it when you report results),
            or `"zero"` (homozygous for the counted allele's alternative).

    Returns:
        `Genotypes` (int8; the count of PLINK's A1 allele, as bed-reader reads it).

    Raises:
        FileNotFoundError: a file is missing. ValueError: the `.bed` size does not match the
        `.fam`/`.bim` counts, samples without a population in the panel, missing genotypes with
        `missing="error"`, or variants that are not biallelic (a `,` in an allele, equal
        alleles, or one position listed twice).
    """
    if missing not in MISSING:
        raise ValueError(f"missing must be one of {MISSING}, got {missing!r}")
    if not os.path.exists(bed_path):
        raise FileNotFoundError(f"no such PLINK .bed file or folder: {bed_path}")
    if os.path.isdir(bed_path):
        bed_path, found_panel = find_plink(bed_path)
        panel_path = panel_path or found_panel
    if panel_path is None:
        raise ValueError("panel_path is required (sample -> population file)")
    stem = os.path.splitext(bed_path)[0]
    bim_path, fam_path = stem + ".bim", stem + ".fam"
    for path in (bed_path, bim_path, fam_path):
        if not os.path.isfile(path):
            raise FileNotFoundError(f"no such PLINK file: {path}")
    panel = read_panel(panel_path)
    samples = _read_columns(fam_path, 6)
    variants = _read_columns(bim_path, 6)
    sample_ids = tuple(row[1] for row in samples)
    _check_biallelic(bim_path, variants)
    expected = 3 + len(variants) * -(-len(samples) // 4)
    size = os.path.getsize(bed_path)
    if size != expected:
        raise ValueError(f"{bed_path} has {size} bytes but {fam_path} lists {len(samples)} "
                         f"samples and {bim_path} {len(variants)} SNPs ({expected} bytes "
                         "expected): mismatched sample or SNP counts")
    unlabelled = [s for s in sample_ids if s not in panel]
    if unlabelled:
        raise ValueError(f"{len(unlabelled)} of {len(sample_ids)} samples in {fam_path} have no "
                         f"population in {panel_path} (first: {unlabelled[0]!r})")

    from bed_reader import open_bed

    with open_bed(bed_path, iid_count=len(samples), sid_count=len(variants),
                  num_threads=1) as bed:
        genotypes = bed.read(dtype="int8", order="C", num_threads=1)
    holes = genotypes < 0
    if holes.any():
        if missing == "error":
            rows, cols = np.nonzero(holes)
            raise ValueError(
                f"{bed_path} has {int(holes.sum())} missing genotypes (first: sample "
                f"{sample_ids[rows[0]]!r}, SNP {variants[cols[0]][1]!r}); choose "
                "missing='mode' or 'zero' to impute them explicitly")
        if missing == "zero":
            genotypes[holes] = 0
        else:
            for j in np.flatnonzero(holes.any(axis=0)):
                column = genotypes[:, j]
                counts = np.bincount(column[column >= 0], minlength=3)
                column[column < 0] = int(np.argmax(counts))
    names = sorted({panel[s][0] for s in sample_ids})
    supers = tuple(next(panel[s][1] for s in sample_ids if panel[s][0] == name) for name in names)
    labels = np.array([names.index(panel[s][0]) for s in sample_ids], np.int32)
    return Genotypes(genotypes=genotypes, labels=labels, populations=tuple(names),
                     super_populations=supers, sample_ids=sample_ids,
                     snp_ids=tuple(row[1] for row in variants))


def _read_columns(path, count):
    rows = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) != count:
                raise ValueError(f"{path}:{number}: expected {count} columns, got {len(fields)}")
            rows.append(fields)
    if not rows:
        raise ValueError(f"{path} is empty")
    return rows


def _check_biallelic(path, variants):
    seen = set()
    for chrom, snp, _, position, a1, a2 in variants:
        if "," in a1 or "," in a2 or a1 == a2:
            raise ValueError(f"{path}: variant {snp!r} is not biallelic (alleles {a1!r}, {a2!r})")
        key = (chrom, position)
        if position != "0" and key in seen:
            raise ValueError(f"{path}: position {chrom}:{position} is listed twice (variant "
                             f"{snp!r}): a multiallelic site split into biallelic records; "
                             "keep one record per site")
        seen.add(key)


def write_plink(stem, genotypes, sample_ids=None, snp_ids=None):
    """Writes int8 genotypes (-127: missing) as `stem.bed/.bim/.fam` through bed-reader (for
    tests and for exporting simulated data to PLINK tools). Returns the `.bed` path."""
    from bed_reader import to_bed

    genotypes = np.asarray(genotypes)
    n, m = genotypes.shape
    properties = {
        "iid": list(sample_ids) if sample_ids is not None else [f"s{i}" for i in range(n)],
        "sid": list(snp_ids) if snp_ids is not None else [f"snp{j}" for j in range(m)],
        "chromosome": ["1"] * m, "bp_position": list(range(1, m + 1)),
        "allele_1": ["A"] * m, "allele_2": ["G"] * m,
    }
    values = genotypes.astype(np.float32)
    values[genotypes < 0] = np.nan
    path = os.fspath(stem) + ".bed"
    to_bed(path, values, properties=properties, num_threads=1)
    return path
