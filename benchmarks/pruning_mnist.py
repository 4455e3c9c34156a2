"""The README's pruning table: LeNet-300-100 on real MNIST, pruned with tfmodels.optimization.

Usage (resumable: one JSON per finished row under --out, skipped when present):
  python benchmarks/pruning_mnist.py [--epochs=3] [--finetune_epochs=2] [--out=export/pruning_mnist]

A float LeNet-300-100 (784-300-100-10, Han et al.'s pruning benchmark) is trained once; each
row prunes a copy with `prune_low_magnitude` (polynomial ramp over the first fine-tuning epoch,
or 2:4 structure) and fine-tunes it (the dense row fine-tunes as long without pruning), then
strips it and exports four `.tflite` files: float32 and int8 (post-training, calibrated), each
with dense storage and with `sparse_weights=True`. The "+ QAT" rows quantize the stripped pruned model with
`quantize_model`, keep its zeros with a one-shot `ConstantSparsity(s, 0, end_step=0)` during a
QAT epoch, and export int8. Sizes are raw and gzip-compressed bytes; latency is the mean of
LiteRT invokes at batch 1 on one thread (XNNPACK where it takes the file, builtin kernels
otherwise); test error is the LiteRT file's own on the 10k test images.
"""

import argparse
import gzip
import json
import os
import time

import numpy as np

ROWS = [("dense", None), ("50%", 0.5), ("75%", 0.75), ("90%", 0.9), ("2:4", (2, 4)),
        ("75% + int8 QAT", ("qat", 0.75)), ("90% + int8 QAT", ("qat", 0.9))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--finetune_epochs", type=int, default=2)
    parser.add_argument("--latency_samples", type=int, default=300)
    parser.add_argument("--out", default="export/pruning_mnist")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    import keras

    from tfmodels.data import mnist

    data = mnist.load(normalize=True)
    flat = lambda x: x.reshape(len(x), -1)  # noqa: E731
    train = (flat(data.x_train), data.y_train)
    test = (flat(data.x_test), data.y_test)
    base_path = os.path.join(args.out, "base.keras")
    if not os.path.exists(base_path):
        keras.utils.set_random_seed(0)
        base = keras.Sequential([keras.Input((784,), name="image"),
                                 keras.layers.Dense(300, activation="relu", name="fc1"),
                                 keras.layers.Dense(100, activation="relu", name="fc2"),
                                 keras.layers.Dense(10, name="logits")])
        _compile(base)
        base.fit(*train, batch_size=128, epochs=args.epochs, verbose=2)
        base.save(base_path)
    results = []
    for label, target in ROWS:
        path = os.path.join(args.out, f"{label.replace('%', 'pct').replace(' ', '_').replace(':', 'of').replace('+', '')}.json")
        if not os.path.exists(path):
            row = _row(label, target, base_path, train, test, args)
            with open(path, "w") as f:
                json.dump(row, f)
        with open(path) as f:
            results.append(json.load(f))
    _print_table(results)


def _compile(model, learning_rate=1e-3):
    import keras

    model.compile(keras.optimizers.Adam(learning_rate),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])


def _row(label, target, base_path, train, test, args):
    import keras

    from tfmodels.optimization import sparsity
    from tfmodels.quantization import quantize_model

    keras.utils.set_random_seed(1)
    model = keras.models.load_model(base_path)
    steps = int(np.ceil(len(train[0]) / 128))
    callbacks = [sparsity.UpdatePruningStep()]
    started = time.perf_counter()
    qat = isinstance(target, tuple) and target[0] == "qat"
    fraction = target[1] if qat else target
    if fraction is None:
        # The dense row gets the same fine-tuning epochs as the pruned ones.
        _compile(model)
        model.fit(*train, batch_size=128, epochs=args.finetune_epochs, verbose=2)
    else:
        options = {}
        if isinstance(fraction, tuple):
            schedule, options = sparsity.ConstantSparsity(0.5, 0, frequency=steps), {
                "sparsity_m_by_n": fraction}
        else:
            schedule = sparsity.PolynomialDecay(0.0, fraction, 0, steps, power=3, frequency=50)
        model = sparsity.prune_low_magnitude(model, schedule, **options)
        _compile(model)
        model.fit(*train, batch_size=128, epochs=args.finetune_epochs, verbose=2,
                  callbacks=callbacks)
        model = sparsity.strip_pruning(model)
    if qat:
        model = quantize_model(model)
        model = sparsity.prune_low_magnitude(
            model, sparsity.ConstantSparsity(fraction, 0, end_step=0))
        _compile(model, 1e-4)
        model.fit(*train, batch_size=128, epochs=1, verbose=2, callbacks=callbacks)
        model = sparsity.strip_pruning(model)
    train_seconds = time.perf_counter() - started
    zeros = [float(np.mean(keras.ops.convert_to_numpy(w) == 0))
             for w in model.weights if w.path.endswith("/kernel")]
    files = {}
    exports = [("int8 dense", "int8", False), ("int8 sparse", "int8", True)]
    if not qat:
        exports = [("float32 dense", "float32", False), ("float32 sparse", "float32", True),
                   *exports]
    for name, mode, sparse in exports:
        files[name] = _export(model, mode, sparse, train[0][:64], test,
                              os.path.join(args.out, f"{label}-{name}.tflite".replace(" ", "_")),
                              args.latency_samples)
    return {"row": label, "kernel_zeros": zeros, "train_seconds": round(train_seconds, 1),
            "files": files}


def _export(model, mode, sparse, calibration, test, path, latency_samples):
    import warnings

    from tfmodels.export import export_tflite
    from tfmodels.export.runtime import LiteRTRunner

    report = export_tflite(model, path, mode=mode, sparse_weights=sparse,
                           representative_data=calibration if mode == "int8" else None)
    with open(path, "rb") as f:
        content = f.read()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        runner = LiteRTRunner(path, num_threads=1)
    logits = next(iter(runner.predict(test[0]).values()))
    error = float(np.mean(np.argmax(logits, -1) != test[1]))
    times = []
    for i in range(latency_samples):
        runner(test[0][i : i + 1])
        times.append(runner.last_invoke_seconds)
    return {"bytes": report.size_bytes, "gzip_bytes": len(gzip.compress(content, 9)),
            "test_error": round(100 * error, 2), "latency_us": round(1e6 * float(np.mean(times)), 1),
            "xnnpack": not caught}


def _print_table(results):
    print("| pruning | kernel zeros | file | bytes | gzip bytes | LiteRT us/image | test error % |")
    print("|---|---|---|---|---|---|---|")
    for row in results:
        zeros = "/".join(f"{z:.2f}" for z in row["kernel_zeros"])
        for name, f in row["files"].items():
            kernel = "" if f["xnnpack"] else " (builtin kernels)"
            print(f"| {row['row']} | {zeros} | {name} | {f['bytes']:,} | {f['gzip_bytes']:,} | "
                  f"{f['latency_us']}{kernel} | {f['test_error']} |")


if __name__ == "__main__":
    main()
