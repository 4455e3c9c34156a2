"""HM-LSTM experiments (arXiv:1609.01704): BPC against a parameter-matched LSTM, boundary F1.

Three questions, each answered by short runs that write one JSON per finished run (rerunning
skips them) and a markdown table:

- `compare_char_lm`: bits per character of the HM-LSTM and of a stacked LSTM with the same
  number of parameters, same data, same steps, per seed; and for the HM-LSTM, slope annealing
  on and off.
- Boundaries (`boundary_report`): precision / recall / F1 of layer 1's boundaries against word
  ends (the step reading a space or newline, and the step before it) and of layer 2's against
  line ends.
- `synthetic_language`: a language whose words and sentences are known, with *no* separator
  between words, so that layer 1 can only find the words by learning them; its boundaries are
  scored against the true word and sentence ends.

`boundary_figure` draws the paper's Figure 3: a text excerpt with each layer's boundaries.

Example:
    rows = compare_char_lm("data/text", seeds=(0, 1), steps=600, out_dir="export/hm_lstm")
    print(results_table(rows))
"""

import json
import os
import time

import keras
import numpy as np

from tfmodels.data import text as text_data
from tfmodels.metrics import boundaries as boundary_metrics
from tfmodels.metrics.boundaries import boundary_scores
from tfmodels.models.rnn import BoundaryRatePenalty, SlopeAnnealing, boundary_states
from tfmodels.tasks.char_lm import (
    build_char_lm,
    build_hm_lstm_lm,
    evaluate_bpc,
    step_boundaries,
)
from tfmodels.utils import atomic

MODELS = ("hm_lstm", "hm_lstm_no_annealing", "hm_lstm_rate", "lstm")
LABELS = {"hm_lstm": "annealed", "hm_lstm_no_annealing": "slope 1",
          "hm_lstm_rate": "annealed + rate penalty", "lstm": "LSTM"}
# "hm_lstm_rate": the band and weight of its `BoundaryRatePenalty`.
RATE_BAND, RATE_WEIGHT = (0.05, 0.5), 1.0
# Held-out characters the boundary history is scored on during training.
HISTORY_CHARS = 2048


# Synthetic language -------------------------------------------------------------------------


def synthetic_language(num_chars, seed=0, lexicon_size=16, letters="abcdefgh",
                       word_length=(2, 5), sentence_words=(3, 6), lexicon_seed=0):
    """A text of words from a fixed random lexicon, written without spaces, sentences ending "."

    Words follow a word-bigram grammar (each word has 3 possible successors), so a model that
    knows the words can predict the first letter of the next one only in part, and within a
    word it can predict every letter: the word ends are where the uncertainty is. Each sentence
    is 3-5 words then ".".

    Args:
        num_chars: length of the text.
        seed: draws the sentences.
        lexicon_size, letters, word_length: the lexicon: `lexicon_size` distinct words of
            `word_length[0]..word_length[1]` letters.
        sentence_words: words per sentence, `[low, high)`.
        lexicon_seed: draws the lexicon and the grammar (keep it fixed across splits).

    Returns:
        `(text, word_ends, sentence_ends)`: the string, and boolean arrays marking the last
        character of every word ("." counts as a word) and every ".".
    """
    if num_chars < 1:
        raise ValueError(f"num_chars must be positive; got {num_chars!r}")
    lex_rng = np.random.default_rng(lexicon_seed)
    lexicon = set()
    while len(lexicon) < lexicon_size:
        n = int(lex_rng.integers(word_length[0], word_length[1] + 1))
        lexicon.add("".join(lex_rng.choice(list(letters), n)))
    lexicon = sorted(lexicon)
    successors = [lex_rng.choice(lexicon_size, 3, replace=False) for _ in range(lexicon_size)]
    rng = np.random.default_rng(seed)
    parts, word_ends, sentence_ends = [], [], []
    length = 0
    while length < num_chars:
        word = int(rng.integers(lexicon_size))
        for _ in range(int(rng.integers(*sentence_words))):
            piece = lexicon[word]
            parts.append(piece)
            word_ends += [False] * (len(piece) - 1) + [True]
            sentence_ends += [False] * len(piece)
            length += len(piece)
            word = int(rng.choice(successors[word]))
        parts.append(".")
        word_ends.append(True)
        sentence_ends.append(True)
        length += 1
    text = "".join(parts)[:num_chars]
    return (text, np.array(word_ends[:num_chars]), np.array(sentence_ends[:num_chars]))


# Runs ----------------------------------------------------------------------------------------


def lstm_units_for(parameters, vocabulary_size, num_layers, embedding_dim):
    """Units of a `char_lm(cell="lstm")` whose parameter count is closest to `parameters`."""
    def count(u):
        first = 4 * (embedding_dim * u + u * u + u)
        rest = (num_layers - 1) * 4 * (2 * u * u + u)
        head = u * vocabulary_size + vocabulary_size
        return vocabulary_size * embedding_dim + first + rest + head

    return min(range(1, 4096), key=lambda u: abs(count(u) - parameters))


def _windows(ids, seq_len):
    count = len(ids) // seq_len
    return np.asarray(ids[: count * seq_len]).reshape(count, seq_len).astype(np.int32)


def train_run(model_name, train_ids, valid_ids, vocabulary_size, units=64, num_layers=3,
              embedding_dim=32, seq_len=64, batch_size=32, steps=600, epochs=12,
              learning_rate=2e-3, seed=0, parameters=None, callbacks=()):
    """Trains one model for `steps` batches of random windows, returns it and its valid BPC.

    `model_name`: "hm_lstm" (slope annealed from 1 to 5 over the `epochs`, the paper's end
    points compressed into this short run), "hm_lstm_no_annealing" (slope 1 throughout),
    "hm_lstm_rate" (annealed, plus `RATE_WEIGHT` times a `BoundaryRatePenalty(*RATE_BAND)` on
    the boundaries, not in the paper) or "lstm" (stacked LSTM with `parameters` parameters,
    default: as many as the HM-LSTM).
    `callbacks`: extra Keras callbacks (e.g. a `tfmodels.diagnostics.BoundaryHistory`).
    """
    if model_name not in MODELS:
        raise ValueError(f"model_name must be one of {MODELS}; got {model_name!r}")
    keras.utils.set_random_seed(seed)
    annealing = []
    if model_name.startswith("hm_lstm"):
        model = build_hm_lstm_lm(vocabulary_size, units=units, num_layers=num_layers,
                                 embedding_dim=embedding_dim, seed=seed,
                                 learning_rate=learning_rate)
        if model_name in ("hm_lstm", "hm_lstm_rate"):
            annealing.append(SlopeAnnealing(rate=4.0 / max(1, epochs - 1)))
    else:
        if parameters is None:
            parameters = build_hm_lstm_lm(vocabulary_size, units=units, num_layers=num_layers,
                                          embedding_dim=embedding_dim).count_params()
        lstm_units = lstm_units_for(parameters, vocabulary_size, num_layers, embedding_dim)
        model = build_char_lm(vocabulary_size, cell="lstm", units=lstm_units,
                              num_layers=num_layers, embedding_dim=embedding_dim, seed=seed,
                              learning_rate=learning_rate)
    data = text_data.window_dataset(train_ids, seq_len, batch_size, shuffle=True, seed=seed,
                                    stride=max(1, seq_len // 2)).repeat()
    trainer = model
    if model_name == "hm_lstm_rate":
        trainer, data = _rate_penalized(model, data, learning_rate)
    start = time.time()
    trainer.fit(data, epochs=epochs, steps_per_epoch=max(1, steps // epochs), verbose=0,
              callbacks=[*annealing, *callbacks])
    seconds = time.time() - start
    return model, evaluate_bpc(model, valid_ids, seq_len), seconds


def _rate_penalized(model, data, learning_rate):
    """A model sharing `model`'s layers that also outputs the boundaries, compiled with the
    language-model loss plus the rate penalty, and `data` with dummy boundary targets."""
    layer = model.get_layer("hm_lstm")
    z = layer.output[..., -layer.cell.num_layers:]
    trainer = keras.Model(model.inputs, [model.outputs[0], z], name=f"{model.name}_rate")
    trainer.compile(
        optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0),
        loss=[keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              BoundaryRatePenalty(*RATE_BAND)],
        loss_weights=[1.0, RATE_WEIGHT])
    data = data.map(lambda x, y: (x, (y, keras.ops.expand_dims(
        keras.ops.zeros_like(y, dtype="float32"), -1))))
    return trainer, data


def boundary_report(model, ids, references, seq_len):
    """`{"layer_<l>/<reference name>": scores}` for every layer and reference.

    Args:
        model: an `hm_lstm_lm`.
        ids: held-out character ids, scored in windows of `seq_len` from zero state.
        references: `{name: (layer, boolean array like ids)}`, e.g.
            `{"space": (1, ids == space_id)}`.
        seq_len: window length.
    """
    z = boundary_states(model, _windows(ids, seq_len))
    out = {}
    for name, (layer, reference) in references.items():
        out[f"layer_{layer}/{name}"] = boundary_scores(z[..., layer - 1],
                                                       _windows(reference, seq_len))
    return out


def _text_references(ids, vocab):
    separators = np.isin(ids, [vocab.encode(c)[0] for c in " \n" if c in vocab.chars])
    newline = ids == vocab.encode("\n")[0]
    return {"space": (1, separators), "before_space": (1, np.roll(separators, -1)),
            "newline": (2, newline)}


def _run_all(out_dir, runs, run_one, boundary_every=None):
    """Runs `run_one(*key.split("__"))` per key, or reads its JSON back when there is one (and,
    with `boundary_every`, an HM-LSTM's holds a boundary history)."""
    os.makedirs(out_dir, exist_ok=True)
    rows = []
    for key in runs:
        path = os.path.join(out_dir, f"{key}.json")
        if os.path.exists(path):
            with open(path) as f:
                row = json.load(f)
            if (boundary_every is None or not row["model"].startswith("hm_lstm")
                    or "boundary_history" in row):
                rows.append(row)
                continue
        row = run_one(*key.split("__"))
        atomic.write_json(path, row)
        rows.append(row)
    return rows


def _history(references, ids, seq_len, every, path):
    """A `BoundaryHistory` on the first `HISTORY_CHARS` of `ids` (None when `every` is None)."""
    if every is None:
        return None
    from tfmodels.diagnostics import BoundaryHistory

    ids = ids[:HISTORY_CHARS]
    refs = {name: (layer, _windows(marks[:HISTORY_CHARS], seq_len))
            for name, (layer, marks) in references.items()}
    return BoundaryHistory(_windows(ids, seq_len), refs, every=every, path=path)


def _train_with_history(history, model_name, *args, **kwargs):
    """`train_run`, with `history` among the callbacks for the HM-LSTMs."""
    extra = [history] if history is not None and model_name.startswith("hm_lstm") else []
    return train_run(model_name, *args, callbacks=extra, **kwargs)


def compare_char_lm(data_dir, seeds=(0, 1), models=("hm_lstm", "hm_lstm_no_annealing", "lstm"),
                    out_dir="export/hm_lstm", units=64, num_layers=3, steps=600, seq_len=64,
                    eval_chars=30000, save_models=True, boundary_every=None):
    """BPC and boundary scores of each model and seed on the corpus at `data_dir`.

    `boundary_every`: also score the HM-LSTMs' boundaries (layer 1 against spaces, layer 2
    against newlines) on the first `HISTORY_CHARS` validation characters every that many
    training batches (`tfmodels.diagnostics.BoundaryHistory`); the history goes into the row
    ("boundary_history") and, while training, to `<out_dir>/<run>.history.json`.

    Returns:
        A list of dicts: model, seed, parameters, valid_bpc, seconds, boundaries (HM-LSTM).
    """
    corpus = text_data.load_char_corpus(data_dir)
    valid = corpus.valid[:eval_chars]

    def run_one(model_name, seed):
        refs = _text_references(valid, corpus.vocab)
        history = _history({k: refs[k] for k in ("space", "newline")}, valid, seq_len,
                           boundary_every,
                           os.path.join(out_dir, f"{model_name}__{seed}.history.json"))
        model, bpc, seconds = _train_with_history(
            history, model_name, corpus.train, valid, len(corpus.vocab), units=units,
            num_layers=num_layers, seq_len=seq_len, steps=steps, seed=int(seed))
        row = {"data": "text", "model": model_name, "seed": int(seed), "steps": steps,
               "parameters": int(model.count_params()), "valid_bpc": bpc, "seconds": seconds}
        if model_name.startswith("hm_lstm"):
            row["boundaries"] = boundary_report(model, valid, refs, seq_len)
            if history is not None:
                row["boundary_history"] = history.history
            if save_models:
                atomic.save_model(model, os.path.join(out_dir, f"text__{model_name}__{seed}.keras"))
        return row

    return _run_all(out_dir, [f"{m}__{s}" for s in seeds for m in models],
                    lambda m, s: run_one(m, s), boundary_every)


def compare_synthetic(seeds=(0,), models=("hm_lstm", "hm_lstm_no_annealing"),
                      out_dir="export/hm_lstm", units=32, num_layers=2, steps=400,
                      seq_len=64, train_chars=200000, eval_chars=8000, boundary_every=None):
    """The HM-LSTM on `synthetic_language`: BPC and boundaries against the true words/sentences.

    `boundary_every`: as for `compare_char_lm` (references: layer 1 the word ends and the
    word starts, i.e. the steps right after a word end, layer 2 the sentence ends).
    """
    text, _, _ = synthetic_language(train_chars, seed=1)
    valid_text, word_ends, sentence_ends = synthetic_language(eval_chars, seed=2)
    vocab = text_data.CharVocabulary.build(text)
    train, valid = vocab.encode(text), vocab.encode(valid_text)
    word_starts = np.concatenate([[True], word_ends[:-1]])  # the step reading a word's 1st letter

    run_dir = os.path.join(out_dir, "synthetic")

    def run_one(model_name, seed):
        history = _history({"word_end": (1, word_ends), "word_start": (1, word_starts),
                            "sentence_end": (2, sentence_ends)},
                           valid, seq_len, boundary_every,
                           os.path.join(run_dir, f"{model_name}__{seed}.history.json"))
        model, bpc, seconds = _train_with_history(
            history, model_name, train, valid, len(vocab), units=units, num_layers=num_layers,
            seq_len=seq_len, steps=steps, seed=int(seed))
        row = {"data": "synthetic", "model": model_name, "seed": int(seed), "steps": steps,
               "parameters": int(model.count_params()), "valid_bpc": bpc, "seconds": seconds}
        if model_name.startswith("hm_lstm"):
            row["boundaries"] = boundary_report(
                model, valid, {"word_end": (1, word_ends), "word_start": (1, word_starts),
                               "sentence_end": (2, sentence_ends),
                               "word_end_l2": (2, word_ends)}, seq_len)
            if history is not None:
                row["boundary_history"] = history.history
        return row

    return _run_all(run_dir, [f"{m}__{s}" for s in seeds for m in models],
                    lambda m, s: run_one(m, s), boundary_every)


def history_figure(rows, path, title=None):
    """Draws the `boundary_history` of every row that has one (one colour per model and seed)
    with `tfmodels.diagnostics.write_history_figure`; returns `path`."""
    from tfmodels.diagnostics import write_history_figure

    histories = {f"{LABELS.get(r['model'], r['model'])}, seed {r['seed']}": r["boundary_history"]
                 for r in rows if "boundary_history" in r}
    if not histories:
        raise ValueError("no row has a boundary_history: run with boundary_every")
    return write_history_figure(histories, path, title=title)


def chance_f1(scores):
    """F1 of boundaries placed at random at the same rate: precision = the reference's rate.

    The reference rate is recovered from the scores (hits = P * predicted = R * reference).
    """
    if not scores["recall"]:
        return 0.0
    return boundary_metrics.chance_f1(scores["rate"],
                                      scores["rate"] * scores["precision"] / scores["recall"])


def results_table(rows):
    """A markdown table: one line per run, BPC and per reference the boundary F1, its precision /
    recall, the rate of predicted boundaries and the F1 of random boundaries at that rate."""
    refs = sorted({k for r in rows for k in r.get("boundaries", {})})
    head = ["data", "model", "seed", "params", "steps", "valid BPC", "time (s)"] + refs
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["data"], r["model"], str(r["seed"]), f"{r['parameters']:,}", str(r["steps"]),
                 f"{r['valid_bpc']:.3f}", f"{r['seconds']:.0f}"]
        for ref in refs:
            s = r.get("boundaries", {}).get(ref)
            cells.append("" if s is None else
                         f"{s['f1']:.2f} ({s['precision']:.2f}/{s['recall']:.2f}, rate "
                         f"{s['rate']:.2f}, chance {chance_f1(s):.2f})")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


# Figure --------------------------------------------------------------------------------------


def boundary_figure(model, vocab, text, path, seq_len=None, title=None):
    """Draws `text` with each HM-LSTM layer's boundaries marked under it (the paper's Fig. 3).

    Args:
        model: an `hm_lstm_lm`; `text` is read from zero state in one window.
        vocab: its `CharVocabulary`.
        text: the excerpt (up to ~120 characters reads well).
        path: the PNG path (written atomically).
        seq_len: unused (the whole excerpt is one window); kept for symmetry.
        title: figure title.

    Returns:
        The `(len(text), num_layers)` 0/1 boundaries drawn.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ids = vocab.encode(text)[None].astype(np.int32)
    z = boundary_states(model, ids)[0]
    num_layers = z.shape[-1]
    per_row = 60
    rows = (len(text) + per_row - 1) // per_row
    fig, axes = plt.subplots(rows, 1, figsize=(per_row * 0.2, rows * (0.45 + 0.3 * num_layers)))
    axes = np.atleast_1d(axes)
    for r, ax in enumerate(axes):
        chunk = text[r * per_row:(r + 1) * per_row]
        for i, ch in enumerate(chunk):
            t = r * per_row + i
            ax.text(i, num_layers + 0.2, {" ": "\u2423", "\n": "\u21b5"}.get(ch, ch),
                    ha="center", va="bottom", family="monospace", fontsize=9)
            for l in range(num_layers):
                if z[t, l] > 0.5:
                    ax.add_patch(plt.Rectangle((i - 0.45, num_layers - 1 - l), 0.9, 0.8,
                                               color=f"C{l}"))
        ax.set_xlim(-1, per_row)
        ax.set_ylim(-0.2, num_layers + 1.2)
        ax.set_yticks([num_layers - 1 - l + 0.4 for l in range(num_layers)])
        ax.set_yticklabels([f"z{l + 1}" for l in range(num_layers)])
        ax.set_xticks([])
        for side in ("top", "right", "bottom"):
            ax.spines[side].set_visible(False)
    if title:
        axes[0].set_title(title, fontsize=10)
    fig.tight_layout()
    with atomic.atomic_file(path, "wb") as f:
        fig.savefig(f, format="png", dpi=110)
    plt.close(fig)
    return z


# Device --------------------------------------------------------------------------------------


def device_check(model, corpus, out_dir, chars=400, seq_len=64, seed=0):
    """Exports `model`'s step model (float32, int8) and steps it over held-out text in LiteRT.

    Args:
        model: a trained `hm_lstm_lm`.
        corpus: its `tfmodels.data.text.CharCorpus`.
        out_dir: where `hm_lstm_step.<mode>.tflite` go.
        chars: length of the test excerpt stepped from zero state.
        seq_len: length of the 4 training windows the int8 calibration steps over.
        seed: which calibration windows.

    Returns:
        `{mode: {"bpc", "argmax_agreement", "max_abs_logit_error", "kib",
        "boundary_agreement"}}` with a "keras" entry (its "boundary_rate": each layer's);
        `boundary_agreement` lists per layer the share of steps whose boundary `z^l` (a state
        of the step file) equals Keras's.
    """
    from tfmodels.export import rnn as rnn_export
    from tfmodels.metrics.language import bits_per_character

    os.makedirs(out_dir, exist_ok=True)
    held_out = corpus.test[: chars + 1]
    x, y = held_out[:-1].astype(np.int32), held_out[1:]
    reference = np.asarray(model.predict(x[None], verbose=0))[0]
    keras_z = boundary_states(model, x[None])[0] > 0.5
    out = {"keras": {"bpc": bits_per_character(y, reference, from_logits=True),
                     "boundary_rate": [float(r) for r in keras_z.mean(0)]}}
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, len(corpus.train) - seq_len, size=4)
    calibration = np.stack([corpus.train[s : s + seq_len] for s in starts]).astype(np.int32)
    for mode in ("float32", "int8"):
        report = rnn_export.export_step_tflite(
            model, os.path.join(out_dir, f"hm_lstm_step.{mode}.tflite"), mode=mode,
            representative_data=calibration if mode == "int8" else None)
        logits = rnn_export.run_step_tflite(report.path, x)
        z = step_boundaries(report.path, x) > 0.5
        out[mode] = {
            "boundary_agreement": [float(a) for a in (z == keras_z).mean(0)],
            "bpc": bits_per_character(y, logits, from_logits=True),
            "argmax_agreement": float(np.mean(logits.argmax(-1) == reference.argmax(-1))),
            "max_abs_logit_error": float(np.abs(logits - reference).max()),
            "kib": report.size_bytes / 1024,
        }
    return out


def history_table(rows):
    """A markdown table of the boundary histories: per run and reference, F1 at the start, the
    best F1 during training (and its step), the F1 at the end against the chance F1, and every
    layer's boundary rate at the start and at the end."""
    rows = [r for r in rows if "boundary_history" in r]
    layers = {n: l for r in rows for n, l in r["boundary_history"]["references"].items()}
    refs = sorted(layers, key=lambda n: (layers[n], n))
    head = ["data", "model", "seed", "scored at"] + [
        f"layer {layers[n]} F1 vs {n}: start / best (step) / end (chance)" for n in refs] + [
        "rates start -> end"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        entries = r["boundary_history"]["entries"]
        steps = [e["step"] for e in entries]
        cells = [r["data"], LABELS.get(r["model"], r["model"]), str(r["seed"]),
                 f"{len(entries)} points, steps {steps[0]}-{steps[-1]}"]
        for name in refs:
            f1 = [e["scores"][name]["f1"] for e in entries]
            best = int(np.argmax(f1))
            cells.append(f"{f1[0]:.2f} / {f1[best]:.2f} ({steps[best]}) / {f1[-1]:.2f} "
                         f"({entries[-1]['scores'][name]['chance_f1']:.2f})")
        cells.append(", ".join(f"{a:.2f} -> {b:.2f}" for a, b in zip(entries[0]["rates"],
                                                                      entries[-1]["rates"])))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
