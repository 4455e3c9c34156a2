"""The README's QNN table: test error on real MNIST, mean of seeds, beside the paper's figures.

Usage (resumable: one JSON per finished run under --out, skipped when present):
  python benchmarks/qnn_mnist.py [--epochs=4] [--preset=mlp_256] [--seeds=0,1] [--out=export/qnn_mnist]

Each row is one `tfmodels.tasks.bnn.train_bnn` run per seed (the same function as
`tfmodels-train --task=bnn`); the first seed of each binary row also exports the int8 `.tflite`
and the 1-bit packed file and checks them against Keras on the 10k test images.
"""

import argparse
import json
import os

ROWS = [
    ("BNN, deterministic", dict(weights="binary", activations="binary")),
    ("float MLP (hard tanh)", dict(weights="float", activations="float")),
    ("BNN, stochastic", dict(weights="binary", activations="binary", stochastic=True)),
    ("BNN, deterministic, shift BN + shift AdaMax",
     dict(weights="binary", activations="binary", shift=True)),
    ("QNN, binary weights, 2-bit activations", dict(weights="binary", activations="linear2")),
    ("QNN, binary weights, 4-bit activations", dict(weights="binary", activations="linear4")),
    ("QNN, 2-bit act., shift BN + shift AdaMax",
     dict(weights="binary", activations="linear2", shift=True)),
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--preset", default="mlp_256")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--out", default="export/qnn_mnist")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    os.makedirs(args.out, exist_ok=True)

    from tfmodels.tasks.bnn import run_name, train_bnn
    from tfmodels.utils.atomic import write_json

    for seed in seeds:
        for label, options in ROWS:
            name = run_name("mlp", args.preset, options["weights"], options["activations"],
                            options.get("stochastic", False), options.get("shift", False),
                            "squared_hinge", seed)
            path = os.path.join(args.out, f"{name}_e{args.epochs}.json")
            if os.path.exists(path):
                continue
            export = seed == seeds[0] and options["weights"] == "binary"
            result = train_bnn(preset=args.preset, epochs=args.epochs, seed=seed,
                               export_dir=args.out if export else None, **options)
            print(result, flush=True)
            write_json(path, {"label": label, **{k: v for k, v in vars(result).items()}})

    print(f"\nMNIST test error, {args.preset}, {args.epochs} epochs, batch 100, squared hinge, "
          f"seeds {seeds}")
    print("| model | test error % (mean) | per seed | train time / run | int8 .tflite = Keras | "
          "packed = Keras |")
    print("|---|---|---|---|---|---|")
    sizes = None
    for label, options in ROWS:
        runs = []
        for seed in seeds:
            name = run_name("mlp", args.preset, options["weights"], options["activations"],
                            options.get("stochastic", False), options.get("shift", False),
                            "squared_hinge", seed)
            path = os.path.join(args.out, f"{name}_e{args.epochs}.json")
            if os.path.exists(path):
                with open(path) as f:
                    runs.append(json.load(f))
        if not runs:
            print(f"| {label} | (not run) | | | | |")
            continue
        errors = [100 * r["test_error"] for r in runs]
        seconds = sum(r["train_seconds"] for r in runs) / len(runs)
        device = next((r["device_agreement"] for r in runs if r["device_agreement"] is not None),
                      None)
        packed = next((r["packed_agreement"] for r in runs if r["packed_agreement"] is not None),
                      None)
        fmt = lambda v: "-" if v is None else f"{100 * v:.2f}%"  # noqa: E731
        print(f"| {label} | {sum(errors) / len(errors):.2f} | "
              f"{', '.join(f'{e:.2f}' for e in errors)} | {seconds:.0f} s | {fmt(device)} | "
              f"{fmt(packed)} |")
        if sizes is None and runs[0]["sizes"].get("packed_1bit"):
            sizes = runs[0]["sizes"]
    print("| paper: BNN MLP 3x4096, Theano, 1000 epochs | 0.96 | | | | |")
    print("| paper: BNN MLP 3x4096, Torch7, 1000 epochs | 1.40 | | | | |")
    if sizes:
        print("\nWeight file sizes (BNN, deterministic):")
        print("| float32 weights | int8 .tflite | 1-bit packed (.npz) |")
        print("|---|---|---|")
        print(f"| {sizes['float32'] / 1024:.1f} KiB | {sizes.get('int8_tflite', 0) / 1024:.1f} KiB"
              f" | {sizes['packed_1bit'] / 1024:.1f} KiB |")


if __name__ == "__main__":
    main()
