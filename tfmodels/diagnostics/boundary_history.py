"""`BoundaryHistory`: an HM-LSTM's boundary precision / recall / F1 as it trains.

The HM-LSTM (arXiv:1609.01704) learns where segments end without labels. Whether it does, and
when (or whether its boundaries collapse to never / always firing), shows only over training:
this Keras callback scores each layer's boundaries `z^l` on a fixed held-out excerpt against
reference boundaries (word ends, line ends, a synthetic language's known words) every `every`
training batches, keeps the history, writes it to a JSON after every scoring and draws F1 and
the boundary rate per layer against the training step (`write_history_figure`). Every file is
written atomically (`tfmodels.utils.atomic`).

Example:
    history = BoundaryHistory(valid_windows, {"space": (1, valid_windows == space_id)},
                              every=50, path="runs/boundaries.json", png="runs/boundaries.png")
    model.fit(train, epochs=12, steps_per_epoch=50, callbacks=[SlopeAnnealing(), history])
"""

import os

import keras
import numpy as np

from tfmodels.metrics.boundaries import boundary_scores, chance_f1
from tfmodels.models.rnn import boundary_probe, hm_lstm_cells
from tfmodels.utils import atomic
from tfmodels.utils.plotting import pyplot, write_png


class BoundaryHistory(keras.callbacks.Callback):
    """Scores an HM-LSTM's boundaries against references on held-out inputs during training.

    Scored at the start of training (step 0), every `every` training batches (or at the end of
    every epoch when `every` is None), and at the end of training. Each scoring appends to
    `history["entries"]` `{"step", "epoch", "slope", "rates", "scores"}`: the training batches
    seen so far, the epoch, the cells' slope, every layer's boundary rate, and per reference
    `{"layer", "rate", "precision", "recall", "f1", "chance_f1"}` (`chance_f1`: boundaries at
    random at the same rate). At the end of each epoch the last scores go into the Keras logs
    as `boundary_f1/<reference>` and `boundary_rate/layer_<l>` (so `History` keeps them).

    Args:
        inputs: held-out model inputs `(n, time)` (e.g. character windows), each row read from
            zero state.
        references: `{name: (layer, boundaries)}`: a 1-based HM-LSTM layer and a 0/1 array of
            `inputs`' shape marking where that layer should fire (e.g.
            `{"space": (1, inputs == space_id), "newline": (2, inputs == newline_id)}`).
        every: score every `every` training batches (an integer >= 1), or None: once per epoch.
        path: a JSON the history is written to after every scoring (None: not written).
        png: a PNG of F1 and rate against the step, drawn at the end of training (None: none).
        layer_name: the model's `HMLSTM` layer.
        batch_size: prediction batch size.
        title: the figure's title.

    Raises:
        ValueError: empty inputs, a reference of another shape or a layer that is not a
            positive integer, or a bad `every` (at construction); a reference layer above the
            model's layers (when training starts).
    """

    def __init__(self, inputs, references, every=None, path=None, png=None,
                 layer_name="hm_lstm", batch_size=64, title=None):
        super().__init__()
        inputs = np.asarray(inputs)
        if inputs.ndim < 2 or not inputs.size:
            raise ValueError(f"inputs must be a non-empty (n, time, ...) array; got shape "
                             f"{inputs.shape}")
        if not references:
            raise ValueError("references is empty: give at least one {name: (layer, array)}")
        checked = {}
        for name, value in references.items():
            if not isinstance(value, (tuple, list)) or len(value) != 2:
                raise ValueError(f"references[{name!r}] must be (layer, boundaries); got "
                                 f"{type(value).__name__}")
            layer, marks = value
            if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)) or layer < 1:
                raise ValueError(f"references[{name!r}]: layer must be a 1-based integer; got "
                                 f"{layer!r}")
            marks = np.asarray(marks) > 0.5
            if marks.shape != inputs.shape[:2]:
                raise ValueError(f"references[{name!r}] has shape {marks.shape}; inputs have "
                                 f"(n, time) = {inputs.shape[:2]}")
            checked[name] = (int(layer), marks)
        if every is not None and (isinstance(every, bool) or not isinstance(every, int)
                                  or every < 1):
            raise ValueError(f"every must be a positive integer or None; got {every!r}")
        self.inputs = inputs
        self.references = checked
        self.every = every
        self.path = None if path is None else os.fspath(path)
        self.png = None if png is None else os.fspath(png)
        self.layer_name = layer_name
        self.batch_size = batch_size
        self.title = title
        self.step = 0
        self.epoch = 0
        self.history = {"references": {n: l for n, (l, _) in checked.items()},
                        "reference_rates": {n: float(m.mean()) for n, (_, m) in checked.items()},
                        "entries": []}
        self._probe = None

    def boundaries(self):
        """The model's boundaries on `inputs` now: 0/1 `(n, time, num_layers)`."""
        model = self.model  # on JAX, reading `self.model` syncs the trained weights into it
        if self._probe is None:
            self._probe = boundary_probe(model, self.layer_name)
            num_layers = self._probe.output.shape[-1]
            too_high = {n: l for n, (l, _) in self.references.items() if l > num_layers}
            if too_high:
                raise ValueError(f"references {too_high} name layers above the model's "
                                 f"{num_layers}")
        return np.asarray(self._probe.predict(self.inputs, batch_size=self.batch_size,
                                              verbose=0)) > 0.5

    def score(self):
        """Scores the boundaries now, appends the entry to `history`, writes `path`."""
        z = self.boundaries()
        cells = hm_lstm_cells(self.model)
        entry = {
            "step": self.step,
            "epoch": self.epoch,
            "slope": float(keras.ops.convert_to_numpy(cells[0].slope)) if cells else None,
            "rates": [float(r) for r in z.reshape(-1, z.shape[-1]).mean(0)],
            "scores": {},
        }
        for name, (layer, marks) in self.references.items():
            scores = boundary_scores(z[..., layer - 1], marks)
            scores["chance_f1"] = chance_f1(scores["rate"],
                                            self.history["reference_rates"][name])
            entry["scores"][name] = {"layer": layer, **scores}
        self.history["entries"].append(entry)
        if self.path:
            atomic.write_json(self.path, self.history)
        return entry

    def _scored_now(self):
        entries = self.history["entries"]
        return bool(entries) and entries[-1]["step"] == self.step

    def on_train_begin(self, logs=None):
        if not self._scored_now():
            self.score()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        if self.every is not None and self.step % self.every == 0:
            self.score()

    def on_epoch_end(self, epoch, logs=None):
        if self.every is None and not self._scored_now():
            self.score()
        if logs is not None and self.history["entries"]:
            last = self.history["entries"][-1]
            for name, scores in last["scores"].items():
                logs[f"boundary_f1/{name}"] = scores["f1"]
            for l, rate in enumerate(last["rates"]):
                logs[f"boundary_rate/layer_{l + 1}"] = rate

    def on_train_end(self, logs=None):
        if not self._scored_now():
            self.score()
        if self.png:
            write_history_figure({"": self.history}, self.png, title=self.title)


def write_history_figure(histories, path, title=None):
    """Draws boundary F1 (per reference) and boundary rate (per layer) against the step.

    Args:
        histories: `{label: BoundaryHistory.history}` (e.g. one per run: "annealed, seed 0");
            runs share a colour per label, references and layers differ by line style.
        path: the PNG (written atomically).
        title: the figure's title.

    Returns:
        `path`.
    """
    if not histories:
        raise ValueError("histories is empty")
    plt = pyplot()
    layers = {n: l for h in histories.values() for n, l in h["references"].items()}
    references = sorted(layers, key=lambda n: (layers[n], n))
    num_layers = max(len(e["rates"]) for h in histories.values() for e in h["entries"])
    panels = len(references) + 1
    fig, axes = plt.subplots(1, panels, figsize=(3.6 * panels + 0.6, 3.4), squeeze=False)
    axes = axes[0]
    styles = ["-", "--", ":", "-."]
    for c, (label, history) in enumerate(histories.items()):
        colour = f"C{c}"
        steps = [e["step"] for e in history["entries"]]
        for ax, name in zip(axes, references):
            if name not in history["references"]:
                continue
            scores = [e["scores"][name] for e in history["entries"]]
            ax.plot(steps, [s["f1"] for s in scores], "-", color=colour, label=label or None)
            ax.plot(steps, [s["chance_f1"] for s in scores], ":", color=colour, alpha=0.6)
            layer = history["references"][name]
            ax.set_title(f"layer {layer} F1 vs {name} (dotted: chance)", fontsize=9)
        for l in range(num_layers):
            rates = [e["rates"][l] if l < len(e["rates"]) else np.nan
                     for e in history["entries"]]
            axes[-1].plot(steps, rates, styles[l % len(styles)], color=colour,
                          label=f"{label + ', ' if label else ''}layer {l + 1}"
                          if c == 0 or label else None)
    for ax in axes[:-1]:
        ax.set_ylim(0, 1)
        ax.set_ylabel("F1")
    axes[-1].set_title("boundary rate (" + ", ".join(
        f"{styles[l % len(styles)]} layer {l + 1}" for l in range(num_layers)) + ")", fontsize=9)
    axes[-1].set_ylim(-0.02, 1.02)
    for ax in axes:
        ax.set_xlabel("training step")
        ax.grid(alpha=0.3)
    if any(histories):
        axes[0].legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return write_png(fig, path)
