"""Magnitude masks (keras.ops): which weights a pruning step keeps."""

from keras import ops

POOLING_TYPES = ("AVG", "MAX")


def magnitude_mask(weight, sparsity, block_size=(1, 1), block_pooling_type="AVG"):
    """A 0/1 mask of `weight`'s shape zeroing the `sparsity` fraction of smallest magnitudes.

    With `block_size` other than `(1, 1)` (rank-2 weights only) blocks are scored by the mean
    (`"AVG"`) or max of their magnitudes and kept or dropped whole; partial blocks at the
    edges are scored on what they hold. Ties at the threshold are kept (tfmot's rule), so a
    weight with many equal magnitudes may keep more than asked.

    Args:
        weight: a tensor.
        sparsity: scalar tensor or float in [0, 1].
        block_size: `(rows, columns)` of the blocks.
        block_pooling_type: `"AVG"` or `"MAX"`.
    """
    magnitude = ops.abs(ops.cast(weight, "float32"))
    rows, cols = block_size
    if (rows, cols) == (1, 1):
        return _threshold_mask(magnitude, sparsity)
    height, width = magnitude.shape
    pad_h, pad_w = (-height) % rows, (-width) % cols
    padded = ops.pad(magnitude, [[0, pad_h], [0, pad_w]])
    blocks = ops.reshape(padded, ((height + pad_h) // rows, rows, (width + pad_w) // cols, cols))
    if block_pooling_type == "MAX":
        scores = ops.max(blocks, axis=(1, 3))
    else:
        # Mean over the block's real entries (zero padding is not a weight).
        ones = ops.pad(ops.ones_like(magnitude), [[0, pad_h], [0, pad_w]])
        counts = ops.sum(ops.reshape(ones, blocks.shape), axis=(1, 3))
        scores = ops.sum(blocks, axis=(1, 3)) / counts
    block_mask = _threshold_mask(scores, sparsity)
    mask = ops.repeat(ops.repeat(block_mask, rows, axis=0), cols, axis=1)
    return mask[:height, :width]


def m_by_n_mask(weight, m_by_n, axis):
    """A 0/1 mask keeping the `n` largest magnitudes in every group of `m` consecutive weights
    along `axis` (`m_by_n = (n, m)`, tfmot's `sparsity_m_by_n`: (2, 4) keeps 2 of each 4).
    The size of `axis` must be a multiple of `m`.
    """
    keep, group = m_by_n
    magnitude = ops.moveaxis(ops.abs(ops.cast(weight, "float32")), axis, -1)
    moved_shape = magnitude.shape
    groups = ops.reshape(magnitude, (-1, group))
    # Rank within each group (0 = smallest); stable, so ties give an exact count.
    ranks = ops.argsort(ops.argsort(groups, axis=-1), axis=-1)
    mask = ops.cast(ranks >= group - keep, "float32")
    return ops.moveaxis(ops.reshape(mask, moved_shape), -1, axis)


def _threshold_mask(scores, sparsity):
    flat = ops.reshape(scores, (-1,))
    size = flat.shape[0]
    keep = ops.cast(ops.round(size * (1.0 - ops.cast(sparsity, "float32"))), "int32")
    ordered = ops.sort(flat)
    index = ops.clip(size - keep, 0, size - 1)
    threshold = ops.take(ordered, index)
    threshold = ops.where(keep > 0, threshold, ops.convert_to_tensor(float("inf")))
    return ops.cast(scores >= threshold, "float32")
