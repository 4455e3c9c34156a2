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


def xnor_matmul(a_bits, b_bits, n, block_rows=None):
    """`A @ B` of `+-1` matrices from their packed forms, as exact int32.

    Args:
        a_bits: `(m, words)` packed rows of `A (m, n)`.
        b_bits: `(k, words)` packed columns of `B (n, k)` (i.e. `pack_signs(B.T)`).
        n: the unpacked length (padding bits are ignored).
        block_rows: rows of `A` per block (bounds the `(rows, k, words)` intermediate);
            None picks blocks of about 64 MiB.

    Returns:
        int32 `(m, k)`.
    """
    a_bits = ops.convert_to_tensor(a_bits, "int32")
    b_bits = ops.convert_to_tensor(b_bits, "int32")
    m, words = a_bits.shape
    k = b_bits.shape[0]
    if block_rows is None:
        block_rows = max(1, (16 * 2**20) // max(1, k * words))
    parts = []
    for start in range(0, m, block_rows):
        a = a_bits[start : start + block_rows]
        diff = popcount(ops.bitwise_xor(a[:, None, :], b_bits[None, :, :]))
        parts.append(n - 2 * ops.sum(diff, axis=-1))
    return parts[0] if len(parts) == 1 else ops.concatenate(parts, axis=0)


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
