"""FC-DenseNet float32 vs int8 `.tflite` in the LiteRT interpreter: latency and file size.

For each model and frame size, exports the same (randomly initialized) FC-DenseNet twice with
`tfmodels.export.export_tflite` (float32, and full-integer int8 calibrated on a few random
frames; weights do not change the op count, so latency does not depend on training), then times
both files in `ai_edge_litert`'s interpreter with float runs and int8 runs interleaved, so
that load from other processes hits both alike. Prints median latency, the spread (25th-75th
percentile and min-max), file sizes and the int8/float ratios.

360x480 (CamVid) frames are padded to 384x480, the next multiple of 32, as
`tfmodels.data.camvid` pads evaluation frames; the latency is that of the padded frame.

Usage:
  python benchmarks/segmentation_tflite.py                      # 56 and 103, 224x224 and 360x480
  python benchmarks/segmentation_tflite.py --models=56 --sizes=224x224 --runs=20 --threads=2
"""

import os
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from absl import app, flags  # noqa: E402

_MODELS = flags.DEFINE_list("models", ["56", "103"], "FC-DenseNet depths: 56, 67, 103.")
_SIZES = flags.DEFINE_list("sizes", ["224x224", "360x480"], "Frame sizes HEIGHTxWIDTH.")
_RUNS = flags.DEFINE_integer("runs", 10, "Timed invocations per file (after 2 warm-up runs).")
_THREADS = flags.DEFINE_integer("threads", 2, "Interpreter threads.")
_CALIBRATION = flags.DEFINE_integer("calibration_frames", 2, "Random frames for int8 ranges.")
_OUT_DIR = flags.DEFINE_string("out_dir", None, "Keep the .tflite files here (default: temp).")


def _padded(size):
    return tuple(-(-s // 32) * 32 for s in size)


def _benchmark(depth, size, out_dir):
    from tfmodels.export import export_tflite
    from tfmodels.models.segmentation import fc_densenet56, fc_densenet67, fc_densenet103

    factory = {"56": fc_densenet56, "67": fc_densenet67, "103": fc_densenet103}[depth]
    shape = _padded(size)
    model = factory(num_classes=11, input_shape=(*shape, 3))
    rng = np.random.default_rng(0)
    frames = rng.random((_CALIBRATION.value, *shape, 3)).astype("float32")
    paths, export_s = {}, {}
    for mode in ("float32", "int8"):
        path = os.path.join(out_dir, f"fc_densenet{depth}_{shape[0]}x{shape[1]}_{mode}.tflite")
        t = time.perf_counter()
        export_tflite(
            model, path, mode=mode, representative_data=frames if mode == "int8" else None
        )
        export_s[mode] = time.perf_counter() - t
        paths[mode] = path
    from tfmodels.export.runtime import LiteRTRunner

    runners = {mode: LiteRTRunner(path, num_threads=_THREADS.value) for mode, path in paths.items()}
    x = frames[:1]
    seconds = {mode: [] for mode in runners}
    for i in range(2 + _RUNS.value):
        for mode, runner in runners.items():
            runner({runner.input_names[0]: x})
            if i >= 2:
                seconds[mode].append(runner.last_invoke_seconds)
    row = {"model": f"FC-DenseNet{depth}", "frame": f"{size[0]}x{size[1]}", "padded": shape}
    for mode in runners:
        ms = np.array(seconds[mode]) * 1e3
        row[mode] = {
            "median_ms": float(np.median(ms)),
            "p25_ms": float(np.percentile(ms, 25)),
            "p75_ms": float(np.percentile(ms, 75)),
            "min_ms": float(ms.min()),
            "max_ms": float(ms.max()),
            "bytes": os.path.getsize(paths[mode]),
            "export_s": export_s[mode],
        }
    return row


def main(argv):
    del argv
    sizes = [tuple(int(v) for v in s.lower().split("x")) for s in _SIZES.value]
    out_dir = _OUT_DIR.value or tempfile.mkdtemp(prefix="segmentation_tflite_")
    os.makedirs(out_dir, exist_ok=True)
    print(
        f"LiteRT interpreter, {_THREADS.value} threads, {_RUNS.value} timed runs per file "
        f"(float/int8 interleaved), {os.cpu_count()} CPUs visible; files in {out_dir}"
    )
    header = (
        f"{'model':15s} {'frame':>9s} {'mode':>7s} {'median ms':>10s} {'p25-p75 ms':>15s} "
        f"{'min-max ms':>15s} {'size MiB':>9s}"
    )
    print(header)
    for depth in _MODELS.value:
        for size in sizes:
            row = _benchmark(depth, size, out_dir)
            for mode in ("float32", "int8"):
                r = row[mode]
                frame = row["frame"] + ("*" if tuple(row["padded"]) != size else "")
                print(
                    f"{row['model']:15s} {frame:>9s} {mode:>7s} {r['median_ms']:10.1f} "
                    f"{r['p25_ms']:7.1f}-{r['p75_ms']:<7.1f} {r['min_ms']:7.1f}-{r['max_ms']:<7.1f} "
                    f"{r['bytes'] / 2**20:9.2f}"
                )
            f, q = row["float32"], row["int8"]
            print(
                f"{'':15s} {'':>9s} {'ratio':>7s} int8/float latency "
                f"{q['median_ms'] / f['median_ms']:.2f}, size {q['bytes'] / f['bytes']:.2f}",
                flush=True,
            )
    print("* padded to the next multiple of 32 (384x480)")


if __name__ == "__main__":
    app.run(main)
