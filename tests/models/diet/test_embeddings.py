"""Per-SNP embeddings: exact histograms, training rows only, shapes and bad inputs."""

import numpy as np
import pytest

from tfmodels.models.diet import (
    class_histogram_embedding,
    feature_embedding,
    random_projection_embedding,
    snp2vec_embedding,
    whiten,
)


def test_histogram_by_hand():
    x = np.array([[0, 2], [2, 2], [1, 2], [2, 0]], np.int8)
    y = np.array([0, 1, 1, 1])
    emb = class_histogram_embedding(x, y, 3)
    np.testing.assert_allclose(emb[0], [1, 0, 0, 0, 1 / 3, 2 / 3, 0, 0, 0])
    np.testing.assert_allclose(emb[1], [0, 0, 1, 1 / 3, 0, 2 / 3, 0, 0, 0])
    # Frequencies of each present class sum to one per SNP.
    np.testing.assert_allclose(emb.reshape(2, 3, 3).sum(-1), [[1, 1, 0], [1, 1, 0]])


def test_histogram_chunks_agree():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, (30, 50)).astype(np.int8)
    y = rng.integers(0, 4, 30)
    np.testing.assert_array_equal(class_histogram_embedding(x, y, 4, chunk_snps=7),
                                  class_histogram_embedding(x, y, 4))


@pytest.mark.parametrize("kind", ["histogram", "random_projection", "snp2vec"])
def test_embedding_reads_training_rows_only(kind):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 3, (40, 25)).astype(np.int8)
    y = rng.integers(0, 3, 40)
    train = np.arange(0, 30)
    kwargs = {"size": 4, "epochs": 1} if kind == "snp2vec" else {"size": 4}
    before = feature_embedding(kind, x, y, train, 3, **kwargs)
    # Rewrite every held-out row and label: the embedding cannot change.
    x2, y2 = x.copy(), y.copy()
    x2[30:] = 2 - x2[30:]
    y2[30:] = (y2[30:] + 1) % 3
    after = feature_embedding(kind, x2, y2, train, 3, **kwargs)
    np.testing.assert_allclose(before, after, atol=1e-6)
    # ...while a change in a training row does change it.
    x2[0] = 2 - x2[0]
    y2[0] = (y2[0] + 1) % 3
    changed = feature_embedding(kind, x2, y2, train, 3, **kwargs)
    assert not np.allclose(before, changed, atol=1e-6)
    assert before.shape == (25, 9 if kind == "histogram" else 4)
    np.testing.assert_allclose(before.mean(0), 0, atol=1e-5)


def test_whiten_decorrelates_and_drops_null_directions():
    rng = np.random.default_rng(4)
    base = rng.normal(size=(500, 4)) * [5.0, 1.0, 0.5, 0.1]
    # Columns: three sources, a near copy of the first (it differs by the small fourth source:
    # the histogram's case), and an exact linear combination (a null direction).
    emb = np.column_stack([base[:, :3], base[:, 0] + base[:, 3], base[:, 0] - base[:, 1]])
    white = whiten(emb, eps=1e-6)
    variances = np.linalg.eigvalsh(np.cov(white, rowvar=False, bias=True))
    # Four independent directions come out with unit variance (the small one included); the
    # fifth stays null.
    np.testing.assert_allclose(variances[1:], 1.0, atol=0.02)
    assert variances[0] < 1e-6
    np.testing.assert_allclose(np.cov(white, rowvar=False, bias=True),
                               np.diag(np.var(white, axis=0)), atol=1e-6)


def test_random_projection_is_seeded_linear():
    x = np.random.default_rng(2).integers(0, 3, (20, 10)).astype(np.int8)
    a = random_projection_embedding(x, 5, seed=3)
    np.testing.assert_array_equal(a, random_projection_embedding(x, 5, seed=3))
    doubled = random_projection_embedding(np.concatenate([x, x], 1), 5, seed=3)
    np.testing.assert_allclose(doubled[:10], a, rtol=1e-6)


def test_snp2vec_shape_and_range():
    x = np.random.default_rng(3).integers(0, 3, (12, 30)).astype(np.int8)
    emb = snp2vec_embedding(x, size=6, epochs=2, batch_size=10, seed=0)
    assert emb.shape == (30, 6) and emb.dtype == np.float32
    assert np.all(np.abs(emb) <= 1)  # tanh code


@pytest.mark.parametrize("call, match", [
    (lambda x, y: class_histogram_embedding(x, y[:3], 3), "labels must have shape"),
    (lambda x, y: class_histogram_embedding(x, y, 2), "labels must be in"),
    (lambda x, y: class_histogram_embedding(x[0], y, 3), "genotypes"),
    (lambda x, y: random_projection_embedding(x, 0), "size"),
    (lambda x, y: snp2vec_embedding(x, 3, epochs=0), "epochs"),
    (lambda x, y: feature_embedding("pca", x, y, [0], 3), "kind"),
    (lambda x, y: feature_embedding("histogram", x, y, [], 3), "train_indices"),
    (lambda x, y: feature_embedding("histogram", x, y, [0], 3, normalize="l2"), "normalize"),
])
def test_bad_inputs(call, match):
    x = np.zeros((5, 4), np.int8)
    y = np.array([0, 1, 2, 0, 2])
    with pytest.raises(ValueError, match=match):
        call(x, y)
