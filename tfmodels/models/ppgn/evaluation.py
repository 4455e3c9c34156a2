"""Sample-quality numbers for generated digits, computed with an independent classifier.

The paper judged samples by eye and by Inception score; here every number comes from a
classifier that the sampler never climbed (so "confident" means recognizable to another
network, not adversarially fooled C):

- `class_confidence`: mean `p(target | x)` and the accuracy `argmax p(y | x) == target`.
- `inception_score`: `exp E_x[KL(p(y | x) || p(y))]`, 1 (useless) .. number of classes.
- `frechet_distance`: between Gaussians fitted to the independent classifier's features of
  generated and real images (FID's formula, with an MNIST network instead of Inception).
- `intra_class_diversity`: mean pairwise L2 distance between images of the same target.

Example:
    >>> import numpy as np
    >>> round(inception_score(np.eye(10)[np.arange(20) % 10]), 6)  # confident, balanced: the max
    10.0
"""

import numpy as np


def class_confidence(probabilities, targets):
    """`(mean p(target | x), accuracy)` from class probabilities `(n, classes)`."""
    probabilities, targets = np.asarray(probabilities), np.asarray(targets)
    if probabilities.ndim != 2 or len(probabilities) != len(targets):
        raise ValueError(f"probabilities must be (n, classes) with n = len(targets), got "
                         f"{probabilities.shape} for {len(targets)} targets")
    confidence = probabilities[np.arange(len(targets)), targets]
    return float(confidence.mean()), float((probabilities.argmax(-1) == targets).mean())


def inception_score(probabilities, eps=1e-12):
    """`exp(mean_x KL(p(y | x) || p(y)))` with `p(y)` the mean over the samples."""
    p = np.asarray(probabilities, np.float64)
    if p.ndim != 2 or len(p) == 0:
        raise ValueError(f"probabilities must be a non-empty (n, classes) array, got {p.shape}")
    marginal = p.mean(axis=0, keepdims=True)
    kl = np.sum(p * (np.log(p + eps) - np.log(marginal + eps)), axis=1)
    return float(np.exp(kl.mean()))


def frechet_distance(features_a, features_b):
    """`|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^(1/2))` between two feature sets `(n, d)`.

    The trace of the matrix square root is the sum of the square roots of the eigenvalues of
    `S_a S_b` (real and non-negative for covariance matrices), so no `sqrtm` is needed.
    """
    a, b = np.asarray(features_a, np.float64), np.asarray(features_b, np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise ValueError(f"features must be (n >= 2, d) arrays of one width, got {a.shape} "
                         f"and {b.shape}")
    mu = a.mean(0) - b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    eig = np.linalg.eigvals(cov_a @ cov_b)
    cross = np.sum(np.sqrt(np.clip(eig.real, 0, None)))
    return float(mu @ mu + np.trace(cov_a) + np.trace(cov_b) - 2 * cross)


def intra_class_diversity(images, targets):
    """Mean over targets of the mean pairwise L2 distance between that target's images (0 when
    every sample of a class is the same image)."""
    images = np.asarray(images, np.float64).reshape(len(images), -1)
    targets = np.asarray(targets)
    values = []
    for t in np.unique(targets):
        x = images[targets == t]
        if len(x) < 2:
            continue
        d = np.sqrt(np.maximum(((x[:, None] - x[None]) ** 2).sum(-1), 0))
        values.append(d[np.triu_indices(len(x), 1)].mean())
    if not values:
        raise ValueError("intra_class_diversity needs two images of at least one target")
    return float(np.mean(values))
