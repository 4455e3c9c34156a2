"""Per-SNP feature embeddings for Diet Networks (arXiv:1611.09340, section 3).

A Diet Network predicts its fat layer's weights from one embedding vector per input feature.
The paper compares embeddings computed from the **training** genotypes only:
- `class_histogram_embedding`: for each SNP, the frequency of genotype 0/1/2 within each class
  (3 x num_classes values; the paper's best).
- `random_projection_embedding`: each SNP's column over the training samples, projected to
  `size` dimensions by a fixed Gaussian matrix.
- `snp2vec_embedding`: the code of an autoencoder trained on the transposed data (each SNP is
  one example of `samples` values), "SNP2Vec".

`feature_embedding` whitens the embedding by default (`whiten`): without it the auxiliary
network learned the histogram's population signal only very slowly (see `whiten`).

Every function here takes the training rows only; `feature_embedding` takes the whole data and
the training indices, so a caller cannot hand it the test rows by mistake.

Example:
    >>> import numpy as np
    >>> x = np.array([[0, 1], [2, 1], [1, 1]], np.int8); y = np.array([0, 1, 1])
    >>> class_histogram_embedding(x, y, 2)[0]
    array([1. , 0. , 0. , 0. , 0.5, 0.5], dtype=float32)
"""

import keras
import numpy as np

EMBEDDINGS = ("histogram", "random_projection", "snp2vec")


def _check_matrix(genotypes):
    genotypes = np.asarray(genotypes)
    if genotypes.ndim != 2 or genotypes.shape[0] < 1 or genotypes.shape[1] < 1:
        raise ValueError(f"genotypes must be a non-empty (samples, snps) matrix, got shape "
                         f"{genotypes.shape}")
    return genotypes


def _check_size(size):
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"size must be a positive int, got {size!r}")


def class_histogram_embedding(genotypes, labels, num_classes, chunk_snps=4096):
    """Per-class genotype frequencies of every SNP: float32 `(snps, 3 * num_classes)`.

    Column `3 c + g` of SNP `j` is the fraction of class-`c` samples with genotype `g` at `j`
    (a class absent from `labels` gets zeros).

    Args:
        genotypes: int8 `(samples, snps)` training rows, values in {0, 1, 2}.
        labels: `(samples,)` class indices of those rows.
        num_classes: number of classes.
        chunk_snps: SNPs counted at once (bounds the working memory).
    """
    genotypes = _check_matrix(genotypes)
    labels = np.asarray(labels)
    if labels.shape != (genotypes.shape[0],):
        raise ValueError(f"labels must have shape ({genotypes.shape[0]},), got {labels.shape}")
    if not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must be in [0, {num_classes}), got {labels.min()}..{labels.max()}")
    snps = genotypes.shape[1]
    out = np.zeros((snps, 3 * num_classes), np.float32)
    for c in range(num_classes):
        rows = genotypes[labels == c]
        if not len(rows):
            continue
        for start in range(0, snps, chunk_snps):
            block = rows[:, start : start + chunk_snps]
            for g in range(3):
                out[start : start + chunk_snps, 3 * c + g] = np.mean(block == g, axis=0)
    return out


def random_projection_embedding(genotypes, size=100, seed=0):
    """Each SNP's training column projected by a fixed Gaussian matrix: float32 `(snps, size)`.

    `E = X^T R / sqrt(samples)` with `R ~ N(0, 1)` of shape `(samples, size)`.
    """
    genotypes = _check_matrix(genotypes)
    _check_size(size)
    n = genotypes.shape[0]
    projection = np.random.default_rng(seed).standard_normal((n, size)).astype(np.float32)
    return (genotypes.T.astype(np.float32) @ projection / np.sqrt(n)).astype(np.float32)


def snp2vec_embedding(genotypes, size=100, epochs=20, batch_size=128, learning_rate=1e-3,
                      seed=0, verbose=0):
    """SNP2Vec: the `size`-unit code of an autoencoder on the transposed training data.

    Each SNP is one example (its `samples` genotypes, scaled to [0, 1]); encoder `Dense(size,
    tanh)`, linear decoder back to `samples` values, squared error, Adam, trained with
    `model.fit`. Returns float32 `(snps, size)`.
    """
    genotypes = _check_matrix(genotypes)
    _check_size(size)
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    columns = genotypes.T.astype(np.float32) / 2.0
    inputs = keras.Input((columns.shape[1],), name="snp")
    code = keras.layers.Dense(size, activation="tanh", name="code",
                              kernel_initializer=keras.initializers.GlorotUniform(seed))(inputs)
    decoded = keras.layers.Dense(columns.shape[1], name="decoded",
                                 kernel_initializer=keras.initializers.GlorotUniform(seed + 1))(code)
    autoencoder = keras.Model(inputs, decoded, name="snp2vec")
    autoencoder.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse")
    autoencoder.fit(columns, columns, epochs=epochs, batch_size=batch_size, shuffle=True,
                    verbose=verbose)
    encoder = keras.Model(inputs, code)
    return np.asarray(encoder.predict(columns, batch_size=1024, verbose=0), np.float32)


def whiten(embedding, eps=1e-3):
    """Decorrelates the columns of an embedding: principal-component scores, each scaled to
    unit variance over the SNPs, `score_i / sqrt(var_i + eps * var_max)`.

    Why: the columns of a per-class histogram are nearly collinear (every class's frequency
    tracks the ancestral one); the population signal lives in their small differences.
    Standardized columns left the auxiliary MLP on a plateau at super-population accuracy
    for tens of epochs (validation 20-30% after 40 epochs at 3,000 SNPs); whitened, it reached
    89% in 30 (README). `eps` keeps null directions (each class's three frequencies sum to
    one) at zero instead of amplifying rounding noise.
    """
    embedding = np.asarray(embedding, np.float64)
    centred = embedding - embedding.mean(axis=0)
    u, singular, _ = np.linalg.svd(centred, full_matrices=False)
    std = singular / np.sqrt(len(centred))
    scale = 1.0 / np.sqrt(std**2 + eps * std[0] ** 2) if std[0] > 0 else np.zeros_like(std)
    return (u * singular * scale).astype(np.float32)


def feature_embedding(kind, genotypes, labels, train_indices, num_classes, size=100, seed=0,
                      normalize="whiten", **kwargs):
    """The embedding `kind` (one of `EMBEDDINGS`) computed from rows `train_indices` only.

    Args:
        kind: `"histogram"`, `"random_projection"` or `"snp2vec"`.
        genotypes, labels: the whole data set (all splits).
        train_indices: the training rows; no other row is read.
        num_classes: classes (for the histogram).
        size: embedding size for the projection and SNP2Vec (the histogram's is 3 x classes).
        seed: projection / autoencoder seed.
        normalize: `"whiten"` (default, `whiten`), `"standardize"` (each column to zero mean
            and unit variance over the SNPs) or None (raw values).
        **kwargs: passed to `snp2vec_embedding` (epochs, batch_size, ...).
    """
    if kind not in EMBEDDINGS:
        raise ValueError(f"kind must be one of {EMBEDDINGS}, got {kind!r}")
    if normalize not in ("whiten", "standardize", None):
        raise ValueError(f"normalize must be 'whiten', 'standardize' or None, got {normalize!r}")
    train_indices = np.asarray(train_indices)
    if train_indices.ndim != 1 or not len(train_indices):
        raise ValueError("train_indices must be a non-empty 1-D array of row indices")
    rows = np.asarray(genotypes)[train_indices]
    if kind == "histogram":
        embedding = class_histogram_embedding(rows, np.asarray(labels)[train_indices],
                                              num_classes)
    elif kind == "random_projection":
        embedding = random_projection_embedding(rows, size, seed)
    else:
        embedding = snp2vec_embedding(rows, size, seed=seed, **kwargs)
    if normalize == "whiten":
        embedding = whiten(embedding)
    elif normalize == "standardize":
        std = embedding.std(axis=0)
        embedding = (embedding - embedding.mean(axis=0)) / np.where(std > 0, std, 1.0)
    return embedding.astype(np.float32)
