"""The README's QNN table: test error on real MNIST, mean of seeds, beside the paper's figures.

Usage (resumable: one JSON per finished run under --out, skipped when present):
  python benchmarks/qnn_mnist.py [--epochs=4] [--model=mlp] [--preset=mlp_256] [--seeds=0,1]
      [--rows=bnn,float,...] [--out=export/qnn_mnist]
  python benchmarks/qnn_mnist.py --model=convnet --preset=cpu --rows=bnn,float --epochs=1 --seeds=0

Each row is one `tfmodels.tasks.bnn.train_bnn` run per seed (the same function as
`tfmodels-train --task=bnn`); the first seed of each binary row also exports the int8 `.tflite`
(binary MLPs through `tfmodels.models.qnn.int8_twin`) and the 1-bit packed file and checks them
against Keras on the 10k test images. Runs exported before `int8_twin` are re-exported from
their saved `.keras` model.
"""

import argparse
import json
import os

# (key for --rows, label, train_bnn options).
ROWS = [
    ("bnn", "BNN, deterministic", dict(weights="binary", activations="binary")),
    ("float", "float {model} (hard tanh)", dict(weights="float", activations="float")),
    ("bnn_stochastic", "BNN, stochastic",
     dict(weights="binary", activations="binary", stochastic=True)),
    ("bnn_shift", "BNN, deterministic, shift BN + shift AdaMax",
     dict(weights="binary", activations="binary", shift=True)),
    ("qnn2", "QNN, binary weights, 2-bit activations",
     dict(weights="binary", activations="linear2")),
    ("qnn4", "QNN, binary weights, 4-bit activations",
     dict(weights="binary", activations="linear4")),
    ("qnn2_shift", "QNN, 2-bit act., shift BN + shift AdaMax",
     dict(weights="binary", activations="linear2", shift=True)),
]


def _rows(args):
    keys = [k for k, _, _ in ROWS]
    chosen = keys if args.rows == "all" else args.rows.split(",")
    unknown = sorted(set(chosen) - set(keys))
    if unknown:
        raise SystemExit(f"--rows: unknown {unknown}; choose from {keys} or 'all'")
    label_model = "MLP" if args.model == "mlp" else "ConvNet"
    return [(label.format(model=label_model), options) for k, label, options in ROWS
            if k in chosen]


def _path(args, options, seed):
    from tfmodels.tasks.bnn import run_name

    name = run_name(args.model, args.preset, options["weights"], options["activations"],
                    options.get("stochastic", False), options.get("shift", False),
                    "squared_hinge", seed)
    return os.path.join(args.out, f"{name}_e{args.epochs}.json")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--model", default="mlp", choices=["mlp", "convnet"])
    parser.add_argument("--preset", default="mlp_256")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--rows", default="all", help="comma-separated row keys, or 'all'")
    parser.add_argument("--out", default="export/qnn_mnist")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = _rows(args)
    os.makedirs(args.out, exist_ok=True)

    from tfmodels.tasks.bnn import train_bnn
    from tfmodels.utils.atomic import write_json

    for seed in seeds:
        for label, options in rows:
            path = _path(args, options, seed)
            if os.path.exists(path):
                continue
            export = seed == seeds[0] and options["weights"] == "binary"
            result = train_bnn(model=args.model, preset=args.preset, epochs=args.epochs,
                               seed=seed, export_dir=args.out if export else None, **options)
            print(result, flush=True)
            write_json(path, {"label": label, **{k: v for k, v in vars(result).items()}})

    _recheck_int8(args, seeds, rows)

    print(f"\nMNIST test error, {args.model} {args.preset}, {args.epochs} epochs, batch 100, "
          f"squared hinge, "
          f"seeds {seeds}")
    print("| model | test error % (mean) | per seed | train time / run | int8 .tflite = Keras | "
          "int8 logits alone = Keras | packed = Keras |")
    print("|---|---|---|---|---|---|---|")
    sizes = None
    for label, options in rows:
        runs = []
        for seed in seeds:
            path = _path(args, options, seed)
            if os.path.exists(path):
                with open(path) as f:
                    runs.append(json.load(f))
        if not runs:
            print(f"| {label} | (not run) | | | | | |")
            continue
        errors = [100 * r["test_error"] for r in runs]
        seconds = sum(r["train_seconds"] for r in runs) / len(runs)
        device = next((r["device_agreement"] for r in runs if r["device_agreement"] is not None),
                      None)
        packed = next((r["packed_agreement"] for r in runs if r["packed_agreement"] is not None),
                      None)
        logits = next((r.get("int8_logits_agreement") for r in runs
                       if r.get("int8_logits_agreement") is not None), None)
        fmt = lambda v: "-" if v is None else f"{100 * v:.2f}%"  # noqa: E731
        print(f"| {label} | {sum(errors) / len(errors):.2f} | "
              f"{', '.join(f'{e:.2f}' for e in errors)} | {seconds:.0f} s | {fmt(device)} | "
              f"{fmt(logits)} | {fmt(packed)} |")
        if sizes is None and runs[0]["sizes"].get("packed_1bit"):
            sizes = runs[0]["sizes"]
    print("| paper: BNN MLP 3x4096, Theano, 1000 epochs | 0.96 | | | | | |")
    print("| paper: BNN MLP 3x4096, Torch7, 1000 epochs | 1.40 | | | | | |")
    if sizes:
        print("\nWeight file sizes (BNN, deterministic):")
        print("| float32 weights | int8 .tflite | 1-bit packed (.npz) |")
        print("|---|---|---|")
        print(f"| {sizes['float32'] / 1024:.1f} KiB | {sizes.get('int8_tflite', 0) / 1024:.1f} KiB"
              f" | {sizes['packed_1bit'] / 1024:.1f} KiB |")


def _recheck_int8(args, seeds, rows):
    """Re-exports the int8 file of runs written before `int8_twin` existed (their JSON lacks
    `int8_logits_agreement`) from their saved `.keras` model, and updates the JSON."""
    import keras
    import numpy as np

    import tfmodels.optimizers  # noqa: F401  (registers the saved optimizer)
    from tfmodels.data import mnist
    from tfmodels.tasks.bnn import export_int8
    from tfmodels.utils.atomic import write_json

    data = None
    for label, options in rows:
        path = _path(args, options, seeds[0])
        if not os.path.exists(path):
            continue
        with open(path) as f:
            run = json.load(f)
        if not run.get("tflite_path") or "int8_logits_agreement" in run:
            continue
        if data is None:
            data = mnist.load(None, validation=10000, normalize=True)
        net = keras.saving.load_model(run["model_path"], compile=False)
        keras_test = np.argmax(net.predict(data.x_test, batch_size=1000, verbose=0), -1)
        checked = export_int8(net, run["tflite_path"],
                              data.x_train[:run["config"]["calibration_samples"]],
                              data.x_test, data.y_test, keras_test)
        run["sizes"]["int8_tflite"] = checked.pop("size_bytes")
        run.update(checked)
        write_json(path, run)
        print(f"re-exported {run['tflite_path']}: predictions equal to Keras "
              f"{100 * run['device_agreement']:.2f}%", flush=True)


if __name__ == "__main__":
    main()
