"""Diet Networks end to end: genotypes -> k-fold `model.fit` of each model -> table -> int8 file.

`run_diet` runs the paper's comparison (arXiv:1611.09340, Table 1) on simulated
1000-Genomes-shaped data (`tfmodels.data.genotypes.simulate_genotypes`) or on a PLINK folder:
for each fold (test = that fold, validation = the next, training = the rest), every model of
`models` is trained with early stopping on validation accuracy, and its test misclassification
is recorded; the table gives mean +- std over folds and each model's free parameters. Every
embedding is computed from that fold's training rows only.

With `export_dir`, the first fold's `export_model` is saved (`.keras`), baked (the predicted
fat-layer weights as a plain Dense kernel), exported to an int8 `.tflite` through
`tfmodels.export.export_tflite` and run on the fold's test rows in LiteRT.

Example:
    >>> print(run_diet(num_snps=5000, epochs=30, export_dir="export"))  # doctest: +SKIP
"""

import dataclasses
import json
import os
import time

import keras
import numpy as np

from tfmodels.data import genotypes as genotype_data
from tfmodels.models.diet import (
    DietNetwork,
    baked_model,
    basic_mlp,
    compile_diet,
    feature_embedding,
    parameter_count,
)
from tfmodels.tasks.training import training_callbacks
from tfmodels.utils import atomic

# name -> (embedding kind or None for the plain MLP, reconstruction)
MODELS = {
    "basic": (None, False),
    "random_projection": ("random_projection", False),
    "random_projection_rec": ("random_projection", True),
    "snp2vec": ("snp2vec", False),
    "snp2vec_rec": ("snp2vec", True),
    "histogram": ("histogram", False),
    "histogram_rec": ("histogram", True),
}
# Diet Networks (1000 Genomes, 315,345 SNPs), the two figures the issue quotes:
# misclassification % (mean +- std over 5 folds) and free parameters. Other rows of the
# paper's table are not copied here (not checked against the paper in this session).
PAPER = {
    "basic": ("8.31 ± 1.83", "31.5M"),
    "histogram_rec": ("7.44 ± 0.45", ""),
}


@dataclasses.dataclass
class DietResult:
    """What `run_diet` measured.

    Attributes:
        data: a description of the genotypes.
        num_samples, num_snps, num_classes: their shape.
        folds: the fold count; run_folds: the folds actually run.
        epochs, seed, gamma: the training set-up.
        rows: one dict per model: `model`, `parameters` (trainable), `errors` (test
            misclassification % per fold), `mean`, `std`, `epochs_run`, `seconds` (mean fit
            time per fold).
        int8: the exported model's check (`model`, `tflite`, `size_bytes`, `keras_error`,
            `device_error` in %, `agreement` with Keras), or None.
        files: `{what: path}` written.
    """

    data: str
    num_samples: int
    num_snps: int
    num_classes: int
    folds: int
    run_folds: list
    epochs: int
    seed: int
    gamma: float
    rows: list = dataclasses.field(default_factory=list)
    int8: dict = None
    files: dict = dataclasses.field(default_factory=dict)

    def table(self):
        """Markdown: misclassification (mean ± std over folds) and free parameters, beside the
        paper's Table 1."""
        lines = ["| model | misclassification % | free parameters | paper % | paper parameters |",
                 "|---|---|---|---|---|"]
        for row in self.rows:
            paper = PAPER.get(row["model"], ("", ""))
            lines.append(f"| {row['model']} | {row['mean']:.2f} ± {row['std']:.2f} | "
                         f"{row['parameters']:,} | {paper[0]} | {paper[1]} |")
        return "\n".join(lines)

    def __str__(self):
        lines = [f"diet on {self.data}: folds {self.run_folds} of {self.folds}, "
                 f"{self.epochs} epochs max, gamma {self.gamma}, seed {self.seed}", self.table()]
        if self.int8:
            i = self.int8
            lines.append(f"  int8 .tflite ({i['model']}, fold {self.run_folds[0]}): "
                         f"{i['size_bytes'] / 1024:.0f} KiB, test error {i['device_error']:.2f}% "
                         f"(Keras {i['keras_error']:.2f}%), agreement "
                         f"{100 * i['agreement']:.2f}%, max |p - p_keras| "
                         f"{i['max_abs_error']:.4f}")
        lines += [f"  {what}: {path}" for what, path in self.files.items()]
        return "\n".join(lines)


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


def build_model(name, data, train, embedding_size=100, hidden=100, snp2vec_epochs=20, seed=0,
                embedding_cache=None):
    """Builds model `name` (a key of `MODELS`) for `data` from the training rows `train` only:
    their per-SNP mean (centring) and, for a Diet Network, their embedding."""
    kind, reconstruction = MODELS[name]
    mean = data.genotypes[train].mean(axis=0, dtype=np.float64).astype(np.float32)
    if kind is None:
        return basic_mlp(data.num_snps, data.num_classes, input_mean=mean, hidden=hidden,
                         seed=seed)
    cache = {} if embedding_cache is None else embedding_cache
    if kind not in cache:
        cache[kind] = feature_embedding(kind, data.genotypes, data.labels, train,
                                        data.num_classes, size=embedding_size, seed=seed,
                                        **({"epochs": snp2vec_epochs} if kind == "snp2vec" else {}))
    embedding = cache[kind]
    return DietNetwork(data.num_snps, data.num_classes, embedding.shape[1], embedding=embedding,
                       input_mean=mean, hidden=hidden, reconstruction=reconstruction,
                       seed=seed, name=f"diet_{name}")


def fit_model(model, data, train, valid, epochs, batch_size=64, learning_rate=1e-3, gamma=20.0,
              patience=10, seed=0, verbose=0, callbacks=()):
    """Fits with early stopping on validation accuracy (best weights restored); returns the
    epochs run. `callbacks` are added (the resumable ones of `training_callbacks`)."""
    reconstruction = getattr(model, "reconstruction", False)
    compile_diet(model, learning_rate, gamma)
    train_batches = genotype_data.GenotypeBatches(
        data.genotypes, data.labels, train, batch_size, shuffle=True,
        reconstruction=reconstruction, seed=seed)
    valid_batches = genotype_data.GenotypeBatches(
        data.genotypes, data.labels, valid, 256, reconstruction=reconstruction)
    monitor = ("val_label_sparse_categorical_accuracy" if reconstruction
               else "val_sparse_categorical_accuracy")
    stop = keras.callbacks.EarlyStopping(monitor, mode="max", patience=patience,
                                         restore_best_weights=True)
    keras.utils.set_random_seed(seed)
    history = model.fit(train_batches, validation_data=valid_batches, epochs=epochs,
                        callbacks=[*callbacks, stop], verbose=verbose)
    return len(history.history["loss"])


def predict_labels(model, data, rows, batch_size=256):
    """Predicted classes of `rows` (streamed in float32 batches)."""
    out = []
    for start in range(0, len(rows), batch_size):
        x = data.genotypes[rows[start : start + batch_size]].astype(np.float32)
        y = model(x, training=False)
        if isinstance(y, dict):
            y = y["label"]
        out.append(np.argmax(keras.ops.convert_to_numpy(y), axis=-1))
    return np.concatenate(out)


def load_data(data_dir=None, panel=None, missing="error", num_snps=20000,
              samples_per_population=133, fst_population=0.005, seed=0):
    """A PLINK folder (`data_dir`, with `panel` or a panel file inside) or the simulator."""
    if data_dir is not None:
        data = genotype_data.read_plink(data_dir, panel, missing=missing)
        return data, f"PLINK {data_dir} ({data})"
    data = genotype_data.simulate_genotypes(
        num_snps=num_snps, samples_per_population=samples_per_population,
        fst_population=fst_population, seed=seed)
    return data, f"simulated 1000-Genomes-shaped data, Fst within {fst_population} ({data})"


def run_diet(data_dir=None, panel=None, missing="error", models=tuple(MODELS), num_snps=20000,
             samples_per_population=133, fst_population=0.005, folds=5, run_folds=None,
             epochs=30, batch_size=64, learning_rate=1e-3, gamma=20.0, patience=10,
             embedding_size=100, hidden=100, snp2vec_epochs=20, seed=0, export_dir=None,
             export_model="histogram", int8=True, work_dir=None, verbose=0):
    """The Diet Networks comparison (see module doc).

    Args:
        data_dir: a PLINK folder (one `.bed/.bim/.fam` and a panel); None: simulate.
        panel: the panel file, if not inside `data_dir`.
        missing: PLINK missing genotypes: "error", "mode" or "zero" (`read_plink`).
        models: keys of `MODELS`.
        num_snps, samples_per_population, fst_population: the simulation (no `data_dir`).
        folds: k of the k-fold split; run_folds: which folds to run (default all).
        epochs, batch_size, learning_rate, patience: training (Adam, early stopping on
            validation accuracy).
        gamma: weight of the reconstruction loss (the authors' 20).
        embedding_size: random projection / SNP2Vec size (the histogram's is 3 x classes).
        hidden: fat-layer width (100).
        snp2vec_epochs: epochs of the SNP2Vec autoencoder.
        seed: data, folds, initialization.
        export_dir: where `diet/` (the `.keras`, the int8 `.tflite`, report.json) goes; None
            writes nothing.
        export_model: the model exported (one of `models`).
        int8: export and check the int8 `.tflite`.
        work_dir: resumable state: each finished (fold, model) leaves `fold<k>_<model>.json`
            (and `.keras` for the exported one) there and is not retrained when the run is
            repeated with the same arguments; an interrupted fit resumes from its last epoch
            (`keras.callbacks.BackupAndRestore`). None: nothing is kept.
        verbose: fit verbosity.

    Returns:
        A `DietResult`.
    """
    models = list(models)
    if not models or any(m not in MODELS for m in models):
        raise ValueError(f"models must be a non-empty list of {list(MODELS)}, got {models!r}")
    for name, value in (("folds", folds), ("epochs", epochs), ("batch_size", batch_size),
                        ("patience", patience), ("embedding_size", embedding_size),
                        ("hidden", hidden), ("snp2vec_epochs", snp2vec_epochs)):
        _positive_int(name, value)
    if folds < 3:
        raise ValueError(f"folds must be >= 3 (train, validation, test), got {folds}")
    run_folds = list(range(folds)) if run_folds is None else list(run_folds)
    if not run_folds or any(not isinstance(f, (int, np.integer)) or not 0 <= f < folds
                            for f in run_folds):
        raise ValueError(f"run_folds must be folds in [0, {folds}), got {run_folds!r}")
    if export_dir is not None:
        if export_model not in models:
            raise ValueError(f"export_model must be one of the trained models {models}, got "
                             f"{export_model!r}")
        if not os.path.isdir(os.path.dirname(os.path.abspath(export_dir))):
            raise FileNotFoundError(f"export_dir's parent folder does not exist: {export_dir}")
    if data_dir is not None and not os.path.isdir(data_dir):
        raise FileNotFoundError(f"data_dir: no such folder: {data_dir}")
    if work_dir is not None and os.path.isfile(work_dir):
        raise ValueError(f"work_dir is a file, not a folder: {work_dir}")
    data, description = load_data(data_dir, panel, missing, num_snps, samples_per_population,
                                  fst_population, seed)
    fold_of = genotype_data.stratified_folds(data.labels, folds, seed)
    result = DietResult(data=description, num_samples=data.num_samples,
                        num_snps=data.num_snps, num_classes=data.num_classes, folds=folds,
                        run_folds=run_folds, epochs=epochs, seed=seed, gamma=gamma)
    per_model = {m: {"errors": [], "epochs_run": [], "seconds": []} for m in models}
    exported = None
    for fold in run_folds:
        train, valid, test = genotype_data.fold_split(fold_of, fold)
        cache = {}
        for name in models:
            exporting = export_dir is not None and exported is None and name == export_model
            done = _load_finished(work_dir, fold, name, exporting)
            if done is None:
                done = _train_one(name, data, fold, train, valid, test, embedding_size, hidden,
                                  snp2vec_epochs, seed, cache, epochs, batch_size, learning_rate,
                                  gamma, patience, verbose, work_dir, exporting)
            row, model = done
            for key in ("errors", "epochs_run", "seconds"):
                per_model[name][key].append(row[key])
            per_model[name]["trainable"] = row["trainable"]
            if exporting:
                exported = (model, train, test, predict_labels(model, data, test))
    for name in models:
        entry = per_model[name]
        errors = entry["errors"]
        result.rows.append({"model": name, "parameters": entry["trainable"], "errors": errors,
                            "mean": float(np.mean(errors)), "std": float(np.std(errors)),
                            "epochs_run": entry["epochs_run"],
                            "seconds": float(np.mean(entry["seconds"]))})
    if export_dir is None:
        return result

    out = os.path.join(export_dir, "diet")
    os.makedirs(out, exist_ok=True)
    model, train, test, predicted = exported
    result.files["model"] = atomic.save_model(model, os.path.join(out, f"{model.name}.keras"))
    if int8:
        result.int8 = export_diet_tflite(model, os.path.join(out, f"{model.name}.int8.tflite"),
                                         data.genotypes[train[:32]], data.genotypes[test],
                                         data.labels[test], predicted)
        result.files["tflite_int8"] = result.int8["tflite"]
    result.files["report"] = os.path.join(out, "report.json")
    atomic.write_json(result.files["report"], dataclasses.asdict(result))
    return result


def _finished_path(work_dir, fold, name, ext):
    return os.path.join(work_dir, f"fold{fold}_{name}.{ext}")


def _load_finished(work_dir, fold, name, need_model):
    """`(row, model or None)` of a (fold, model) a previous run finished, else None."""
    if work_dir is None or not os.path.isfile(_finished_path(work_dir, fold, name, "json")):
        return None
    if need_model and not os.path.isfile(_finished_path(work_dir, fold, name, "keras")):
        return None
    with open(_finished_path(work_dir, fold, name, "json"), encoding="utf-8") as f:
        row = json.load(f)
    model = (keras.saving.load_model(_finished_path(work_dir, fold, name, "keras"))
             if need_model else None)
    return row, model


def _train_one(name, data, fold, train, valid, test, embedding_size, hidden, snp2vec_epochs,
               seed, cache, epochs, batch_size, learning_rate, gamma, patience, verbose,
               work_dir, keep_model):
    keras.utils.set_random_seed(seed)
    model = build_model(name, data, train, embedding_size, hidden, snp2vec_epochs, seed, cache)
    if work_dir is not None:
        os.makedirs(work_dir, exist_ok=True)
    callbacks = training_callbacks(work_dir, f"fold{fold}_{name}", tensorboard=False)
    start = time.perf_counter()
    ran = fit_model(model, data, train, valid, epochs, batch_size, learning_rate, gamma,
                    patience, seed, verbose, callbacks)
    seconds = time.perf_counter() - start
    predicted = predict_labels(model, data, test)
    row = {"errors": 100 * float(np.mean(predicted != data.labels[test])), "epochs_run": ran,
           "seconds": seconds,
           "trainable": int(sum(np.prod(w.shape) for w in model.trainable_weights))}
    if work_dir is not None:
        if keep_model:
            atomic.save_model(model, _finished_path(work_dir, fold, name, "keras"))
        atomic.write_json(_finished_path(work_dir, fold, name, "json"), row)
    return row, model


def export_diet_tflite(model, path, calibration, x_test, y_test, keras_test=None):
    """Exports `baked_model(model)` (the predicted fat-layer weights as a constant int8
    kernel) to a full-int8 `.tflite` and runs it on `x_test` in LiteRT.

    Args:
        model: a trained `DietNetwork` or `basic_mlp`.
        path: the `.tflite` path (written atomically by `export_tflite`).
        calibration: raw genotype rows (training) for the int8 activation ranges.
        x_test, y_test: test genotypes (int8 or float) and labels.
        keras_test: the Keras model's predicted classes on `x_test` (default: computed).

    Returns:
        `{"model", "tflite", "size_bytes", "op_types", "max_abs_error" (of the class
        probabilities), "keras_error", "device_error" (%), "agreement"}`.
    """
    from tfmodels.export import export_tflite
    from tfmodels.export.runtime import LiteRTRunner

    baked = baked_model(model)
    x_test = np.asarray(x_test, np.float32)
    keras_probs = np.concatenate([
        keras.ops.convert_to_numpy(baked(x_test[i : i + 256], training=False))
        for i in range(0, len(x_test), 256)])
    if keras_test is None:
        keras_test = np.argmax(keras_probs, -1)
    report = export_tflite(baked, path, mode="int8",
                           representative_data=np.asarray(calibration, np.float32),
                           per_channel_dense=True)
    runner = LiteRTRunner(report.path)
    device_probs = runner.predict({runner.input_names[0]: x_test})[runner.output_names[0]]
    device = np.argmax(device_probs, -1)
    return {"model": model.name, "tflite": report.path, "size_bytes": report.size_bytes,
            "op_types": dict(report.op_types),
            "max_abs_error": float(np.max(np.abs(device_probs - keras_probs))),
            "keras_error": 100 * float(np.mean(keras_test != y_test)),
            "device_error": 100 * float(np.mean(device != y_test)),
            "agreement": float(np.mean(device == keras_test))}
