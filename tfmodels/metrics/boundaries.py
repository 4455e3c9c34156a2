"""Segment-boundary precision, recall and F1: how well predicted boundaries match known ones.

Used to ask whether an HM-LSTM's boundary detectors (arXiv:1609.01704) fall at the ends of
words (`tfmodels.tasks.char_lm.word_boundary_scores`) or at the known boundaries of a
synthetic language.

Example:
    >>> boundary_scores([0, 1, 1, 0], [0, 1, 0, 1])["f1"]
    0.5
"""

import numpy as np


def boundary_scores(predicted, reference):
    """Precision, recall and F1 of binary boundary marks, step by step (exact positions).

    Args:
        predicted: array of 0/1 (any shape): a predicted boundary at each step.
        reference: the true boundaries, same shape.

    Returns:
        `{"rate", "precision", "recall", "f1"}` as floats: `rate` is the share of steps with a
        predicted boundary; precision is 0 when nothing is predicted, recall 0 when there is
        no reference boundary, F1 0 when both are 0.

    Raises:
        ValueError: the shapes differ, or the arrays are empty.
    """
    predicted = np.asarray(predicted) > 0.5
    reference = np.asarray(reference) > 0.5
    if predicted.shape != reference.shape:
        raise ValueError(f"predicted {predicted.shape} and reference {reference.shape} differ "
                         "in shape")
    if not predicted.size:
        raise ValueError("predicted is empty")
    hits = float(np.sum(predicted & reference))
    precision = hits / predicted.sum() if predicted.any() else 0.0
    recall = hits / reference.sum() if reference.any() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"rate": float(predicted.mean()), "precision": float(precision),
            "recall": float(recall), "f1": float(f1)}


def chance_f1(rate, reference_rate):
    """F1 of boundaries placed at random at `rate` against a reference firing at
    `reference_rate`: precision is then `reference_rate` and recall `rate` (in expectation).

    Example:
        >>> chance_f1(0.5, 0.25)  # precision 0.25, recall 0.5
        0.3333333333333333
    """
    for arg, value in (("rate", rate), ("reference_rate", reference_rate)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{arg} must lie in [0, 1]; got {value!r}")
    if not rate + reference_rate:
        return 0.0
    return 2 * reference_rate * rate / (reference_rate + rate)
