"""Professor Forcing (arXiv:1610.09038) experiments: teacher forcing vs scheduled sampling vs
Professor Forcing (`tfmodels.tasks.professor_forcing_experiment`).

`--experiment=char`: a char-LM (LSTM) per method and seed on `--data_dir`, same size and steps:
held-out BPC, the discriminator's accuracy over training, a probe discriminator's accuracy on
the trained LM, statistics of long free-running samples. `--experiment=mnist`: pixel-by-pixel
binarized MNIST (`--size=14`: 2x2 means), test NLL in nats. `--experiment=figure`: PCA of
teacher-forced vs free-running hidden states of saved char-LMs. `--experiment=curves`: the
discriminator's accuracy over training of the Professor Forcing runs in `--out_dir` (folders,
comma-separated). Each run writes a JSON to
`--out_dir` (reruns skip finished runs) and the script prints a markdown table.

Usage:
    python benchmarks/professor_forcing.py --experiment=char [--seeds 0,1] [--steps 400]
        [--units 64] [--methods teacher,scheduled,professor] [--out_dir export/professor]
    python benchmarks/professor_forcing.py --experiment=mnist [--steps 300] [--size 14]
    python benchmarks/professor_forcing.py --experiment=figure
        --models export/professor/char__teacher__0.keras,export/professor/char__professor__0.keras
        --png docs/professor/hidden_pca.png
    python benchmarks/professor_forcing.py --experiment=curves --out_dir export/professor
        --png docs/professor/d_accuracy.png
"""

import argparse
import glob
import json
import os


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", choices=("char", "mnist", "figure", "curves"),
                        required=True)
    parser.add_argument("--data_dir", default="data/text")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--methods", default="teacher,scheduled,professor")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--units", type=int, default=64)
    parser.add_argument("--seq_len", type=int, default=64)
    parser.add_argument("--size", type=int, default=14, help="mnist: image side (28 or 14)")
    parser.add_argument("--out_dir", default="export/professor")
    parser.add_argument("--models", default=None, help="figure: comma-separated .keras files")
    parser.add_argument("--png", default="docs/professor/hidden_pca.png")
    args = parser.parse_args()

    import keras
    import numpy as np

    from tfmodels.tasks import professor_forcing_experiment as exp

    if args.experiment != "curves":
        os.makedirs(args.out_dir, exist_ok=True)
    seeds = [int(s) for s in args.seeds.split(",")]
    methods = args.methods.split(",")
    if args.experiment == "figure":
        from tfmodels.data import text as text_data

        corpus = text_data.load_char_corpus(args.data_dir)
        paths = args.models.split(",")
        models = {os.path.basename(p).split("__")[1]: keras.saving.load_model(p) for p in paths}
        n = 32 * args.seq_len
        ids = corpus.test[:n].reshape(32, args.seq_len).astype(np.int32)
        print(exp.hidden_state_figure(models, ids, args.png))
        return
    if args.experiment == "curves":
        # --out_dir may list several folders, comma-separated.
        rows = [json.load(open(p)) for d in args.out_dir.split(",") for p in sorted(
            glob.glob(os.path.join(d, "*__professor__*.json")))]
        print(exp.d_accuracy_figure(rows, args.png))
        for r in rows:
            print(r["method"], r.get("size", "char"), r["seed"], [
                f"{s}:{v:.2f}" for s, v in exp.windowed(r["history"], "d_accuracy")])
        return
    for seed in seeds:
        for method in methods:
            path = os.path.join(args.out_dir, f"{args.experiment}__{method}__{seed}.json")
            if os.path.exists(path):
                continue
            if args.experiment == "char":
                row = exp.char_run(args.data_dir, method, seed=seed, units=args.units,
                                   seq_len=args.seq_len, steps=args.steps, out_dir=args.out_dir)
            else:
                row = exp.mnist_run(method, seed=seed, size=args.size, units=args.units,
                                    steps=args.steps, out_dir=args.out_dir)
            exp.write_row(row, path)
            print(json.dumps({k: v for k, v in row.items() if k != "history"}), flush=True)
    rows = [json.load(open(p)) for p in sorted(glob.glob(
        os.path.join(args.out_dir, f"{args.experiment}__*.json")))]
    if args.experiment == "char":
        print(exp.char_table(rows))
    else:
        for r in rows:
            print(f"| {r['method']} | {r['seed']} | {r['size']}x{r['size']} | "
                  f"{r['test_nll']:.2f} | {r['train_seconds']:.0f} |")


if __name__ == "__main__":
    main()
