import keras
import numpy as np
import pytest

from tfmodels.models.qnn import (
    PackedBinaryMLP,
    binary_matmul,
    pack_signs,
    popcount,
    qnn_mlp,
    xnor_matmul,
)

pytestmark = pytest.mark.multibackend


def _np(x):
    return keras.ops.convert_to_numpy(x)


def test_pack_signs_bit_layout():
    # +1 at positions 0 and 2 of word 0, position 31 (bit 31 -> the int32 sign bit) of word 0,
    # and position 32 -> bit 0 of word 1.
    x = -np.ones((1, 33), "float32")
    x[0, [0, 2, 31, 32]] = 1.0
    np.testing.assert_array_equal(_np(pack_signs(x)), [[5 - 2**31, 1]])
    np.testing.assert_array_equal(_np(pack_signs([[0.0, -0.5]])), [[1]])  # zero counts as +1


def test_popcount_of_edge_words():
    words = np.array([0, -1, 1, 7, 2**31 - 1, -(2**31), 0x55555555], np.int32)
    np.testing.assert_array_equal(_np(popcount(words)), [0, 32, 1, 3, 31, 1, 16])


# A whole word, and two words of which the second is partial (each shape compiles anew on JAX).
@pytest.mark.parametrize("n", [32, 70])
def test_xnor_matmul_equals_the_pm1_float_product(n):
    rng = np.random.default_rng(n)
    a = rng.choice([-1.0, 1.0], size=(7, n)).astype("float32")
    b = rng.choice([-1.0, 1.0], size=(n, 5)).astype("float32")
    expected = (a @ b).astype(np.int32)
    np.testing.assert_array_equal(_np(binary_matmul(a, b)), expected)
    a_bits, b_bits = pack_signs(a), pack_signs(b.T)
    # Row blocks, column blocks, both (7 and 5 split unevenly: padded last blocks), and blocks
    # derived from an element bound smaller than one row against all columns.
    for kwargs in (dict(block_rows=2), dict(block_cols=2), dict(block_rows=3, block_cols=4),
                   dict(block_elements=3 * a_bits.shape[1])):
        blocked = xnor_matmul(a_bits, b_bits, n, **kwargs)
        np.testing.assert_array_equal(_np(blocked), expected, err_msg=str(kwargs))


def test_xnor_matmul_bounds_the_intermediate(monkeypatch):
    """Every XOR intermediate popcount sees is one block, within `block_elements` (a single
    broadcast here would be 64 x 48 x 3 = 9216 values), and the blocked product stays exact."""
    from tfmodels.models.qnn import packed

    sizes = []
    real = packed.popcount

    def recording(words):
        sizes.append(int(np.prod(words.shape)))
        return real(words)

    monkeypatch.setattr(packed, "popcount", recording)
    rng = np.random.default_rng(1)
    a = rng.choice([-1.0, 1.0], size=(64, 70)).astype("float32")
    b = rng.choice([-1.0, 1.0], size=(70, 48)).astype("float32")
    bound = 100  # fewer than one row against all 48 columns (144): column blocks too
    out = xnor_matmul(pack_signs(a), pack_signs(b.T), 70, block_elements=bound)
    np.testing.assert_array_equal(_np(out), (a @ b).astype(np.int32))
    assert sizes and max(sizes) <= bound, sizes


def test_xnor_matmul_refuses_bad_shapes_and_blocks():
    a = pack_signs(np.ones((3, 40), "float32"))
    with pytest.raises(ValueError, match="same words"):
        xnor_matmul(a, pack_signs(np.ones((2, 70), "float32")), 40)
    with pytest.raises(ValueError, match="block_rows"):
        xnor_matmul(a, a, 40, block_rows=0)


def test_packed_mlp_predicts_like_keras_and_survives_its_file(trained_binary_mlp):
    model, x, _ = trained_binary_mlp
    packed = PackedBinaryMLP.from_model(model)
    keras_logits = model.predict(x, verbose=0)
    logits = packed.predict(x)
    np.testing.assert_array_equal(logits.argmax(-1), keras_logits.argmax(-1))
    np.testing.assert_allclose(logits, keras_logits, rtol=1e-5, atol=1e-5)
    reloaded = PackedBinaryMLP.from_bytes(packed.to_bytes())
    np.testing.assert_array_equal(reloaded.predict(x), logits)
    # 1 bit per weight: the 40x33 kernel packs into 33 rows of 2 words.
    assert packed.packed[0][0].shape == (33, 2)


def test_packed_mlp_refuses_non_binary_models():
    with pytest.raises(ValueError, match="binary"):
        PackedBinaryMLP.from_model(qnn_mlp(hidden_units=(8,), activations="linear2"))
