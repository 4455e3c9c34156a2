"""Bit-packed XNOR-popcount products and a bit-packed inference path for binary MLPs.

A `+-1` vector of length `n` is stored as `ceil(n / 32)` int32 words, bit `i % 32` of word
`i // 32` set where the value is `+1` (zero counts as `+1`, as `Binary` maps it). For two such
vectors `a . b = n - 2 * popcount(a XOR b)` (Hubara et al., arXiv:1609.07061 Sec. 4: the
XNOR-popcount form of a binary dot product, with padding bits equal in both so they cancel).
Everything is `keras.ops` (bitwise ops and a SWAR population count), so it runs on every
backend, and the result is exact: the integer the `+-1` float product gives.
"""

import io
import json

import keras
import numpy as np
from keras import ops

WORD_BITS = 32


def pack_signs(x):
    """Packs the signs of `x (..., n)` along the last axis: int32 `(..., ceil(n / 32))`.

    Example:
    >>> keras.ops.convert_to_numpy(pack_signs([[1.0, -1.0, 1.0]])).tolist()
    [[5]]
    """
    x = ops.convert_to_tensor(x)
    n = x.shape[-1]
    words = -(-n // WORD_BITS)
    bits = ops.cast(x >= 0, "int32")
    pad = words * WORD_BITS - n
    if pad:
        bits = ops.pad(bits, [(0, 0)] * (len(x.shape) - 1) + [(0, pad)])
    bits = ops.reshape(bits, (*ops.shape(x)[:-1], words, WORD_BITS))
    shifted = ops.left_shift(bits, ops.arange(WORD_BITS, dtype="int32"))
    # Distinct bits: the int32 sum is their OR (bit 31 adds -2^31, still in range).
    return ops.sum(shifted, axis=-1)


def popcount(words):
    """Set bits per int32 word (SWAR: masks keep arithmetic right shifts honest)."""
    v = ops.convert_to_tensor(words, "int32")
    v = v - ops.bitwise_and(ops.right_shift(v, 1), 0x55555555)
    v = ops.bitwise_and(v, 0x33333333) + ops.bitwise_and(ops.right_shift(v, 2), 0x33333333)
    v = ops.bitwise_and(v + ops.right_shift(v, 4), 0x0F0F0F0F)
    v = v + ops.right_shift(v, 8)
    v = v + ops.right_shift(v, 16)
    return ops.bitwise_and(v, 0x3F)


# Default bound on the `(rows, cols, words)` int32 XOR intermediate of one block: 16 MiB.
BLOCK_ELEMENTS = 2**22


def xnor_matmul(a_bits, b_bits, n, block_rows=None, block_cols=None,
                block_elements=BLOCK_ELEMENTS):
    """`A @ B` of `+-1` matrices from their packed forms, as exact int32.

    The product is computed block by block: `block_rows` rows of `A` against `block_cols`
    columns of `B` at a time, looped with `keras.ops.map` (one compiled loop body on JAX and
    in a `tf.function`), so the `(rows, cols, words)` XOR intermediate never exceeds
    `block_rows * block_cols * words` int32 values whatever the size of the product (a single
    broadcast over `(m, k, words)` would need 68 GB at m = k = n = 8192).

    Args:
        a_bits: `(m, words)` packed rows of `A (m, n)`.
        b_bits: `(k, words)` packed columns of `B (n, k)` (i.e. `pack_signs(B.T)`).
        n: the unpacked length (padding bits are ignored).
        block_rows: rows of `A` per block; None derives it from `block_elements`.
        block_cols: columns of `B` per block; None: all of them when one row against all
            columns fits in `block_elements`, else as many as fit.
        block_elements: the bound on one block's intermediate (int32 values) used to derive
            the block sizes not given (default `BLOCK_ELEMENTS`, 16 MiB).

    Returns:
        int32 `(m, k)`.
    """
    a_bits = ops.convert_to_tensor(a_bits, "int32")
    b_bits = ops.convert_to_tensor(b_bits, "int32")
    if len(a_bits.shape) != 2 or len(b_bits.shape) != 2 or a_bits.shape[1] != b_bits.shape[1]:
        raise ValueError(f"a_bits and b_bits must be (m, words) and (k, words) with the same "
                         f"words; got {tuple(a_bits.shape)} and {tuple(b_bits.shape)}")
    for name, value in (("block_rows", block_rows), ("block_cols", block_cols),
                        ("block_elements", block_elements)):
        if value is not None and (not isinstance(value, int) or value < 1):
            raise ValueError(f"{name} must be a positive integer or None; got {value!r}")
    m, words = a_bits.shape
    k = b_bits.shape[0]
    if block_cols is None:
        block_cols = k if k * words <= block_elements else max(1, block_elements // words)
    block_cols = min(block_cols, k)
    if block_rows is None:
        block_rows = max(1, block_elements // (block_cols * words))
    block_rows = min(block_rows, m)

    def block(a, b):
        diff = popcount(ops.bitwise_xor(a[:, None, :], b[None, :, :]))
        return n - 2 * ops.sum(diff, axis=-1)

    def row_block(a):
        if block_cols == k:
            return block(a, b_bits)
        # (col blocks, rows, cols) -> (rows, col blocks * cols) -> (rows, k).
        out = ops.map(lambda b: block(a, b), _blocks(b_bits, block_cols))
        return ops.reshape(ops.transpose(out, (1, 0, 2)), (block_rows, -1))[:, :k]

    if block_rows == m:
        return row_block(a_bits)
    out = ops.map(row_block, _blocks(a_bits, block_rows))
    return ops.reshape(out, (-1, k))[:m]


def _blocks(x, size):
    """`(count, words)` -> `(ceil(count / size), size, words)`, zero rows padding the last."""
    count, words = x.shape
    pad = -count % size
    if pad:
        x = ops.pad(x, [(0, pad), (0, 0)])
    return ops.reshape(x, (-1, size, words))


def binary_matmul(a, b):
    """`sign(a) @ sign(b)` (`+1` for zero) through packing and XNOR-popcount: int32 `(m, k)`."""
    a = ops.convert_to_tensor(a)
    b = ops.convert_to_tensor(b)
    return xnor_matmul(pack_signs(a), pack_signs(ops.transpose(b)), a.shape[-1])


class PackedBinaryMLP:
    """Inference of a trained binary `qnn_mlp` with 1-bit packed weights and activations.

    The first layer multiplies the real-valued input by its `+-1` kernel in float (the paper
    keeps the first layer real); every later layer packs the `+-1` activations and uses
    `xnor_matmul` against the packed kernel, then the model's own BatchNorm (and binary
    activation) on the exact integer sums. Keras computes the same integers in float32 (exact
    below 2^24), so the predictions are those of the Keras model (the logits equal to float
    rounding: a compiled Keras predict may fuse the BatchNorm arithmetic differently).

    Args:
        first_kernel: float32 `(in, units)` `+-1` kernel of the first layer.
        packed: `[(bits (units, words) int32, n)]` of the later layers.
        norms: one BatchNorm layer per layer (built).
        preprocess: callable from images to the first layer's input.

    Example:
    >>> packed = PackedBinaryMLP.from_model(model)  # doctest: +SKIP
    >>> labels = packed.predict(x_test).argmax(-1)  # doctest: +SKIP
    """

    def __init__(self, first_kernel, packed, norms, input_shape):
        self.first_kernel = np.asarray(first_kernel, np.float32)
        self.packed = [(np.asarray(bits, np.int32), int(n)) for bits, n in packed]
        self.norms = list(norms)
        self.input_shape = tuple(input_shape)
        if len(self.norms) != len(self.packed) + 1:
            raise ValueError("norms must hold one BatchNorm per layer")

    @classmethod
    def from_model(cls, model):
        """Takes the kernels and BatchNorms of a `qnn_mlp` with binary weights and activations."""
        from tfmodels.quantization import ActivationQuantizer, Binary, QuantDense

        dense = [l for l in model.layers if isinstance(l, QuantDense)]
        acts = [l for l in model.layers if isinstance(l, ActivationQuantizer)]
        if not dense or not all(isinstance(l.kernel_quantizer, Binary) for l in dense) or not all(
            isinstance(a.quantizer, Binary) for a in acts
        ) or len(acts) != len(dense) - 1:
            raise ValueError("model must be a qnn_mlp with binary weights and activations")
        norms = [model.get_layer(l.name.replace("dense", "bn")) for l in dense]
        kernels = [ops.convert_to_numpy(l.quantized_kernel()) for l in dense]
        packed = [(ops.convert_to_numpy(pack_signs(k.T)), k.shape[0]) for k in kernels[1:]]
        return cls(kernels[0], packed, norms, model.input_shape[1:])

    def predict(self, images, batch_size=1000):
        """Logits `(n, classes)` float32 for images in `[0, 1]`."""
        out = []
        for start in range(0, len(images), batch_size):
            x = np.asarray(images[start : start + batch_size], np.float32)
            x = x.reshape(len(x), -1)
            h = self.norms[0](ops.matmul(ops.convert_to_tensor(x), self.first_kernel),
                              training=False)
            for (bits, n), norm in zip(self.packed, self.norms[1:]):
                # Binary activation: +1 where h >= 0, what pack_signs encodes.
                acc = xnor_matmul(pack_signs(h), bits, n)
                h = norm(ops.cast(acc, "float32"), training=False)
            out.append(ops.convert_to_numpy(h))
        return np.concatenate(out)

    def to_bytes(self):
        """The packed model as `.npz` bytes: packed kernels, float first kernel (as bits too),
        BatchNorm weights and configs."""
        arrays = {"first_kernel_bits": ops.convert_to_numpy(pack_signs(self.first_kernel.T))}
        meta = {"input_shape": self.input_shape, "first_n": self.first_kernel.shape[0],
                "n": [n for _, n in self.packed], "norms": []}
        for i, (bits, _) in enumerate(self.packed):
            arrays[f"kernel{i}_bits"] = bits
        for i, norm in enumerate(self.norms):
            meta["norms"].append(keras.saving.serialize_keras_object(norm))
            for j, w in enumerate(norm.get_weights()):
                arrays[f"norm{i}_{j}"] = np.asarray(w, np.float32)
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, content):
        """Rebuilds a `PackedBinaryMLP` from `to_bytes()` output."""
        arrays = np.load(io.BytesIO(content))
        meta = json.loads(arrays["meta"].tobytes().decode())
        first_n = meta["first_n"]
        first = _unpack(arrays["first_kernel_bits"], first_n).T
        packed = [(arrays[f"kernel{i}_bits"], n) for i, n in enumerate(meta["n"])]
        norms = []
        widths = [first.shape[1]] + [bits.shape[0] for bits, _ in packed]
        for i, config in enumerate(meta["norms"]):
            norm = keras.saving.deserialize_keras_object(config)
            if not norm.built:
                norm.build((None, widths[i]))
            count = len(norm.weights)
            norm.set_weights([arrays[f"norm{i}_{j}"] for j in range(count)])
            norms.append(norm)
        return cls(first, packed, norms, meta["input_shape"])


def _unpack(bits, n):
    bits = np.asarray(bits).astype(np.uint32)
    signs = (bits[..., None] >> np.arange(WORD_BITS, dtype=np.uint32)) & 1
    signs = signs.reshape(*bits.shape[:-1], -1)[..., :n]
    return np.where(signs == 1, 1.0, -1.0).astype(np.float32)
