"""Linear classifier probes (Alain & Bengio, arXiv:1610.01644) as a Keras callback.

A probe is a linear softmax classifier trained to predict the labels from the frozen features
of one layer. Its error tells how linearly separable the classes are at that depth; probes at
every layer, retrained at chosen epochs, show what each layer knows as training goes on.

The probes never touch the model: features come from a separate feature-extractor model that
shares the model's layers (`predict`, inference mode, no gradient), and the probes are their
own softmax regressions solved by their own optimizer (L-BFGS, numpy/scipy) on numpy features,
so no backend or global random state is touched and a seeded training run gives bit-identical
weights with and without probes.
"""

import os
import time

import keras
import numpy as np
import threadpoolctl

from tfmodels.utils import atomic

MODES = ("example", "pixel", "step")
LOGS = ("last", "all", None)
REDUCTIONS = ("pool", "random", None)
# Identity at inference: a probe on them repeats the previous layer's probe.
_INFERENCE_IDENTITY = (
    keras.layers.Dropout,
    keras.layers.SpatialDropout1D,
    keras.layers.SpatialDropout2D,
    keras.layers.SpatialDropout3D,
    keras.layers.GaussianNoise,
    keras.layers.GaussianDropout,
    keras.layers.AlphaDropout,
    keras.layers.ActivityRegularization,
)
_FEATURE_RANK = {"example": (2, None), "pixel": (4, 4), "step": (3, 3)}


class LinearProbes(keras.callbacks.Callback):
    """Trains one linear softmax probe per layer on frozen features at chosen epochs.

    Three kinds of probe (`mode`):

    - `"example"`: one label per example (`y` of shape `(n,)`); features are flattened. Conv
      features larger than `max_features` are reduced as the paper does: `reduce="pool"`
      average-pools the spatial (or time) axes by the smallest factor that fits (then keeps a
      fixed random subset if the channels alone are too many); `reduce="random"` keeps a fixed
      random subset of the flattened features; `reduce=None` keeps all.
    - `"pixel"`: per-pixel labels `(n, H, W)` for segmentation models; a probe maps the channel
      vector of a pixel of a `(n, h, w, C)` feature map to a class, its prediction is
      upsampled (nearest) to the label size, and it is scored by pixel error and mean IoU
      (`ignore_class` left out). It is trained on `max_pixels` labelled pixels drawn once.
    - `"step"`: one label per sequence, features `(n, T, d)` (an RNN with
      `return_sequences=True`): one probe per time step, to see when the answer is known.

    In `"pixel"` and `"step"` mode the vector a probe sees is reduced to a fixed random subset
    of `max_features` entries when longer (unless `reduce=None`).

    Each probe is a multinomial logistic regression fit to convergence (the problem is
    convex; full-batch L-BFGS from zero weights, at most `max_iterations` steps, a small L2
    penalty) on standardized features (per-feature mean and standard deviation of the probe
    training split, an affine map the probe absorbs, for conditioning), then scored on the
    probe training and validation splits. The probes are solved in numpy/scipy, outside the
    Keras backend: they add no variable, trace or random draw to it, and cost the same on TF
    and JAX.

    Results go into `logs` at each probed epoch (`probe_error/<layer>`,
    `probe_val_error/<layer>`, and `probe_miou/<layer>`, `probe_val_miou/<layer>` in pixel
    mode, `.../step<t>` in step mode), so `History` and TensorBoard record them (list the
    probes before `keras.callbacks.TensorBoard`). By default only the deepest probed layer's
    scores go there, so that Keras's per-epoch progress line stays readable; `logs="all"`
    adds every layer's (`probes.json` always has them all). With `output_dir`, `probes.json` (every
    result, the configuration and the time spent) and `probes.png` (the paper's figure: probe
    error, train solid and validation dashed, against layer depth, one colour per epoch) are
    rewritten atomically after each probed epoch, and `probes.gif` (one frame per probed
    epoch) when training ends. Probing checkpoints after training: `probes.probe(model,
    epoch)`.

    Args:
        layers: layer names (in depth order), or `"all"`: every layer whose output is a single
            float tensor of the rank the mode needs (the input included), except layers that
            are the identity at inference (dropout, noise).
        probe_data: `(x, y)` the probes are trained on, a split the model does not train on.
        validation_data: `(x, y)` the probes are scored on besides; None takes the last
            `validation_split` of `probe_data`.
        validation_split: fraction of `probe_data` held out when `validation_data` is None
            (0: no validation scores).
        mode: `"example"`, `"pixel"` or `"step"` (see above).
        epochs: `"all"` (at initialization and after every epoch) or the epochs to probe
            after, counted from 1; 0 means at initialization (before the first step).
        reduce: `"pool"`, `"random"` or None (see above).
        max_features: the most features one probe sees.
        max_pixels: labelled pixels a pixel probe is trained on.
        num_classes: classes; None infers it from the labels.
        ignore_class: a label value left out of training and scores (void), or None.
        max_iterations: L-BFGS iterations per probe (the probes' own optimizer).
        l2: L2 penalty on the probe weights (keeps them finite on separable features).
        batch_size: batches feature extraction.
        output_dir: where `probes.json`, `probes.png` and `probes.gif` go (created if
            missing); None writes no files.
        title: the figures' title.
        seed: the held-out split, random feature subsets, sampled pixels and probe batches.
        verbose: print one line per probed epoch.
        logs: which scores go into the epoch's `logs`: `"last"` (the deepest probed layer),
            `"all"` (every layer) or None (none).

    Attributes:
        history: the results (`probes.json`'s content).
        layer_names: the probed layers.

    Example:
    >>> x = np.random.default_rng(0).normal(size=(256, 8)).astype("float32")
    >>> y = (x[:, 0] > 0).astype("int32")
    >>> inputs = keras.Input((8,), name="x")
    >>> hidden = keras.layers.Dense(4, activation="relu", name="hidden")(inputs)
    >>> model = keras.Model(inputs, keras.layers.Dense(2, name="logits")(hidden))
    >>> model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    >>> probes = LinearProbes(["x", "hidden"], (x, y))
    >>> _ = model.fit(x, y, epochs=1, verbose=0, callbacks=[probes])
    >>> [entry["epoch"] for entry in probes.history["epochs"]]
    [0, 1]
    >>> probes.history["epochs"][0]["layers"]["x"]["val_error"] < 0.1
    True
    """

    def __init__(
        self,
        layers,
        probe_data,
        validation_data=None,
        validation_split=0.25,
        mode="example",
        epochs="all",
        reduce="pool",
        max_features=1024,
        max_pixels=20000,
        num_classes=None,
        ignore_class=None,
        max_iterations=200,
        l2=1e-4,
        batch_size=128,
        output_dir=None,
        title=None,
        seed=0,
        verbose=0,
        logs="last",
    ):
        super().__init__()
        if logs not in LOGS:
            raise ValueError(f"logs must be one of {LOGS}; got {logs!r}")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}; got {mode!r}")
        if isinstance(layers, str):
            if layers != "all":
                raise ValueError(f"layers must be 'all' or a list of layer names; got {layers!r}")
        elif not layers or not all(isinstance(n, str) for n in layers):
            raise ValueError(f"layers must be 'all' or a non-empty list of layer names; got "
                             f"{layers!r}")
        elif len(set(layers)) != len(layers):
            raise ValueError(f"layers names a layer twice: {list(layers)}")
        if reduce not in REDUCTIONS:
            raise ValueError(f"reduce must be one of {REDUCTIONS}; got {reduce!r}")
        for argument, value in (("max_features", max_features), ("max_pixels", max_pixels),
                                ("max_iterations", max_iterations), ("batch_size", batch_size)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{argument} must be a positive int; got {value!r}")
        if not (isinstance(l2, (int, float)) and l2 >= 0):
            raise ValueError(f"l2 must be a non-negative number; got {l2!r}")
        if not (isinstance(validation_split, (int, float)) and 0 <= validation_split < 1):
            raise ValueError(f"validation_split must be in [0, 1); got {validation_split!r}")
        if epochs != "all":
            if isinstance(epochs, str) or not hasattr(epochs, "__iter__"):
                raise ValueError(f"epochs must be 'all' or a list of epoch numbers; got {epochs!r}")
            epochs = sorted(set(epochs))
            if not epochs or not all(isinstance(e, (int, np.integer)) and e >= 0 for e in epochs):
                raise ValueError(f"epochs must be non-negative ints (0 = at initialization); "
                                 f"got {epochs!r}")
            epochs = [int(e) for e in epochs]
        if num_classes is not None and (not isinstance(num_classes, (int, np.integer))
                                        or num_classes < 2):
            raise ValueError(f"num_classes must be an int >= 2; got {num_classes!r}")

        x, y = _split_pair(probe_data, "probe_data")
        if validation_data is None and validation_split > 0:
            n = len(y)
            order = np.random.RandomState(seed).permutation(n)
            cut = n - int(round(n * validation_split))
            if cut < 1 or cut == n:
                raise ValueError(f"validation_split={validation_split} of {n} probe examples "
                                 "leaves an empty split")
            train_index, valid_index = np.sort(order[:cut]), np.sort(order[cut:])
            validation_data = (_take(x, valid_index), y[valid_index])
            x, y = _take(x, train_index), y[train_index]
        self._train = (x, y)
        self._valid = None
        if validation_data is not None:
            self._valid = _split_pair(validation_data, "validation_data")

        label_rank = 3 if mode == "pixel" else 1
        for argument, (_, labels) in (("probe_data", self._train), ("validation_data",
                                                                    self._valid)):
            if labels is None:
                continue
            if labels.ndim != label_rank:
                raise ValueError(
                    f"{argument}: mode={mode!r} needs labels of shape "
                    f"{'(n, H, W)' if mode == 'pixel' else '(n,)'}; got {labels.shape}")
        labels = [self._train[1]] + ([self._valid[1]] if self._valid else [])
        kept = np.concatenate([lab[lab != ignore_class].ravel() if ignore_class is not None
                               else lab.ravel() for lab in labels])
        if kept.size == 0 or kept.min() < 0:
            raise ValueError("probe_data labels must be non-negative class ids (besides "
                             "ignore_class)")
        if num_classes is None:
            num_classes = max(int(kept.max()) + 1, 2)
        elif kept.max() >= num_classes:
            raise ValueError(f"num_classes={num_classes} but the labels go up to {kept.max()}")

        self.requested_layers = layers
        self.mode = mode
        self.epochs = epochs
        self.reduce = reduce
        self.max_features = int(max_features)
        self.max_pixels = int(max_pixels)
        self.num_classes = int(num_classes)
        self.ignore_class = ignore_class
        self.max_iterations = int(max_iterations)
        self.l2 = float(l2)
        self.batch_size = int(batch_size)
        self.output_dir = None if output_dir is None else os.fspath(output_dir)
        self.seed = int(seed)
        self.verbose = verbose
        self.logs = logs
        self.layer_names = None
        self.history = {
            "paper": "arXiv:1610.01644",
            "title": title,
            "mode": mode,
            "num_classes": self.num_classes,
            "reduce": reduce,
            "max_features": self.max_features,
            "probe_examples": int(len(self._train[1])),
            "validation_examples": int(len(self._valid[1])) if self._valid else 0,
            "layers": None,
            "features": {},
            "epochs": [],
            "probe_seconds": 0.0,
            "train_seconds": None,
        }
        self._extractors = {}
        self._reducers = {}
        self._pixels = None
        self._train_started = None

    # Callback hooks

    def on_train_begin(self, logs=None):
        self._train_started = time.perf_counter()
        self.history["probe_seconds_at_train_begin"] = self.history["probe_seconds"]
        if self.epochs == "all" or 0 in self.epochs:
            self.probe(self.model, epoch=0)

    def on_epoch_end(self, epoch, logs=None):
        epoch = epoch + 1
        if self.epochs != "all" and epoch not in self.epochs:
            return
        entry = self.probe(self.model, epoch)
        if logs is not None:
            logs.update(self._logs(entry))

    def on_train_end(self, logs=None):
        if self._train_started is not None:
            total = time.perf_counter() - self._train_started
            probing = self.history["probe_seconds"] - self.history.pop(
                "probe_seconds_at_train_begin", 0.0)
            self.history["train_seconds"] = round(total - probing, 3)
            self.history["overhead"] = round(probing / max(total - probing, 1e-9), 4)
        if self.output_dir is not None and self.history["epochs"]:
            self._write_files(gif=True)

    # Probing

    def probe(self, model=None, epoch=None):
        """Trains and scores the probes on `model`'s current weights (default: the model being
        trained); appends the result to `history` and rewrites the files.

        Args:
            model: a functional or Sequential Keras model (e.g. a loaded checkpoint) with the
                probed layers.
            epoch: the number to record (default: one more than the last probed).

        Returns:
            The recorded entry: `{"epoch", "seconds", "layers": {name: scores}}`.
        """
        started = time.perf_counter()
        model = model if model is not None else self.model
        if epoch is None:
            epoch = self.history["epochs"][-1]["epoch"] + 1 if self.history["epochs"] else 0
        extractor = self._extractor(model)
        # One pass over both splits: each `predict` call has a fixed cost.
        splits = [self._train] + ([self._valid] if self._valid is not None else [])
        features = self._features(extractor, _concat([x for x, _ in splits]))
        n_train = len(self._train[1])
        train = self._design([f[:n_train] for f in features], self._train[1], fit=True)
        probes = self._fit_probes(train)
        scores = {"train": self._score(train, probes)}
        if self._valid is not None:
            valid = self._design([f[n_train:] for f in features], self._valid[1])
            scores["valid"] = self._score(valid, probes)
        layers = {}
        for name in self.layer_names:
            result = {}
            for split, prefix in (("train", ""), ("valid", "val_")):
                if split in scores:
                    for key, value in scores[split][name].items():
                        result[prefix + key] = value
            layers[name] = result
        entry = {"epoch": int(epoch), "seconds": round(time.perf_counter() - started, 3),
                 "layers": layers}
        self.history["epochs"].append(entry)
        self.history["probe_seconds"] = round(
            self.history["probe_seconds"] + time.perf_counter() - started, 3)
        if self.verbose:
            summary = ", ".join(f"{n} {layers[n].get('val_error', layers[n]['error'])}"
                                for n in self.layer_names[:12]) if self.mode != "step" else ""
            print(f"probes epoch {epoch} ({entry['seconds']:.1f}s): {summary}", flush=True)
        if self.output_dir is not None:
            self._write_files(gif=False)
        return entry

    def _extractor(self, model):
        key = id(model)
        if key not in self._extractors:
            if not getattr(model, "inputs", None):
                raise ValueError("LinearProbes needs a functional or built Sequential model "
                                 "(one with `inputs`); a subclassed model has no layer outputs "
                                 "to probe")
            layers = self._resolve_layers(model)
            names = [layer.name for layer in layers]
            if self.layer_names is not None and names != self.layer_names:
                raise ValueError(f"model {model.name!r} has layers {names}, the probes were "
                                 f"set up for {self.layer_names}")
            self.layer_names = names
            self.history["layers"] = names
            outputs = [_single_output(layer) for layer in layers]
            self._extractors[key] = (model, keras.Model(model.inputs, outputs,
                                                        name=f"{model.name}_probe_features"))
        return self._extractors[key][1]

    def _resolve_layers(self, model):
        low, high = _FEATURE_RANK[self.mode]
        if self.requested_layers == "all":
            chosen = []
            for layer in model.layers:
                if isinstance(layer, _INFERENCE_IDENTITY):
                    continue
                try:
                    out = _single_output(layer)
                except ValueError:
                    continue
                rank = len(out.shape)
                if rank >= low and (high is None or rank <= high) and "float" in str(out.dtype):
                    chosen.append(layer)
            if not chosen:
                raise ValueError(f"layers='all' found no layer of model {model.name!r} with "
                                 f"features a {self.mode!r} probe can read")
            return chosen
        chosen = []
        for name in self.requested_layers:
            try:
                layer = model.get_layer(name)
            except ValueError:
                raise ValueError(f"layers: model {model.name!r} has no layer {name!r}") from None
            rank = len(_single_output(layer).shape)
            if rank < low or (high is not None and rank > high):
                raise ValueError(f"layers: {name!r} outputs rank {rank}; mode={self.mode!r} "
                                 f"needs rank {low if high == low else f'>= {low}'}")
            chosen.append(layer)
        return chosen

    def _features(self, extractor, x):
        outputs = extractor.predict(x, batch_size=self.batch_size, verbose=0)
        if not isinstance(outputs, (list, tuple)):
            outputs = [outputs]
        return [np.asarray(o, dtype=np.float32) for o in outputs]

    def _design(self, features, y, fit=False):
        """Probe inputs of one split: `{"inputs": [(n_i, d) arrays], "labels", ...}` with one
        input per probe (a layer, or a layer and a step)."""
        if fit and self._pixels is None and self.mode == "pixel":
            self._pixels = self._sample_pixels(y)
        inputs, keys = [], []
        for index, (name, feats) in enumerate(zip(self.layer_names, features)):
            if self.mode == "example":
                inputs.append(self._reduce(name, index, feats))
                keys.append((name, None))
            elif self.mode == "step":
                for t in range(feats.shape[1]):
                    inputs.append(self._reduce(name, index, feats[:, t]))
                    keys.append((name, t))
            else:
                inputs.append(self._reduce(name, index, feats))  # channel subset, maps kept
                keys.append((name, None))
        return {"inputs": inputs, "keys": keys, "labels": y}

    def _reduce(self, name, index, feats):
        if name not in self._reducers:
            self._reducers[name] = self._make_reducer(index, feats.shape[1:])
            self.history["features"][name] = {
                "shape": list(feats.shape[1:]), **self._reducers[name]["description"]}
        reducer = self._reducers[name]
        if self.mode == "pixel":
            return feats if reducer["subset"] is None else feats[..., reducer["subset"]]
        if reducer["pool"] > 1:
            feats = _average_pool(feats, reducer["pool"])
        feats = feats.reshape(len(feats), -1)
        return feats if reducer["subset"] is None else feats[:, reducer["subset"]]

    def _make_reducer(self, index, shape):
        rng = np.random.RandomState([self.seed, index])
        pool = 1
        if self.mode == "pixel" or self.mode == "step":
            size = shape[-1]
        else:
            size = int(np.prod(shape))
            if self.reduce == "pool" and len(shape) >= 2 and size > self.max_features:
                spatial, channels = shape[:-1], shape[-1]
                while pool < max(spatial) and (
                        int(np.prod([-(-s // pool) for s in spatial])) * channels
                        > self.max_features):
                    pool += 1
                size = int(np.prod([-(-s // pool) for s in spatial])) * channels
        subset = None
        if self.reduce is not None and size > self.max_features:
            subset = np.sort(rng.choice(size, self.max_features, replace=False))
        kept = size if subset is None else len(subset)
        return {"pool": pool, "subset": subset,
                "description": {"pool": pool, "random_subset": subset is not None,
                                "probe_features": int(kept)}}

    def _sample_pixels(self, labels):
        valid = labels < self.num_classes
        if self.ignore_class is not None:
            valid &= labels != self.ignore_class
        flat = np.flatnonzero(valid.ravel())
        if len(flat) > self.max_pixels:
            flat = np.sort(np.random.RandomState(self.seed).choice(flat, self.max_pixels,
                                                                   replace=False))
        return np.unravel_index(flat, labels.shape)

    def _training_arrays(self, design):
        """`(inputs, labels)` the probes are fit on: per-example rows, or sampled pixels."""
        if self.mode != "pixel":
            return design["inputs"], design["labels"]
        n, rows, cols = self._pixels
        height, width = design["labels"].shape[1:]
        inputs = []
        for feats in design["inputs"]:
            fh, fw = feats.shape[1:3]
            inputs.append(feats[n, rows * fh // height, cols * fw // width])
        return inputs, design["labels"][n, rows, cols]

    def _fit_probes(self, design):
        inputs, labels = self._training_arrays(design)
        stats = []
        for features in inputs:
            mean = features.mean(axis=0)
            std = features.std(axis=0)
            stats.append((mean, np.where(std > 1e-6, std, 1.0).astype(np.float32)))
        standardized = [(f - m) / s for f, (m, s) in zip(inputs, stats)]
        # One BLAS thread: beside the backend's own (spinning) thread pools, a multi-threaded
        # OpenBLAS runs these small products ~10x slower (measured: 0.9 s vs 0.1 s a probe).
        with threadpoolctl.threadpool_limits(1, user_api="blas"):
            probes = [_fit_softmax(f, labels, self.num_classes, self.l2, self.max_iterations)
                      for f in standardized]
        weights = []
        for (mean, std), (kernel, bias) in zip(stats, probes):
            # Fold the standardization into the probe: logits = x @ (k / s) + (b - m/s @ k).
            weights.append((kernel / std[:, None], bias - (mean / std) @ kernel))
        return weights

    def _score(self, design, probes):
        labels = design["labels"]
        scores = {}
        for (name, step), feats, (kernel, bias) in zip(design["keys"], design["inputs"], probes):
            if self.mode == "pixel":
                scores[name] = self._pixel_scores(feats, labels, kernel, bias)
                continue
            predicted = np.argmax(feats @ kernel + bias, axis=-1)
            error = round(float(np.mean(predicted != labels)), 5)
            if step is None:
                scores[name] = {"error": error}
            else:
                scores.setdefault(name, {"error": []})["error"].append(error)
        return scores

    def _pixel_scores(self, feats, labels, kernel, bias):
        from tfmodels.metrics.segmentation import confusion_matrix, scores_from_confusion_matrix

        n, height, width = labels.shape
        fh, fw = feats.shape[1:3]
        rows = np.arange(height) * fh // height
        cols = np.arange(width) * fw // width
        matrix = np.zeros((self.num_classes, self.num_classes), np.int64)
        for i in range(n):
            predicted = np.argmax(feats[i] @ kernel + bias, axis=-1)[rows[:, None], cols[None, :]]
            matrix += confusion_matrix(labels[i], predicted, self.num_classes, self.ignore_class)
        scores = scores_from_confusion_matrix(matrix)
        return {"error": round(1.0 - scores["global_accuracy"], 5),
                "miou": round(scores["mean_iou"], 5)}

    def _logs(self, entry):
        logs = {}
        if self.logs is None:
            return logs
        names = self.layer_names if self.logs == "all" else self.layer_names[-1:]
        for name in names:
            result = entry["layers"][name]
            for key, value in result.items():
                prefix, metric = ("val_", key[4:]) if key.startswith("val_") else ("", key)
                if isinstance(value, list):
                    for t, v in enumerate(value):
                        logs[f"probe_{prefix}{metric}/{name}/step{t}"] = v
                else:
                    logs[f"probe_{prefix}{metric}/{name}"] = value
        return logs

    def _write_files(self, gif):
        from tfmodels.diagnostics import figures

        os.makedirs(self.output_dir, exist_ok=True)
        atomic.write_json(os.path.join(self.output_dir, "probes.json"), self.history)
        figures.write_figure(self.history, os.path.join(self.output_dir, "probes.png"))
        if gif:
            figures.write_animation(self.history, os.path.join(self.output_dir, "probes.gif"))


def _fit_softmax(x, y, num_classes, l2, max_iterations):
    """Multinomial logistic regression `(kernel (d, K), bias (K,))` minimizing the mean
    cross-entropy plus `l2 / 2 * |kernel|^2`, full batch, L-BFGS from zero weights."""
    from scipy import optimize

    n, d = x.shape
    onehot = np.zeros((n, num_classes), np.float32)
    onehot[np.arange(n), y] = 1.0

    def loss_and_gradient(theta):
        kernel = theta[: d * num_classes].reshape(d, num_classes).astype(np.float32)
        bias = theta[d * num_classes:].astype(np.float32)
        logits = x @ kernel + bias
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        total = exp.sum(axis=1, keepdims=True)
        loss = np.mean(np.log(total[:, 0]) - logits[np.arange(n), y])
        residual = (exp / total - onehot) / n
        grad_kernel = x.T @ residual + l2 * kernel
        loss += 0.5 * l2 * float(np.sum(kernel * kernel))
        return float(loss), np.concatenate([grad_kernel.ravel(), residual.sum(axis=0)]).astype(
            np.float64)

    result = optimize.minimize(loss_and_gradient, np.zeros(d * num_classes + num_classes),
                               jac=True, method="L-BFGS-B", options={"maxiter": max_iterations})
    kernel = result.x[: d * num_classes].reshape(d, num_classes).astype(np.float32)
    return kernel, result.x[d * num_classes:].astype(np.float32)


def _split_pair(data, argument):
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise ValueError(f"{argument} must be a pair (x, y); got {type(data).__name__}")
    x, y = data
    y = np.asarray(y)
    lengths = {len(v) for v in (x.values() if isinstance(x, dict) else
                                x if isinstance(x, (list, tuple)) else [x])}
    if lengths != {len(y)} or len(y) == 0:
        raise ValueError(f"{argument}: x and y must hold the same non-zero number of examples; "
                         f"got {sorted(lengths)} and {len(y)}")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{argument}: y must be integer class ids; got dtype {y.dtype}")
    return x, y


def _concat(xs):
    if len(xs) == 1:
        return xs[0]
    if isinstance(xs[0], dict):
        return {k: np.concatenate([np.asarray(x[k]) for x in xs]) for k in xs[0]}
    if isinstance(xs[0], (list, tuple)):
        return [np.concatenate([np.asarray(x[i]) for x in xs]) for i in range(len(xs[0]))]
    return np.concatenate([np.asarray(x) for x in xs])


def _take(x, index):
    if isinstance(x, dict):
        return {k: np.asarray(v)[index] for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(np.asarray(v)[index] for v in x)
    return np.asarray(x)[index]


def _single_output(layer):
    try:
        out = layer.output
    except (AttributeError, ValueError) as err:
        raise ValueError(f"layers: layer {layer.name!r} has no single output to probe ({err})")
    if isinstance(out, (list, tuple, dict)):
        raise ValueError(f"layers: layer {layer.name!r} has several outputs; probe one tensor")
    return out


def _average_pool(feats, pool):
    """Averages non-overlapping `pool`-wide blocks along every axis but the first and last
    (edge blocks average what they hold)."""
    for axis in range(1, feats.ndim - 1):
        size = feats.shape[axis]
        blocks = -(-size // pool)
        pad = blocks * pool - size
        if pad:
            widths = [(0, 0)] * feats.ndim
            widths[axis] = (0, pad)
            counts = np.full(blocks, pool, np.float32)
            counts[-1] = pool - pad
            feats = np.pad(feats, widths)
        else:
            counts = np.full(blocks, pool, np.float32)
        shape = feats.shape[:axis] + (blocks, pool) + feats.shape[axis + 1:]
        summed = feats.reshape(shape).sum(axis=axis + 1)
        feats = summed / counts.reshape((blocks,) + (1,) * (feats.ndim - axis - 1))
    return feats
