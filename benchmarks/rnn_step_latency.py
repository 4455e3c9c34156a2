"""Step latency of a 2-layer 512-unit LSTM char-LM: float32 vs int8 step `.tflite`, LiteRT.

Exports the streaming step model (`tfmodels.export.rnn.export_step_tflite`) of a char-LM with
two 512-unit LSTM layers (ternary weights by default) as float32 and as int8, then times
`invoke()` of each in the `ai_edge_litert` interpreter, interleaved so that both see the same
machine load, and prints median / p90 latency per step, file sizes and the ratios.

Usage:
    python benchmarks/rnn_step_latency.py [--units 512] [--layers 2] [--steps 2000]
        [--threads 1] [--quantizer ternary]
"""

import argparse
import os
import tempfile

import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=512)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--vocab", type=int, default=97)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quantizer", default="ternary")
    args = parser.parse_args()

    from tfmodels.export import rnn as rnn_export
    from tfmodels.export.runtime import LiteRTRunner
    from tfmodels.models.rnn import char_lm, quantizers

    model = char_lm(args.vocab, cell="lstm", units=args.units, num_layers=args.layers,
                    embedding_dim=64, seed=0, **quantizers(args.quantizer))
    rng = np.random.default_rng(0)
    calibration = rng.integers(1, args.vocab, size=(4, 16)).astype("int32")
    ids = rng.integers(1, args.vocab, size=args.steps).astype("int32")
    with tempfile.TemporaryDirectory() as directory:
        runners = {}
        sizes = {}
        for mode in ("float32", "int8"):
            report = rnn_export.export_step_tflite(
                model, os.path.join(directory, f"step.{mode}.tflite"), mode,
                representative_data=calibration if mode == "int8" else None, max_samples=32)
            sizes[mode] = report.size_bytes
            runners[mode] = LiteRTRunner(report.path, num_threads=args.threads).stepper(["x"])

        times = {mode: [] for mode in runners}
        for i in range(args.steps + 50):
            for mode, stepper in runners.items():
                stepper.step({"x": ids[i % args.steps : i % args.steps + 1]})
                if i >= 50:  # warm-up
                    times[mode].append(stepper.runner.last_invoke_seconds)

    print(f"LSTM char-LM step: {args.layers} x {args.units} units, vocab {args.vocab}, "
          f"{args.quantizer} weights, {args.steps} steps, {args.threads} thread(s)")
    print(f"{'mode':8} {'median ms':>10} {'p90 ms':>8} {'size KiB':>9}")
    for mode, values in times.items():
        ms = 1000 * np.asarray(values)
        print(f"{mode:8} {np.median(ms):10.3f} {np.percentile(ms, 90):8.3f} "
              f"{sizes[mode] / 1024:9.1f}")
    f, q = (np.median(times[m]) for m in ("float32", "int8"))
    print(f"int8 / float32: latency {q / f:.2f}x (speed-up {f / q:.2f}x), "
          f"size {sizes['int8'] / sizes['float32']:.3f}x")


if __name__ == "__main__":
    main()
