"""The Serdyuk et al. comparison: adversarial vs multi-condition training, 1/2/4 seen noises.

Runs `train_asr` for both systems, each seen-noise set and each seed, and writes a markdown
table of mean +- std WER on clean / seen / unseen tests and the noise-probe accuracy. Every
finished run is saved as `<runs_dir>/<system>_<noises>_seed<n>.json`; runs already there are
not trained again, and the table is built from all of them, so several processes with
disjoint `--seeds` can share one `runs_dir`, and an interrupted experiment resumes.

Example (about 3 minutes per run on a busy 2-core CPU at the defaults):
    python -m tfmodels.tasks.asr_experiment --data_dir=data/speech --seeds=0,1,2 \\
        --out=export/asr/EXPERIMENT.md
"""

import dataclasses
import json
import os
import shlex
import sys
from pathlib import Path

import numpy as np

from tfmodels.utils import atomic

SEEN_SETS = (("babble",), ("babble", "white"), ("babble", "white", "engine", "street"))


def run_name(adversarial, seen, seed):
    """File stem of one run's summary: `adversarial_babble-white_seed0`."""
    return f"{'adversarial' if adversarial else 'baseline'}_{'-'.join(seen)}_seed{seed}"


def run_experiment(base_config, seeds=(0, 1, 2), seen_sets=SEEN_SETS, out=None, runs_dir=None,
                   header="", log=print):
    """Trains every (seed, seen set, system) missing from `runs_dir`; returns the results.

    Seeds are the outer loop, so a partial experiment covers every configuration with the
    first seeds. After each run the table of everything in `runs_dir` is rewritten
    (atomically) to `out`, preceded by `header`.

    Returns:
        `{(adversarial, seen): [ASRResult]}` for all runs in `runs_dir` (or just this call's
        runs without one); the results carry no model.
    """
    from tfmodels.tasks import asr

    results = {}
    for seed in seeds:
        for seen in seen_sets:
            for adversarial in (False, True):
                seen = tuple(seen)
                path = Path(runs_dir) / f"{run_name(adversarial, seen, seed)}.json" \
                    if runs_dir else None
                if path is not None and path.is_file():
                    continue
                config = dataclasses.replace(base_config, seen_noises=seen, seed=seed,
                                             adversarial=adversarial)
                result = asr.train_asr(config)
                result.model = None
                results.setdefault((adversarial, seen), []).append(result)
                log(asr.format_result(result))
                if path is not None:
                    payload = {k: v for k, v in dataclasses.asdict(result).items()
                               if k != "model"}
                    _write(path, json.dumps(payload, indent=2))
                if out:
                    table = markdown_table(load_results(runs_dir) if runs_dir else results)
                    _write(out, header + table)
    return load_results(runs_dir) if runs_dir else results


def load_results(runs_dir):
    """`{(adversarial, seen): [ASRResult]}` from the run summaries in `runs_dir`, by seed."""
    from tfmodels.tasks import asr

    results = {}
    for path in sorted(Path(runs_dir).glob("*.json")):
        with open(path, encoding="utf-8") as f:
            payload = json.load(f)
        result = asr.ASRResult(**payload)
        key = (bool(result.config["adversarial"]), tuple(result.config["seen_noises"]))
        results.setdefault(key, []).append(result)
    for runs in results.values():
        runs.sort(key=lambda r: r.config["seed"])
    return results


def markdown_table(results):
    """Mean +- std over seeds of WER (clean / seen / unseen), probe accuracy and train time."""
    lines = [
        "| seen noises | system | seeds | WER clean | WER seen | WER unseen "
        "| noise probe acc (chance) | train s |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def cell(values):
        # A run whose dev set could not support the noise probe has None there.
        values = np.asarray([v for v in values if v is not None], dtype=float)
        if not len(values):
            return "n/a"
        return f"{values.mean():.3f} ± {values.std(ddof=1) if len(values) > 1 else 0.0:.3f}"

    for (adversarial, seen), runs in sorted(results.items(),
                                            key=lambda kv: (len(kv[0][1]), kv[0][0])):
        wer = {s: [r.wer[s]["all"] for r in runs] for s in ("clean", "seen", "unseen")}
        chances = [r.probe_chance for r in runs if r.probe_chance is not None]
        chance = np.mean(chances) if chances else float("nan")
        seconds = np.mean([r.train_seconds for r in runs])
        lines.append(
            f"| {','.join(seen)} | {'adversarial' if adversarial else 'baseline'} | "
            f"{len(runs)} | {cell(wer['clean'])} | {cell(wer['seen'])} | "
            f"{cell(wer['unseen'])} | {cell([r.probe_accuracy for r in runs])} "
            f"({chance:.2f}) | {seconds:.0f} |"
        )
    return "\n".join(lines) + "\n"


def _write(path, text):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    atomic.write_text(path, text)


def main(argv=None):
    import argparse

    from tfmodels.tasks import asr

    defaults = asr.ASRConfig()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data_dir", default="data/speech")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--learning_rate", type=float, default=defaults.learning_rate)
    parser.add_argument("--reversal_scale", type=float, default=defaults.reversal_scale)
    parser.add_argument("--lstm_units", default=",".join(map(str, defaults.lstm_units)))
    parser.add_argument("--out", default="export/asr/EXPERIMENT.md")
    parser.add_argument("--runs_dir", default=None,
                        help="per-run summaries; default: a runs/ folder beside --out")
    args = parser.parse_args(argv)
    config = asr.ASRConfig(data_dir=args.data_dir, epochs=args.epochs,
                           learning_rate=args.learning_rate,
                           reversal_scale=args.reversal_scale,
                           lstm_units=tuple(int(u) for u in args.lstm_units.split(",")))
    runs_dir = args.runs_dir or os.path.join(os.path.dirname(os.path.abspath(args.out)), "runs")
    command = "python -m tfmodels.tasks.asr_experiment " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    header = (f"# ASR experiment (arXiv:1612.01928)\n\nCommand: `{command}`\n\n"
              f"Runs: `{runs_dir}`\n\n")
    results = run_experiment(config, [int(s) for s in args.seeds.split(",")],
                             out=args.out, runs_dir=runs_dir, header=header)
    print(markdown_table(results))


if __name__ == "__main__":
    main(sys.argv[1:])
