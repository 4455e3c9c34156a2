"""Character language model: embedding -> quantized RNN layers -> softmax over characters.

The model of Ott et al.'s Penn Treebank character experiments (arXiv:1608.06902, Sec. 4), with
any of the quantized cells. It outputs next-character logits at every step; train it with
`SparseCategoricalCrossentropy(from_logits=True)` and score it in bits per character
(`tfmodels.metrics.language.BitsPerCharacter(from_logits=True)`).
"""

import random

import keras

from tfmodels.models.rnn.layers import RNN_LAYERS
from tfmodels.quantization import QuantDense


def char_lm(
    vocabulary_size,
    cell="lstm",
    units=128,
    num_layers=1,
    embedding_dim=32,
    kernel_quantizer=None,
    recurrent_quantizer=None,
    bias_quantizer=None,
    head_kernel_quantizer=None,
    input_batch_norm=False,
    dropout=0.0,
    seq_len=None,
    batch_size=None,
    stateful=False,
    unroll=False,
    seed=None,
    dtype=None,
    name="char_lm",
):
    """Builds a character language model.

    Args:
        vocabulary_size: number of character ids (including UNK).
        cell: "lstm", "gru" or "rnn".
        units: state size of every RNN layer.
        num_layers: stacked RNN layers.
        embedding_dim: size of the (float) character embedding.
        kernel_quantizer, recurrent_quantizer, bias_quantizer: quantizers of every RNN layer's
            weights (None = float); see `tfmodels.models.rnn.layers.QUANTIZER_PRESETS`.
        head_kernel_quantizer: quantizer of the softmax layer's kernel (None = float).
        input_batch_norm: batch-normalize each RNN layer's inputs (the authors' GRU setup).
        dropout: dropout on each RNN layer's output.
        seq_len: fixed sequence length (None = any; `unroll` needs one).
        batch_size: fixed batch size (needed with `stateful`).
        stateful: keep states across batches (truncated BPTT over contiguous streams).
        unroll: unroll the recurrence (builtin-op TFLite export of the sequence model).
        seed: seed of initializers, dropout and stochastic quantizers.
        dtype: dtype policy of every layer (None: the global policy), e.g. `"mixed_bfloat16"`;
            weights stay float32 and are quantized in float32 (see the cells).
        name: model name.

    Returns:
        A `keras.Model`: int ids `(batch, time)` -> logits `(batch, time, vocabulary_size)`.

    Example:
    >>> from tfmodels.quantization import Ternary
    >>> model = char_lm(50, cell="gru", units=16, kernel_quantizer=Ternary())
    >>> tuple(model(keras.ops.zeros((2, 7), "int32")).shape)
    (2, 7, 50)
    """
    if cell not in RNN_LAYERS:
        raise ValueError(f"cell must be one of {sorted(RNN_LAYERS)}; got {cell!r}")
    for arg, value in (
        ("vocabulary_size", vocabulary_size),
        ("units", units),
        ("num_layers", num_layers),
        ("embedding_dim", embedding_dim),
    ):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{arg} must be a positive integer; got {value!r}")
    if stateful and batch_size is None:
        raise ValueError("stateful=True needs a fixed batch_size")
    rng = random.Random(seed)

    def next_seed():
        return None if seed is None else rng.randrange(2**31)

    inputs = keras.Input(batch_shape=(batch_size, seq_len), dtype="int32", name="ids")
    x = keras.layers.Embedding(
        vocabulary_size, embedding_dim,
        embeddings_initializer=keras.initializers.RandomUniform(-0.1, 0.1, seed=next_seed()),
        dtype=dtype,
        name="embedding",
    )(inputs)
    # Recurrence
    for i in range(num_layers):
        x = RNN_LAYERS[cell](
            units,
            kernel_quantizer=kernel_quantizer,
            recurrent_quantizer=recurrent_quantizer,
            bias_quantizer=bias_quantizer,
            input_batch_norm=input_batch_norm,
            return_sequences=True,
            stateful=stateful,
            unroll=unroll,
            kernel_initializer=keras.initializers.GlorotUniform(next_seed()),
            recurrent_initializer=keras.initializers.Orthogonal(seed=next_seed()),
            seed=next_seed(),
            dtype=dtype,
            name=f"{cell}_{i}",
        )(x)
        if dropout:
            x = keras.layers.Dropout(
                dropout, seed=next_seed(), dtype=dtype, name=f"dropout_{i}"
            )(x)
    # Softmax
    logits = QuantDense(
        vocabulary_size,
        kernel_quantizer=head_kernel_quantizer,
        kernel_initializer=keras.initializers.GlorotUniform(next_seed()),
        dtype=dtype,
        name="logits",
    )(x)
    model = keras.Model(inputs, logits, name=name)
    if dtype is not None:
        # The model's own policy is what `compile` reads to add loss scaling (mixed_float16).
        model.dtype_policy = dtype
    return model
