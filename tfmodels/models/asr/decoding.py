"""CTC decoding: greedy and beam search on logits, and greedy collapse of per-frame ids.

Label id 0 is the CTC blank (`tfmodels.data.speech.Vocabulary`, `keras.ops.ctc_loss`'s default
`mask_index`).

Example:
    ids = greedy_decode(outputs["logits"], outputs["frame_length"])
    texts = [vocabulary.decode(seq) for seq in ids]
"""

import keras
import numpy as np
from keras import ops

BLANK = 0


def _as_lists(decoded):
    decoded = keras.ops.convert_to_numpy(decoded)[0]
    return [[int(i) for i in row if i >= 0] for row in decoded]


def greedy_decode(logits, lengths):
    """Best-path decoding: argmax per frame, repeats merged, blanks dropped.

    Args:
        logits: `(batch, frames, num_classes)` unnormalized scores (log-probabilities work too).
        lengths: `(batch,)` valid frames per utterance.

    Returns:
        A list of `batch` label-id lists.
    """
    decoded, _ = ops.ctc_decode(
        ops.convert_to_tensor(logits, "float32"),
        ops.cast(lengths, "int32"),
        strategy="greedy",
        mask_index=BLANK,
    )
    return _as_lists(decoded)


def beam_search_decode(logits, lengths, beam_width=16):
    """Prefix beam search for the most probable labeling (sums over alignments).

    Args:
        logits: `(batch, frames, num_classes)` unnormalized scores.
        lengths: `(batch,)` valid frames per utterance.
        beam_width: beams kept per frame.

    Returns:
        A list of `batch` label-id lists.
    """
    if isinstance(beam_width, bool) or not isinstance(beam_width, int) or beam_width < 1:
        raise ValueError(f"beam_width must be a positive integer, got {beam_width!r}")
    decoded, _ = ops.ctc_decode(
        ops.convert_to_tensor(logits, "float32"),
        ops.cast(lengths, "int32"),
        strategy="beam_search",
        beam_width=beam_width,
        top_paths=1,
        mask_index=BLANK,
    )
    return _as_lists(decoded)


def collapse(frame_ids):
    """Greedy CTC collapse of one utterance's per-frame ids: merge repeats, drop blanks.

    Example:
    >>> collapse([0, 3, 3, 0, 3, 5, 5, 0])
    [3, 3, 5]
    """
    frame_ids = np.asarray(frame_ids).reshape(-1)
    out = []
    previous = BLANK
    for i in frame_ids.tolist():
        if i != previous and i != BLANK:
            out.append(int(i))
        previous = i
    return out
