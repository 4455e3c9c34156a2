"""Professor Forcing experiments (arXiv:1610.09038): teacher forcing vs scheduled sampling vs
Professor Forcing on the char corpus and on sequential binarized MNIST, and the hidden-state
picture. `benchmarks/professor_forcing.py` is the command line.

- `char_run`: one char-LM run: held-out BPC, the discriminator's accuracy over training
  (Professor Forcing), a *probe* gap (a fresh discriminator trained on the frozen LM's
  teacher-forced vs free-running behaviours: its held-out accuracy, for every method alike),
  and statistics of long free-running samples against held-out text (`sample_statistics`).
- `mnist_run`: pixel-by-pixel binarized MNIST (downsampled with 2x2 means to 14x14 by
  default), test NLL in nats per image.
- `hidden_state_figure`: PCA of teacher-forced vs free-running hidden states per model (PNG).
"""

import collections
import json
import os
import time

import keras
import numpy as np

from tfmodels.data import mnist as mnist_data
from tfmodels.data import text as text_data
from tfmodels.models.rnn import ProfessorForcing, behaviour_discriminator, char_lm, run_behaviour
from tfmodels.tasks.char_lm import build_char_lm, evaluate_bpc
from tfmodels.utils import atomic
from tfmodels.utils.atomic import save_model
from tfmodels.utils.plotting import pyplot, write_png

METHODS = ("teacher", "scheduled", "professor")


# Sample statistics ---------------------------------------------------------------------------

def ngram_distribution(texts, n):
    """Relative frequencies of the character `n`-grams of `texts` (a string or strings)."""
    if isinstance(texts, str):
        texts = [texts]
    counts = collections.Counter(t[i:i + n] for t in texts for i in range(len(t) - n + 1))
    total = sum(counts.values())
    if total == 0:
        raise ValueError(f"texts hold no {n}-gram")
    return {k: v / total for k, v in counts.items()}


def ngram_tv(texts, reference, n=3):
    """Total variation distance between the `n`-gram distributions of `texts` and `reference`
    (0: same frequencies, 1: disjoint)."""
    p, q = ngram_distribution(texts, n), ngram_distribution(reference, n)
    return 0.5 * sum(abs(p.get(k, 0.0) - q.get(k, 0.0)) for k in set(p) | set(q))


def repetition_rate(text, n=4):
    """Share of the `n`-grams of `text` that already occurred earlier in it."""
    seen, repeats, total = set(), 0, 0
    for i in range(len(text) - n + 1):
        g = text[i:i + n]
        repeats += g in seen
        seen.add(g)
        total += 1
    if total == 0:
        raise ValueError(f"text is shorter than n={n}")
    return repeats / total


def sample_statistics(samples, reference, n=3, repeat_n=4):
    """`{"tv_<n>gram", "repeat_<repeat_n>gram"}` of `samples` (strings) and, for scale, the
    same repetition rate of `reference` cut into pieces of the samples' length."""
    length = len(samples[0])
    pieces = [reference[i:i + length] for i in range(0, len(reference) - length + 1, length)]
    pieces = pieces[:len(samples)] or [reference]
    return {
        f"tv_{n}gram": ngram_tv(samples, reference, n),
        f"repeat_{repeat_n}gram": float(np.mean([repetition_rate(s, repeat_n) for s in samples])),
        f"reference_repeat_{repeat_n}gram": float(np.mean(
            [repetition_rate(s, repeat_n) for s in pieces])),
    }


# Char LM -------------------------------------------------------------------------------------

def _discriminator(behaviour_dim, units, rnn_layers, seed):
    return behaviour_discriminator(behaviour_dim, units=units, rnn_layers=rnn_layers,
                                   dense_layers=3, seed=seed)


class _History(keras.callbacks.Callback):
    """Keeps every `every`-th batch's running logs (the discriminator's accuracy over time)."""

    def __init__(self, every):
        super().__init__()
        self.every, self.rows, self.step = every, [], 0

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.step % self.every == 0:
            self.rows.append({"step": self.step, **{k: float(v) for k, v in logs.items()}})


def probe_gap(generator, ids, seq_len=64, batch_size=32, steps=60, seed=0, units=32,
              rnn_layers=1, eval_windows=128):
    """Held-out accuracy of a fresh discriminator trained to tell the frozen `generator`'s
    teacher-forced from its free-running behaviour (0.5: indistinguishable)."""
    trainable = generator.trainable
    generator.trainable = False
    try:
        dim = ProfessorForcing.behaviour_dim(generator)
        probe = ProfessorForcing(
            generator, _discriminator(dim, units, rnn_layers, seed + 1000), mode="professor",
            # D trains on every batch and the generator never sees C_f: a pure probe.
            train_discriminator_below=1.0, adversarial_above=1.0, seed=seed + 1000)
        probe.compile(optimizer=keras.optimizers.Adam(2e-3, clipnorm=1.0))
        half = len(ids) // 2
        train = text_data.window_dataset(ids[:half], seq_len, batch_size, shuffle=True,
                                         seed=seed).repeat()
        probe.fit(train, steps_per_epoch=steps, epochs=1, verbose=0)
        held = ids[half:half + eval_windows * seq_len + 1]
        valid = text_data.window_dataset(held, seq_len, batch_size, shuffle=False)
        return float(probe.evaluate(valid, verbose=0, return_dict=True)["d_accuracy"])
    finally:
        generator.trainable = trainable


def char_run(data_dir, method, seed=0, units=64, embedding_dim=32, seq_len=64, batch_size=32,
             steps=400, log_every=20, learning_rate=2e-3, disc_units=32, disc_rnn_layers=1,
             probe_steps=60, sample_count=16, sample_length=400, eval_chars=20000,
             out_dir=None):
    """Trains one char-LM with `method` and measures it (see the module docstring).

    Returns:
        A dict: method, seed, valid_bpc, test_bpc, train_seconds, history (every
        `log_every` steps: the running training logs, incl. `d_accuracy` for "professor"),
        probe_accuracy, samples (three), and the `sample_statistics` entries.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}; got {method!r}")
    corpus = text_data.load_char_corpus(data_dir)
    keras.utils.set_random_seed(seed)
    model = build_char_lm(len(corpus.vocab), cell="lstm", units=units,
                          embedding_dim=embedding_dim, seed=seed, learning_rate=learning_rate)
    # All three methods train through `ProfessorForcing` (one step loop, one update rule).
    disc = None
    if method == "professor":
        disc = _discriminator(ProfessorForcing.behaviour_dim(model), disc_units,
                              disc_rnn_layers, seed)
    trainer = ProfessorForcing(model, disc, mode=method, seed=seed)
    trainer.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0))
    train = text_data.window_dataset(corpus.train, seq_len, batch_size, shuffle=True, seed=seed,
                                     stride=max(1, seq_len // 2)).repeat()
    history = _History(log_every)
    start = time.time()
    trainer.fit(train, epochs=1, steps_per_epoch=steps, verbose=0, callbacks=[history])
    seconds = time.time() - start
    row = {
        "method": method, "seed": seed, "units": units, "steps": steps, "seq_len": seq_len,
        "valid_bpc": evaluate_bpc(model, corpus.valid, seq_len, max_chars=eval_chars),
        "test_bpc": evaluate_bpc(model, corpus.test, seq_len, max_chars=eval_chars),
        "train_seconds": seconds, "history": history.rows,
        "probe_accuracy": probe_gap(model, corpus.valid, seq_len, batch_size, probe_steps,
                                    seed=seed),
    }
    # Long samples, each from one held-out character.
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, len(corpus.test) - 1, size=sample_count)
    prompt = np.zeros((sample_count, sample_length), np.int32)
    prompt[:, 0] = corpus.test[starts]
    sampled, _ = run_behaviour(model, prompt, free_running=True, prefix=1, seed=seed)
    texts = [corpus.vocab.decode(s) for s in sampled]
    row.update(sample_statistics(texts, corpus.vocab.decode(corpus.test[:200000])))
    row["samples"] = texts[:3]
    if out_dir is not None:
        row["model_path"] = save_model(
            model, os.path.join(out_dir, f"char__{method}__{seed}.keras"))
    return row


# Sequential MNIST ----------------------------------------------------------------------------

def binarized_sequences(images, size=14):
    """`(n, size*size)` 0/1 pixel sequences: 2x2 (or 28/size) mean pooling, threshold 0.5."""
    images = np.asarray(images, np.float32)
    if images.max() > 1.0:
        images = images / 255.0
    if 28 % size:
        raise ValueError(f"size must divide 28; got {size!r}")
    f = 28 // size
    pooled = images.reshape(len(images), size, f, size, f).mean(axis=(2, 4))
    return (pooled > 0.5).astype(np.int32).reshape(len(images), size * size)


def _pixel_io(pixels):
    # Inputs: a start id (2), then the previous pixel; targets: every pixel.
    start = np.full((len(pixels), 1), 2, np.int32)
    return np.concatenate([start, pixels[:, :-1]], axis=1), pixels


def mnist_run(method, seed=0, size=14, units=64, batch_size=32, steps=300, learning_rate=2e-3,
              disc_units=32, test_images=1000, data_dir=None, out_dir=None):
    """Trains a pixel-by-pixel LSTM on binarized MNIST; returns `{..., "test_nll"}` (nats per
    image, summed over the `size*size` pixels, on the first `test_images` test images)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}; got {method!r}")
    data = mnist_data.load(data_dir, validation=0)
    x_train, y_train = _pixel_io(binarized_sequences(data.x_train, size))
    x_test, y_test = _pixel_io(binarized_sequences(data.x_test[:test_images], size))
    keras.utils.set_random_seed(seed)
    model = char_lm(3, cell="lstm", units=units, embedding_dim=8, seed=seed, name="pixel_lm")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    disc = None
    if method == "professor":
        disc = _discriminator(ProfessorForcing.behaviour_dim(model), disc_units, 1, seed)
    trainer = ProfessorForcing(model, disc, mode=method, seed=seed)
    trainer.compile(optimizer=keras.optimizers.Adam(learning_rate, clipnorm=1.0))
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(x_train))

    def batches():
        i = 0
        while True:
            idx = order[(np.arange(batch_size) + i) % len(order)]
            i += batch_size
            yield x_train[idx], y_train[idx]

    import tensorflow as tf

    train = tf.data.Dataset.from_generator(
        batches, output_signature=(tf.TensorSpec((batch_size, size * size), tf.int32),) * 2)
    history = _History(max(1, steps // 20))
    start = time.time()
    trainer.fit(train, epochs=1, steps_per_epoch=steps, verbose=0, callbacks=[history])
    seconds = time.time() - start
    nll = model.evaluate(x_test, y_test, batch_size=100, verbose=0)
    row = {"method": method, "seed": seed, "size": size, "units": units, "steps": steps,
           "test_nll": float(nll) * size * size, "train_seconds": seconds,
           "history": history.rows}
    if out_dir is not None:
        row["model_path"] = save_model(model, os.path.join(out_dir,
                                                           f"mnist__{method}__{seed}.keras"))
    return row


# Figure and tables ---------------------------------------------------------------------------

def pca_2d(*arrays):
    """Projects every `(n_i, d)` array onto the first two principal components of all of them."""
    stacked = np.concatenate(arrays, axis=0)
    mean = stacked.mean(axis=0)
    _, _, vt = np.linalg.svd(stacked - mean, full_matrices=False)
    return [(a - mean) @ vt[:2].T for a in arrays]


def hidden_state_figure(models, ids, path, prefix=1, seed=0):
    """PCA of teacher-forced vs free-running hidden states, one panel per model.

    Args:
        models: `{title: generator}`.
        ids: `(batch, time)` held-out windows; the free runs read `ids[:, :prefix]`.
        path: the PNG (written atomically).

    Returns:
        `{title: distance}`: the distance between the two clouds' means in the projection,
        over the mean spread (a number for the picture's overlap).
    """
    plt = pyplot()
    fig, axes = plt.subplots(1, len(models), figsize=(5 * len(models), 4.5), squeeze=False)
    gaps = {}
    for ax, (title, model) in zip(axes[0], models.items()):
        _, tf_states = run_behaviour(model, ids, free_running=False, seed=seed)
        _, free_states = run_behaviour(model, ids, free_running=True, prefix=prefix, seed=seed)
        d = tf_states.shape[-1]
        a, b = pca_2d(tf_states[:, prefix:].reshape(-1, d), free_states[:, prefix:].reshape(-1, d))
        spread = 0.5 * (a.std(axis=0).mean() + b.std(axis=0).mean())
        gaps[title] = float(np.linalg.norm(a.mean(0) - b.mean(0)) / spread)
        ax.scatter(a[:, 0], a[:, 1], s=2, alpha=0.3, label="teacher forced")
        ax.scatter(b[:, 0], b[:, 1], s=2, alpha=0.3, label="free running")
        ax.set_title(f"{title} (mean gap {gaps[title]:.2f} sd)")
        ax.legend(markerscale=5)
    fig.tight_layout()
    write_png(fig, path)
    return gaps


def windowed(history, key):
    """`[(step, mean of key over the steps since the previous row)]` from `char_run`'s history,
    whose rows hold Keras's running means since the start of the epoch."""
    out, step, total = [], 0, 0.0
    for row in history:
        if key not in row:
            continue
        new_total = row[key] * row["step"]
        out.append((row["step"], (new_total - total) / (row["step"] - step)))
        step, total = row["step"], new_total
    return out


def d_accuracy_figure(rows, path):
    """The discriminator's training accuracy over steps (per `log_every` window), one line per
    Professor Forcing run, with the paper's two gates; PNG."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for r in rows:
        points = windowed(r["history"], "d_accuracy")
        if points:
            task = f"MNIST {r['size']}x{r['size']}" if "size" in r else "char LM"
            ax.plot(*zip(*points), label=f"{task}, {r['steps']} steps, seed {r['seed']}")
    for y, what in ((0.99, "D trains below"), (0.75, "C_f above")):
        ax.axhline(y, ls="--", lw=0.8, color="gray")
        ax.text(0, y + 0.005, what, fontsize=7, color="gray")
    ax.set_xlabel("training step")
    ax.set_ylabel("D accuracy (batch windows)")
    ax.set_ylim(0.4, 1.02)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return write_png(fig, path)


def write_row(row, path):
    """Writes one run's dict as JSON (atomically)."""
    with atomic.atomic_file(path, "w") as f:
        json.dump(row, f, indent=1)
    return path


def char_table(rows):
    """Markdown table of `char_run` rows (one line per method and seed)."""
    lines = ["| method | seed | valid BPC | test BPC | D acc. (last window) | probe D acc. | "
             "3-gram TV vs test | repeated 4-grams (test text) | train s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        d = [v for _, v in windowed(r["history"], "d_accuracy")]
        lines.append(
            f"| {r['method']} | {r['seed']} | {r['valid_bpc']:.3f} | {r['test_bpc']:.3f} | "
            f"{d[-1]:.2f} | {r['probe_accuracy']:.2f} | {r['tv_3gram']:.3f} | "
            f"{r['repeat_4gram']:.3f} ({r['reference_repeat_4gram']:.3f}) | "
            f"{r['train_seconds']:.0f} |" if d else
            f"| {r['method']} | {r['seed']} | {r['valid_bpc']:.3f} | {r['test_bpc']:.3f} | - | "
            f"{r['probe_accuracy']:.2f} | {r['tv_3gram']:.3f} | {r['repeat_4gram']:.3f} "
            f"({r['reference_repeat_4gram']:.3f}) | {r['train_seconds']:.0f} |")
    return "\n".join(lines)
