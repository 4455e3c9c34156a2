"""CTC decoding: greedy vs beam search on a hand-checked case, and the greedy collapse."""

import numpy as np
import pytest

from tfmodels.models.asr import beam_search_decode, collapse, greedy_decode

pytestmark = pytest.mark.multibackend


def test_beam_search_finds_the_more_probable_labeling():
    # Two frames, classes {blank, a}, p(blank) = 0.6 each frame. Best path: blank blank -> "".
    # But P("") = 0.36 < P("a") = 0.4*0.4 + 0.4*0.6 + 0.6*0.4 = 0.64.
    log_probs = np.log(np.array([[[0.6, 0.4], [0.6, 0.4]]], np.float32))
    assert greedy_decode(log_probs, np.array([2])) == [[]]
    assert beam_search_decode(log_probs, np.array([2]), beam_width=4) == [[1]]


def test_greedy_matches_collapse_of_argmax_and_respects_lengths():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 12, 5)).astype(np.float32) * 3
    lengths = np.array([12, 7, 1])
    decoded = greedy_decode(logits, lengths)
    for row, length, got in zip(logits, lengths, decoded):
        assert got == collapse(row[:length].argmax(-1))


def test_collapse_merges_repeats_only_without_a_blank_between():
    assert collapse([0, 3, 3, 0, 3, 5, 5, 0]) == [3, 3, 5]
    assert collapse([0, 0, 0]) == []
    assert collapse([2, 2, 2]) == [2]


def test_bad_beam_width():
    with pytest.raises(ValueError, match="beam_width"):
        beam_search_decode(np.zeros((1, 2, 3), np.float32), np.array([2]), beam_width=0)
