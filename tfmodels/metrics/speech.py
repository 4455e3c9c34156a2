"""Word error rate for speech recognition, computed in numpy on decoded transcripts.

WER = (substitutions + deletions + insertions) / reference words, from a minimum-edit
(Levenshtein) alignment of hypothesis to reference. The corpus WER sums edits and reference
words over all utterances before dividing, as NIST sclite and the Aurora evaluations do; it is
not the mean of the per-utterance rates.

Example:
    result = word_error_rate(["one two three"], ["one three four"])
    result.rate  # 2 / 3: "two" deleted, "four" inserted
"""

from typing import NamedTuple, Sequence

import numpy as np


class EditCounts(NamedTuple):
    """Edit operations of one minimum-edit alignment, and the reference length."""

    substitutions: int
    deletions: int
    insertions: int
    reference_length: int

    @property
    def errors(self):
        return self.substitutions + self.deletions + self.insertions


class ErrorRate(NamedTuple):
    """Corpus error rate with its edit counts and the per-utterance rates.

    `utterance_rates[i]` is utterance i's errors over its reference length (inf when the
    reference is empty and the hypothesis is not, 0 when both are empty).
    """

    rate: float
    substitutions: int
    deletions: int
    insertions: int
    reference_length: int
    utterance_rates: np.ndarray


def _words(text):
    return text.split() if isinstance(text, str) else list(text)


def edit_counts(reference, hypothesis):
    """Substitutions, deletions and insertions turning `reference` into `hypothesis`.

    Args:
        reference: a transcript string (split on whitespace) or a sequence of tokens.
        hypothesis: the same, for the recognizer output.

    Returns:
        An `EditCounts` of one alignment with the fewest edits. Where several exist, the
        backtrace prefers a substitution to a deletion and a deletion to an insertion, so
        "a b" -> "b a" counts two substitutions.

    Example:
        edit_counts("one two three", "one too three")  # EditCounts(1, 0, 0, 3)
    """
    ref, hyp = _words(reference), _words(hypothesis)
    n, m = len(ref), len(hyp)
    cost = np.zeros((n + 1, m + 1), dtype=np.int64)
    cost[:, 0] = np.arange(n + 1)
    cost[0, :] = np.arange(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost[i, j] = min(cost[i - 1, j - 1] + (ref[i - 1] != hyp[j - 1]),
                             cost[i - 1, j] + 1, cost[i, j - 1] + 1)
    substitutions = deletions = insertions = 0
    i, j = n, m
    while i > 0 or j > 0:
        if i > 0 and j > 0 and cost[i, j] == cost[i - 1, j - 1] + (ref[i - 1] != hyp[j - 1]):
            substitutions += int(ref[i - 1] != hyp[j - 1])
            i, j = i - 1, j - 1
        elif i > 0 and cost[i, j] == cost[i - 1, j] + 1:
            deletions += 1
            i -= 1
        else:
            insertions += 1
            j -= 1
    return EditCounts(substitutions, deletions, insertions, n)


def word_error_rate(references: Sequence, hypotheses: Sequence):
    """Corpus-level and per-utterance word error rate.

    Args:
        references: reference transcripts, one per utterance (strings or token sequences);
            a single string counts as one utterance.
        hypotheses: recognizer transcripts, aligned with `references`.

    Returns:
        An `ErrorRate`: `rate` = total edits / total reference words.

    Raises:
        ValueError: the two lists differ in length, or all references are empty.

    Example:
        word_error_rate(["one oh two", "nine"], ["one two", "nine five"]).rate  # 2 / 4
    """
    if isinstance(references, str):
        references = [references]
    if isinstance(hypotheses, str):
        hypotheses = [hypotheses]
    references, hypotheses = list(references), list(hypotheses)
    if len(references) != len(hypotheses):
        raise ValueError(
            f"references and hypotheses differ in length: {len(references)} vs "
            f"{len(hypotheses)}")
    counts = [edit_counts(r, h) for r, h in zip(references, hypotheses)]
    total = sum(c.reference_length for c in counts)
    if total == 0:
        raise ValueError("the references contain no words: the error rate is undefined")
    rates = np.array([
        c.errors / c.reference_length if c.reference_length else (np.inf if c.errors else 0.0)
        for c in counts], dtype=np.float64)
    substitutions = sum(c.substitutions for c in counts)
    deletions = sum(c.deletions for c in counts)
    insertions = sum(c.insertions for c in counts)
    return ErrorRate((substitutions + deletions + insertions) / total, substitutions, deletions,
                     insertions, total, rates)
