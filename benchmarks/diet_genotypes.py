"""Diet Networks on simulated 1000-Genomes-shaped genotypes: the README's two tables.

  # Table 1: misclassification (mean +- std over 5 folds) and free parameters of every model
  nice -n 10 python benchmarks/diet_genotypes.py --experiment=table --num_snps=2000 \
      --epochs=30 --out=export/diet_table.json
  # Error, time and memory as the number of SNPs grows (basic MLP vs histogram Diet Network)
  nice -n 10 python benchmarks/diet_genotypes.py --experiment=scaling \
      --snps=1000,3000,10000,30000 --epochs=20 --out=export/diet_scaling.json

Both run on one CPU thread (set below, before TensorFlow loads). `scaling` runs each
(model, SNP count) in a fresh child process so that its peak resident memory (ru_maxrss) is
its own, on fold 0 only.
"""

import os

for _name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import json  # noqa: E402
import multiprocessing  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402

from absl import app, flags  # noqa: E402

_EXPERIMENT = flags.DEFINE_enum("experiment", "table", ["table", "scaling"], "Which figure.")
_NUM_SNPS = flags.DEFINE_integer("num_snps", 5000, "table: simulated SNPs.")
_SNPS = flags.DEFINE_list("snps", ["1000", "3000", "10000", "30000"], "scaling: SNP counts.")
_MODELS = flags.DEFINE_list("models", None, "Models (default: all for table; basic,histogram "
                            "for scaling).")
_EPOCHS = flags.DEFINE_integer("epochs", 25, "Maximum epochs (early stopping, patience 6).")
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 128, "Batch size.")
_FOLDS = flags.DEFINE_list("run_folds", None, "table: folds to run (default all 5).")
_SEED = flags.DEFINE_integer("seed", 0, "Data, folds and initialization seed.")
_OUT = flags.DEFINE_string("out", None, "JSON file for the results (written atomically).")


def _scaling_point(args):
    import numpy as np

    from tfmodels.tasks import diet

    model, snps, epochs, batch_size, seed = args
    start = time.perf_counter()
    result = diet.run_diet(models=[model], num_snps=snps, run_folds=[0], epochs=epochs,
                           batch_size=batch_size, patience=6, seed=seed)
    row = result.rows[0]
    return {"model": model, "snps": snps, "error": row["errors"][0],
            "parameters": row["parameters"], "epochs_run": row["epochs_run"][0],
            "fit_seconds": row["seconds"],
            "seconds_per_epoch": row["seconds"] / row["epochs_run"][0],
            "total_seconds": time.perf_counter() - start,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "genotypes_mib": 26 * 133 * snps / 2**20,
            "float32_weights_mib": float(np.float32(0).nbytes * row["parameters"] / 2**20)}


def main(argv):
    del argv
    from tfmodels.utils import atomic

    if _EXPERIMENT.value == "table":
        from tfmodels.tasks import diet

        result = diet.run_diet(
            models=_MODELS.value or list(diet.MODELS), num_snps=_NUM_SNPS.value,
            epochs=_EPOCHS.value, batch_size=_BATCH_SIZE.value, patience=6, snp2vec_epochs=10,
            seed=_SEED.value, verbose=2,
            run_folds=None if _FOLDS.value is None else [int(f) for f in _FOLDS.value])
        print(result)
        payload = {"data": result.data, "rows": result.rows, "table": result.table()}
    else:
        models = _MODELS.value or ["basic", "histogram"]
        points = [(m, int(s), _EPOCHS.value, _BATCH_SIZE.value, _SEED.value)
                  for s in _SNPS.value for m in models]
        rows = []
        context = multiprocessing.get_context("spawn")
        for point in points:
            with context.Pool(1) as pool:
                row = pool.map(_scaling_point, [point])[0]
            print(json.dumps(row), flush=True)
            rows.append(row)
        lines = ["| SNPs | model | error % (fold 0) | free parameters | s / epoch | peak RSS MiB |",
                 "|---|---|---|---|---|---|"]
        for r in rows:
            lines.append(f"| {r['snps']:,} | {r['model']} | {r['error']:.2f} | "
                         f"{r['parameters']:,} | {r['seconds_per_epoch']:.1f} | "
                         f"{r['peak_rss_mib']:.0f} |")
        print("\n".join(lines))
        payload = {"rows": rows, "table": "\n".join(lines)}
    if _OUT.value:
        os.makedirs(os.path.dirname(os.path.abspath(_OUT.value)), exist_ok=True)
        atomic.write_json(_OUT.value, payload)


if __name__ == "__main__":
    app.run(main)
