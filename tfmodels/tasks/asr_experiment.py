"""The Serdyuk et al. comparison: adversarial vs multi-condition training, 1/2/4 seen noises.

Runs `train_asr` for both systems, each seen-noise set and each seed, and writes a markdown
table of mean +- std WER on clean / seen / unseen tests and the noise-probe accuracy.

Example (about 20 minutes per run on a busy 2-core CPU at the defaults):
    python -m tfmodels.tasks.asr_experiment --data_dir=data/speech --seeds=0,1,2 \\
        --out=export/asr/EXPERIMENT.md
"""

import dataclasses
import json
import os
import sys

import numpy as np

SEEN_SETS = (("babble",), ("babble", "white"), ("babble", "white", "engine", "street"))


def run_experiment(base_config, seeds=(0, 1, 2), seen_sets=SEEN_SETS, out=None, log=print):
    """Trains every (system, seen set, seed) and returns `{(adversarial, seen): [ASRResult]}`.

    The table is rewritten (atomically) to `out` after every run, so a long experiment can be
    read while it runs.
    """
    from tfmodels.tasks import asr

    results = {}
    for seen in seen_sets:
        for seed in seeds:
            for adversarial in (False, True):
                config = dataclasses.replace(base_config, seen_noises=tuple(seen), seed=seed,
                                             adversarial=adversarial)
                result = asr.train_asr(config)
                result.model = None
                results.setdefault((adversarial, tuple(seen)), []).append(result)
                log(asr.format_result(result))
                if out:
                    _write(out, markdown_table(results))
    return results


def markdown_table(results):
    """Mean +- std over seeds of WER (clean / seen / unseen) and probe accuracy."""
    lines = [
        "| seen noises | system | seeds | WER clean | WER seen | WER unseen | noise probe acc (chance) |",
        "|---|---|---|---|---|---|---|",
    ]

    def cell(values):
        values = np.asarray(values, dtype=float)
        return f"{values.mean():.3f} ± {values.std(ddof=1) if len(values) > 1 else 0.0:.3f}"

    for (adversarial, seen), runs in sorted(results.items(), key=lambda kv: (len(kv[0][1]), kv[0][0])):
        wer = {s: [r.wer[s]["all"] for r in runs] for s in ("clean", "seen", "unseen")}
        chance = np.mean([r.probe_chance for r in runs])
        lines.append(
            f"| {','.join(seen)} | {'adversarial' if adversarial else 'baseline'} | {len(runs)} | "
            f"{cell(wer['clean'])} | {cell(wer['seen'])} | {cell(wer['unseen'])} | "
            f"{cell([r.probe_accuracy for r in runs])} ({chance:.2f}) |"
        )
    return "\n".join(lines) + "\n"


def _write(path, text):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    temp = f"{path}.tmp"
    with open(temp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(temp, path)


def main(argv=None):
    import argparse

    from tfmodels.tasks import asr

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", default="data/speech")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=asr.ASRConfig().epochs)
    parser.add_argument("--lstm_units", default="96,96")
    parser.add_argument("--out", default="export/asr/EXPERIMENT.md")
    args = parser.parse_args(argv)
    config = asr.ASRConfig(data_dir=args.data_dir, epochs=args.epochs,
                           lstm_units=tuple(int(u) for u in args.lstm_units.split(",")))
    results = run_experiment(config, [int(s) for s in args.seeds.split(",")], out=args.out)
    print(markdown_table(results))
    with open(args.out.replace(".md", ".json"), "w", encoding="utf-8") as f:
        json.dump({f"{'adv' if a else 'base'}:{','.join(s)}": [r.wer for r in runs]
                   for (a, s), runs in results.items()}, f, indent=2)


if __name__ == "__main__":
    main(sys.argv[1:])
