import functools

import numpy as np
import pytest

from tfmodels.metrics.speech import EditCounts, edit_counts, word_error_rate


@pytest.mark.parametrize(
    "reference, hypothesis, expected",
    [
        ("one two three", "one two three", EditCounts(0, 0, 0, 3)),
        ("one two three", "one oh three", EditCounts(1, 0, 0, 3)),
        ("one two three", "one three", EditCounts(0, 1, 0, 3)),
        ("one two", "one two two", EditCounts(0, 0, 1, 2)),
        ("one two three", "", EditCounts(0, 3, 0, 3)),
        ("", "nine", EditCounts(0, 0, 1, 0)),
        ("a b", "b a", EditCounts(2, 0, 0, 2)),
        # Hand-aligned: zero->oh (S), two deleted, eight inserted at the end.
        ("zero one two three four", "oh one three four eight", EditCounts(1, 1, 1, 5)),
        (["seven", "oh"], ["seven"], EditCounts(0, 1, 0, 2)),
    ],
)
def test_edit_counts_hand_checked(reference, hypothesis, expected):
    assert edit_counts(reference, hypothesis) == expected


def test_edit_counts_whitespace_is_not_a_word():
    assert edit_counts("  one\ttwo \n", "one two") == EditCounts(0, 0, 0, 2)


def _levenshtein(a, b):
    @functools.lru_cache(maxsize=None)
    def distance(i, j):
        if i == 0 or j == 0:
            return i + j
        return min(distance(i - 1, j - 1) + (a[i - 1] != b[j - 1]),
                   distance(i - 1, j) + 1, distance(i, j - 1) + 1)

    return distance(len(a), len(b))


def test_edit_counts_match_levenshtein_on_random_sequences():
    rng = np.random.default_rng(0)
    for _ in range(200):
        ref = list(rng.integers(0, 4, size=rng.integers(0, 8)))
        hyp = list(rng.integers(0, 4, size=rng.integers(0, 8)))
        counts = edit_counts(ref, hyp)
        assert counts.errors == _levenshtein(tuple(ref), tuple(hyp))
        # Both sides hold the same number of aligned (substituted or matched) words.
        assert len(ref) - counts.deletions == len(hyp) - counts.insertions


def test_corpus_wer_sums_edits_before_dividing():
    result = word_error_rate(["one oh two", "nine"], ["one two", "nine five"])
    assert result.rate == pytest.approx(2 / 4)
    assert (result.substitutions, result.deletions, result.insertions) == (0, 1, 1)
    assert result.reference_length == 4
    np.testing.assert_allclose(result.utterance_rates, [1 / 3, 1.0])
    # The corpus rate is not the mean of the utterance rates.
    assert result.rate != pytest.approx(result.utterance_rates.mean())


def test_wer_can_exceed_one_and_handles_empty_references():
    result = word_error_rate(["one", ""], ["two three four", "five"])
    assert result.rate == pytest.approx(4 / 1)
    assert result.utterance_rates[0] == pytest.approx(3.0)
    assert np.isinf(result.utterance_rates[1])
    assert word_error_rate(["one", ""], ["one", ""]).utterance_rates.tolist() == [0.0, 0.0]


def test_wer_single_string_and_token_lists():
    assert word_error_rate("one two", "one").rate == pytest.approx(0.5)
    assert word_error_rate([[3, 4]], [[3, 5]]).rate == pytest.approx(0.5)


def test_wer_rejects_bad_input():
    with pytest.raises(ValueError, match="differ in length"):
        word_error_rate(["one", "two"], ["one"])
    with pytest.raises(ValueError, match="no words"):
        word_error_rate([""], ["one"])
