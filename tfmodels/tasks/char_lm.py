"""Character language modelling with quantized RNNs: train, score in BPC, export, re-score on device.

Ott et al. (arXiv:1608.06902, Table 3) train character LMs on Penn Treebank with binarized,
ternarized, pow2-ternarized and exponentially quantized weights and report bits per character.
`train_char_lm` does that on any corpus `tfmodels.data.text` reads (PTB's `ptb.char.*.txt` or
plain UTF-8 `train/valid/test.txt`); without `data_dir` it uses the embedded standard-library
docstring corpus, generating it under `data/text` on first use.

It then exports the streaming step model to `.tflite` (float32, and int8 unless told not to),
steps the int8 file over held-out text in the LiteRT interpreter and reports its BPC next to
the Keras model's on the same characters.

Example:
    result = train_char_lm(cell="lstm", quantizer="ternary", epochs=1, steps_per_epoch=100)
    print(result)
"""

import dataclasses
import os

import keras
import numpy as np

from tfmodels.data import text as text_data
from tfmodels.metrics.boundaries import boundary_scores
from tfmodels.metrics.language import BitsPerCharacter, bits_per_character
from tfmodels.models.rnn import SlopeAnnealing, boundary_states, char_lm, hm_lstm_lm, quantizers
from tfmodels.models.rnn.professor_forcing import ProfessorForcing
from tfmodels.tasks.rnn_result import RNNTaskResult
from tfmodels.tasks.training import training_callbacks
from tfmodels.utils.atomic import save_model

DEFAULT_DATA_DIR = os.path.join("data", "text")
# The recurrent cells `train_char_lm` builds.
CELLS = ("lstm", "gru", "rnn", "hm_lstm")


@dataclasses.dataclass
class CharLMResult(RNNTaskResult):
    """What `train_char_lm` measured and wrote (the run's fields: `RNNTaskResult`).

    Attributes:
        valid_bpc, test_bpc: Keras model, windows of `seq_len` from zero state.
        vocab_path: the vocabulary JSON next to the model.
        device_bpc: `{"keras": bpc, mode: bpc}` on the held-out sequence, stepped from zero
            state (Keras model vs each `.tflite` in the LiteRT interpreter).
        boundaries: HM-LSTM only: `{"layer_<l>": {"rate", "precision", "recall", "f1"}}` of
            each layer's boundaries on the test windows against spaces and newlines
            (`word_boundary_scores`).
        boundary_history: HM-LSTM with `boundary_every` only: the
            `tfmodels.diagnostics.BoundaryHistory.history` of the run (layer 1 against spaces
            and newlines, layer 2 against newlines, on the first validation characters).
    """

    valid_bpc: float
    test_bpc: float
    vocab_path: str = dataclasses.field(default=None, kw_only=True)
    device_bpc: dict = dataclasses.field(default_factory=dict, kw_only=True)
    boundaries: dict = dataclasses.field(default_factory=dict, kw_only=True)
    boundary_history: dict = dataclasses.field(default=None, kw_only=True)

    def __str__(self):
        scores = f"valid {self.valid_bpc:.3f} BPC, test {self.test_bpc:.3f} BPC"
        text = self.format("char_lm", scores, "held-out BPC", self.device_bpc,
                           lambda v: f"{v:.4f}")
        for layer, s in self.boundaries.items():
            text += (f"\n  {layer} boundaries vs spaces: rate {s['rate']:.3f}, precision "
                     f"{s['precision']:.3f}, recall {s['recall']:.3f}, F1 {s['f1']:.3f}")
        return text


def build_char_lm(vocabulary_size, cell="lstm", quantizer="float", stochastic=False, units=128,
                  num_layers=1, embedding_dim=32, seed=0, **kwargs):
    """`tfmodels.models.rnn.char_lm` with a named quantizer preset, compiled for training.

    Args:
        vocabulary_size: character ids including UNK.
        cell: "lstm", "gru" or "rnn".
        quantizer: "float", "binary", "ternary", "pow2_ternary" or "exponential".
        stochastic: stochastic variant of the quantizer.
        units, num_layers, embedding_dim, seed: as for `char_lm`.
        **kwargs: other `char_lm` arguments (seq_len, unroll, dropout, ...); `learning_rate`
            (default 2e-3) for Adam.

    Returns:
        A compiled `keras.Model` (sparse cross-entropy from logits, BPC metric).
    """
    learning_rate = kwargs.pop("learning_rate", 2e-3)
    model = char_lm(
        vocabulary_size, cell=cell, units=units, num_layers=num_layers, embedding_dim=embedding_dim,
        # The authors batch-normalize the GRU's inputs.
        input_batch_norm=(cell == "gru"),
        seed=seed, **quantizers(quantizer, stochastic), **kwargs,
    )
    model.compile(
        # Clipping keeps the shadow weights of the coarse quantizers from diverging.
        optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[BitsPerCharacter(from_logits=True)],
    )
    return model


def build_hm_lstm_lm(vocabulary_size, quantizer="float", stochastic=False, units=128,
                     num_layers=3, embedding_dim=32, seed=0, **kwargs):
    """`tfmodels.models.rnn.hm_lstm_lm` with a named quantizer preset, compiled for training.

    Args:
        vocabulary_size: character ids including UNK.
        quantizer: "float", "binary", "ternary", "pow2_ternary" or "exponential" (the HM-LSTM's
            bottom-up, recurrent/top-down and bias weights).
        stochastic: stochastic variant of the quantizer.
        units, num_layers, embedding_dim, seed: as for `hm_lstm_lm`.
        **kwargs: other `hm_lstm_lm` arguments (layer_norm, output_units, seq_len, ...);
            `learning_rate` (default 2e-3) for Adam.

    Returns:
        A compiled `keras.Model` (sparse cross-entropy from logits, BPC metric). Train it with
        `tfmodels.models.rnn.SlopeAnnealing()` among the callbacks for the paper's annealing.

    Example:
    >>> model = build_hm_lstm_lm(40, units=16, num_layers=2)
    """
    learning_rate = kwargs.pop("learning_rate", 2e-3)
    model = hm_lstm_lm(vocabulary_size, units=units, num_layers=num_layers,
                       embedding_dim=embedding_dim, seed=seed,
                       **quantizers(quantizer, stochastic), **kwargs)
    model.compile(
        # The paper clips the gradient norm (to 1) as well.
        optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[BitsPerCharacter(from_logits=True)],
    )
    return model


def word_boundary_scores(model, ids, vocabulary, seq_len, max_chars=None):
    """Each HM-LSTM layer's boundaries against word ends, on `ids` cut into `seq_len` windows.

    A reference boundary is a step whose input character is a space or newline (the step at
    which the model has read the end of a word); `z^l_t = 1` there is a hit.

    Returns:
        `{"layer_<l>": {"rate", "precision", "recall", "f1"}}` (`rate`: share of steps with a
        boundary), 1-based layers.
    """
    ids = np.asarray(ids)
    if max_chars is not None:
        ids = ids[:max_chars]
    count = len(ids) // seq_len
    if count < 1:
        raise ValueError(f"ids has {len(ids)} characters, fewer than seq_len={seq_len}")
    windows = ids[: count * seq_len].reshape(count, seq_len).astype(np.int32)
    z = boundary_states(model, windows)
    separators = [vocabulary.encode(c)[0] for c in " \n" if c in vocabulary.chars]
    reference = np.isin(windows, separators)
    return {f"layer_{l + 1}": boundary_scores(z[..., l], reference)
            for l in range(z.shape[-1])}


def boundary_history(ids, vocabulary, seq_len, every, num_layers, max_chars=2048, path=None,
                     png=None):
    """A `tfmodels.diagnostics.BoundaryHistory` of an HM-LSTM char-LM on the first `max_chars`
    of `ids` in `seq_len` windows: layer 1 against spaces and newlines (as
    `word_boundary_scores`), layer 2 (when there is one) against newlines."""
    from tfmodels.diagnostics import BoundaryHistory

    ids = np.asarray(ids)[:max_chars]
    count = len(ids) // seq_len
    if count < 1:
        raise ValueError(f"ids has {len(ids)} characters, fewer than seq_len={seq_len}")
    windows = ids[: count * seq_len].reshape(count, seq_len).astype(np.int32)
    separators = [vocabulary.encode(c)[0] for c in " \n" if c in vocabulary.chars]
    references = {"space": (1, np.isin(windows, separators))}
    if num_layers >= 2 and "\n" in vocabulary.chars:
        references["newline"] = (2, windows == vocabulary.encode("\n")[0])
    return BoundaryHistory(windows, references, every=every, path=path, png=png,
                           title="HM-LSTM boundaries over training")


def evaluate_bpc(model, ids, seq_len, batch_size=64, max_chars=None):
    """BPC of `model` on `ids` cut into windows of `seq_len` (each from zero state)."""
    ids = np.asarray(ids)
    if max_chars is not None:
        ids = ids[: max_chars + 1]
    ds = text_data.window_dataset(ids, seq_len, min(batch_size, (len(ids) - 1) // seq_len),
                                  shuffle=False, drop_remainder=False)
    return float(model.evaluate(ds, verbose=0, return_dict=True)["bpc"])


def train_char_lm(
    data_dir=None,
    cell="lstm",
    quantizer="float",
    stochastic=False,
    units=128,
    num_layers=None,
    embedding_dim=32,
    seq_len=64,
    batch_size=32,
    epochs=2,
    steps_per_epoch=200,
    learning_rate=2e-3,
    eval_chars=20000,
    device_eval_chars=400,
    seed=0,
    export_dir=None,
    int8=True,
    verbose=0,
    work_dir=None,
    callbacks=None,
    layer_norm=False,
    slope_annealing=True,
    training="teacher",
    training_options=None,
    boundary_every=None,
):
    """Trains a (quantized) character LM, reports BPC, and optionally exports and re-scores it.

    Args:
        data_dir: corpus directory (see `tfmodels.data.text.load_char_corpus`); None uses
            `data/text`, generating the embedded corpus there if it is missing.
        cell: "lstm", "gru", "rnn", or "hm_lstm": the Hierarchical Multiscale LSTM
            (arXiv:1609.01704, `build_hm_lstm_lm`), which also reports its boundaries against
            spaces (`CharLMResult.boundaries`).
        quantizer: "float", "binary", "ternary", "pow2_ternary" or "exponential".
        stochastic: the stochastic variant (sampling in training).
        units, num_layers, embedding_dim: model size; `num_layers` defaults to 1 (3 for
            "hm_lstm", the paper's).
        seq_len, batch_size: training windows.
        epochs, steps_per_epoch: training length (random windows of the training split).
        learning_rate: Adam's.
        eval_chars: characters of valid and test scored (None: all).
        device_eval_chars: length of the held-out test sequence the `.tflite` files are
            stepped over.
        seed: initialization, data order and sampling.
        export_dir: where `char_lm_<cell>_<quantizer>.keras`, its vocabulary and the step
            `.tflite` files go; None skips export.
        int8: also export and score the int8 step model.
        verbose: Keras fit verbosity.
        work_dir: resumable training state and TensorBoard logs (`tasks.training`): an
            interrupted run rerun with the same folder resumes from its last finished epoch.
            None keeps nothing.
        callbacks: extra Keras callbacks for `model.fit`.
        layer_norm: "hm_lstm" only: layer normalization in the cell.
        slope_annealing: "hm_lstm" only: anneal the hard-sigmoid slope per epoch
            (`SlopeAnnealing`: `min(5, 1 + 0.04 * epoch)`; an epoch is `steps_per_epoch`
            batches here, not a pass over the corpus); False keeps the slope at 1.
        training: "teacher" (teacher forcing), "scheduled" (scheduled sampling) or
            "professor" (Professor Forcing, arXiv:1610.09038), through
            `tfmodels.models.rnn.ProfessorForcing` for the latter two ("lstm" and "rnn"
            cells; the discriminator is training-only and not exported).
        training_options: extra `ProfessorForcing` arguments (e.g. `{"discriminator":
            behaviour_discriminator(...)}`, `adversarial_weight`, `max_sampling_probability`).
        boundary_every: "hm_lstm" only: score the boundaries every that many training batches
            on the first 2,048 validation characters (`boundary_history`); the history goes to
            `CharLMResult.boundary_history` and, with `export_dir`, to
            `<name>.boundary_history.json` (rewritten at every scoring) and `.png` there.

    Returns:
        A `CharLMResult`.

    Raises:
        ValueError: an unknown cell, or a split shorter than one window (checked before
            training).
    """
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {list(CELLS)}; got {cell!r}")
    if cell != "hm_lstm" and layer_norm:
        raise ValueError("layer_norm applies to cell='hm_lstm' only")
    if boundary_every is not None and cell != "hm_lstm":
        raise ValueError("boundary_every applies to cell='hm_lstm' only")
    if training not in ("teacher", "scheduled", "professor"):
        raise ValueError("training must be 'teacher', 'scheduled' or 'professor'; got "
                         f"{training!r}")
    if training != "teacher" and cell not in ("lstm", "rnn"):
        raise ValueError(f"training={training!r} steps the cells one by one: cell must be "
                         f"'lstm' or 'rnn' ('gru' batch-normalizes its inputs); got {cell!r}")
    if num_layers is None:
        num_layers = 3 if cell == "hm_lstm" else 1
    if data_dir is None:
        data_dir = DEFAULT_DATA_DIR
        if not os.path.isdir(data_dir):
            text_data.generate(data_dir, seed=0)
    corpus = text_data.load_char_corpus(data_dir)
    # Each split must hold at least one window (plus its shifted target) to train or score.
    for split in ("train", "valid", "test"):
        size = len(getattr(corpus, split))
        if size < seq_len + 1:
            raise ValueError(f"the {split} split of {data_dir} has {size} characters, fewer than "
                             f"seq_len + 1 = {seq_len + 1}: give it more text or lower seq_len")
    keras.utils.set_random_seed(seed)
    callbacks = list(callbacks or [])
    if cell == "hm_lstm":
        model = build_hm_lstm_lm(len(corpus.vocab), quantizer=quantizer, stochastic=stochastic,
                                 units=units, num_layers=num_layers, layer_norm=layer_norm,
                                 embedding_dim=embedding_dim, seed=seed,
                                 learning_rate=learning_rate)
        if slope_annealing:
            callbacks.append(SlopeAnnealing())
        history = None
        if boundary_every is not None:
            files = {}
            if export_dir is not None:
                os.makedirs(export_dir, exist_ok=True)
                stem = os.path.join(export_dir, f"{_export_name(cell, quantizer, stochastic)}"
                                    ".boundary_history")
                files = {"path": stem + ".json", "png": stem + ".png"}
            history = boundary_history(corpus.valid, corpus.vocab, seq_len, boundary_every,
                                       num_layers, **files)
            callbacks.append(history)
    else:
        model = build_char_lm(len(corpus.vocab), cell=cell, quantizer=quantizer,
                              stochastic=stochastic, units=units, num_layers=num_layers,
                              embedding_dim=embedding_dim, seed=seed,
                              learning_rate=learning_rate)
    train = text_data.window_dataset(corpus.train, seq_len, batch_size, shuffle=True, seed=seed,
                                     stride=max(1, seq_len // 2)).repeat()
    trainer = model
    if training != "teacher":
        # Trains `model`'s own weights; `model` stays the plain char-LM that is scored and
        # exported below.
        trainer = ProfessorForcing(model, mode=training, seed=seed, **(training_options or {}))
        trainer.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0))
    trainer.fit(train, epochs=epochs, steps_per_epoch=steps_per_epoch, verbose=verbose,
                callbacks=[*training_callbacks(work_dir, "train"), *callbacks])
    result = CharLMResult(
        cell=cell, quantizer=quantizer, stochastic=stochastic, seed=seed,
        valid_bpc=evaluate_bpc(model, corpus.valid, seq_len, max_chars=eval_chars),
        test_bpc=evaluate_bpc(model, corpus.test, seq_len, max_chars=eval_chars),
    )
    if cell == "hm_lstm":
        result.boundaries = word_boundary_scores(model, corpus.test, corpus.vocab, seq_len,
                                                 max_chars=eval_chars)
        if history is not None:
            result.boundary_history = history.history
    if export_dir is None:
        return result

    from tfmodels.export import rnn as rnn_export

    os.makedirs(export_dir, exist_ok=True)
    name = _export_name(cell, quantizer, stochastic)
    result.model_path = save_model(model, os.path.join(export_dir, f"{name}.keras"))
    result.vocab_path = os.path.join(export_dir, f"{name}.vocab.json")
    corpus.vocab.save(result.vocab_path)
    held_out = corpus.test[: device_eval_chars + 1]
    x, y = held_out[:-1], held_out[1:]
    result.device_bpc["keras"] = bits_per_character(
        y, np.asarray(model.predict(x[None], verbose=0))[0], from_logits=True)
    calibration = _calibration_windows(corpus.train, seq_len, seed)
    # Binary/ternary/pow2 kernels carry one scale per matrix, so one int8 scale per kernel is
    # exact and saves the per-channel scales and zero points (0.27x instead of 0.30x float32
    # at 128 units); float and exponential kernels keep per-channel scales.
    per_channel_dense = quantizer not in ("binary", "ternary", "pow2_ternary")
    for mode in ("float32", "int8") if int8 else ("float32",):
        report = rnn_export.export_step_tflite(
            model, os.path.join(export_dir, f"{name}_step.{mode}.tflite"), mode=mode,
            representative_data=calibration if mode == "int8" else None,
            per_channel_dense=per_channel_dense)
        result.tflite[mode] = report
        logits = rnn_export.run_step_tflite(report.path, x)
        result.device_bpc[mode] = bits_per_character(y, logits, from_logits=True)
    return result


def _export_name(cell, quantizer, stochastic):
    return f"char_lm_{cell}_{quantizer}{'_stochastic' if stochastic else ''}"


def _calibration_windows(ids, seq_len, seed, count=4):
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, len(ids) - seq_len, size=count)
    return np.stack([ids[s : s + seq_len] for s in starts]).astype(np.int32)


def step_boundaries(path, ids, layer_name="hm_lstm"):
    """An HM-LSTM char-LM step `.tflite`'s boundaries, stepped over `ids` from zero state.

    The step file carries each layer's boundary `z^l` as a state (`<layer_name>_z<l>`, from 0);
    this reads them after every step, as `tfmodels.models.rnn.boundary_states` does for the
    Keras model.

    Returns:
        `(len(ids), num_layers)` 0/1 float32 (`z > 0.5`; an int8 file's states are
        dequantized first).

    Raises:
        ValueError: the file has no `<layer_name>_z0` state.
    """
    from tfmodels.export.rnn import run_step_tflite

    _, states = run_step_tflite(path, np.asarray(ids, np.int32), return_states=True)
    names = sorted((n for n in states if n.startswith(f"{layer_name}_z")),
                   key=lambda n: int(n[len(layer_name) + 2:]))
    if not names:
        raise ValueError(f"{path} has no boundary states {layer_name}_z<l>; states "
                         f"{sorted(states)}")
    z = np.concatenate([states[n].reshape(len(ids), -1) for n in names], -1)
    return (z > 0.5).astype(np.float32)


def sample_text(path, vocabulary, seed_text, length=200, temperature=1.0, seed=0):
    """Generates text with a char-LM step `.tflite` on the device path (LiteRT interpreter).

    Args:
        path: a step model of a char-LM (`tfmodels.export.rnn.export_step_tflite`), float32
            or int8.
        vocabulary: the `tfmodels.data.text.CharVocabulary` (or its JSON path) the model was
            trained with; unknown seed characters map to UNK.
        seed_text: the prompt, fed first (at least one character).
        length: characters to generate after the prompt.
        temperature: > 0; logits are divided by it (lower: more conservative).
        seed: seed of the sampling.

    Returns:
        The generated characters (without the prompt). UNK is never sampled.

    Example:
        print(sample_text("export/char_lm_step.int8.tflite", "export/vocab.json", "The "))
    """
    from tfmodels.export.rnn import step_stream

    if not isinstance(vocabulary, text_data.CharVocabulary):
        vocabulary = text_data.CharVocabulary.load(vocabulary)
    if not seed_text:
        raise ValueError("seed_text must contain at least one character")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0; got {temperature!r}")
    if not isinstance(length, int) or length < 0:
        raise ValueError(f"length must be a non-negative integer; got {length!r}")
    stepper = step_stream(path)
    vocab_size = int(stepper.runner.output_details["y"]["shape"][-1])
    if vocab_size != len(vocabulary):
        raise ValueError(f"{path} predicts {vocab_size} characters, the vocabulary has "
                         f"{len(vocabulary)}")
    rng = np.random.default_rng(seed)
    logits = None
    for i in vocabulary.encode(seed_text):
        logits = stepper.step({"x": np.int32(i)})["y"][0]
    out = []
    for _ in range(length):
        z = np.asarray(logits, np.float64) / temperature
        z[vocabulary.unk_id] = -np.inf
        p = np.exp(z - z.max())
        next_id = int(rng.choice(len(p), p=p / p.sum()))
        out.append(next_id)
        logits = stepper.step({"x": np.int32(next_id)})["y"][0]
    return vocabulary.decode(out)
