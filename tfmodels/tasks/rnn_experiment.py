"""The results sweep of Ott et al. (arXiv:1608.06902): quantizer x cell x task, mean over seeds.

Trains every combination of cell ("rnn", "gru", "lstm"), quantizer (float, binary, ternary,
pow2-ternary, exponential; deterministic and stochastic) and task (char_lm: bits per character
on the test split; digits: test accuracy) for each seed, and writes a markdown table of the
means (with the spread over seeds). The table is rewritten after every run, atomically, so a
long sweep can be watched and an interrupted one keeps what it measured; `<out>.jsonl` holds
one line per run.

Usage:
    python -m tfmodels.tasks.rnn_experiment --out=export/rnn_results.md --seeds=0,1
    python -m tfmodels.tasks.rnn_experiment --tasks=char_lm --char_lm_steps=800 --seeds=0,1
"""

import json
import os
import statistics
import time

from tfmodels.tasks.char_lm import train_char_lm
from tfmodels.tasks.digits import train_digits
from tfmodels.utils import atomic

CELLS = ("rnn", "gru", "lstm")
VARIANTS = (
    ("float", False),
    ("binary", False),
    ("binary", True),
    ("ternary", False),
    ("ternary", True),
    ("pow2_ternary", False),
    ("pow2_ternary", True),
    ("exponential", False),
    ("exponential", True),
)
# Small enough for a shared 2-core CPU: a few seconds to a minute per run.
CHAR_LM_SETTINGS = dict(units=64, embedding_dim=16, seq_len=32, batch_size=32, epochs=1,
                        steps_per_epoch=300, eval_chars=10000)
DIGITS_SETTINGS = dict(units=32, epochs=10, batch_size=32)


def variant_name(quantizer, stochastic):
    return f"{quantizer} ({'stochastic' if stochastic else 'deterministic'})" if (
        quantizer != "float") else "float"


def run_sweep(out, seeds=(0, 1), tasks=("char_lm", "digits"), cells=CELLS, variants=VARIANTS,
              data_dir=None, char_lm_settings=None, digits_settings=None, log=print):
    """Runs the sweep and writes the markdown table to `out` (and raw runs to `out + "l"`...).

    Args:
        out: the markdown file (rewritten atomically after each run); raw results go to
            `<out without .md>.jsonl`.
        seeds: seeds per configuration (the table shows their mean).
        tasks: "char_lm" and/or "digits".
        cells: RNN cells.
        variants: `(quantizer, stochastic)` pairs.
        data_dir: char-LM corpus (None: the embedded corpus).
        char_lm_settings, digits_settings: override the task settings (model size, steps).
        log: called with a line per finished run.

    Returns:
        The list of run records (`dict`s).
    """
    char_lm_settings = {**CHAR_LM_SETTINGS, **(char_lm_settings or {})}
    digits_settings = {**DIGITS_SETTINGS, **(digits_settings or {})}
    records = []
    raw_path = os.path.splitext(out)[0] + ".jsonl"
    for task in tasks:
        for cell in cells:
            for quantizer, stochastic in variants:
                for seed in seeds:
                    start = time.time()
                    if task == "char_lm":
                        r = train_char_lm(data_dir=data_dir, cell=cell, quantizer=quantizer,
                                          stochastic=stochastic, seed=seed, **char_lm_settings)
                        value = r.test_bpc
                    else:
                        r = train_digits(cell=cell, quantizer=quantizer, stochastic=stochastic,
                                         seed=seed, **digits_settings)
                        value = r.test_accuracy
                    record = dict(task=task, cell=cell, quantizer=quantizer,
                                  stochastic=stochastic, seed=seed, value=value,
                                  seconds=round(time.time() - start, 1))
                    records.append(record)
                    with open(raw_path, "a") as f:
                        f.write(json.dumps(record) + "\n")
                    _atomic_write(out, results_table(records, char_lm_settings, digits_settings))
                    log(json.dumps(record))
    return records


def results_table(records, char_lm_settings=None, digits_settings=None):
    """Markdown: one row per quantizer variant, one column per task and cell (mean ± spread)."""
    groups = {}
    for r in records:
        groups.setdefault((r["task"], r["cell"], r["quantizer"], r["stochastic"]), []).append(
            r["value"])
    columns = [(t, c) for t in ("char_lm", "digits") for c in CELLS
               if any(k[0] == t and k[1] == c for k in groups)]
    rows = [v for v in VARIANTS if any(k[2:] == v for k in groups)]
    header = ["quantizer"] + [
        f"{c.upper() if c != 'rnn' else 'RNN'} {'BPC' if t == 'char_lm' else 'acc %'}"
        for t, c in columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for quantizer, stochastic in rows:
        cells = [variant_name(quantizer, stochastic)]
        for task, cell in columns:
            values = groups.get((task, cell, quantizer, stochastic))
            if not values:
                cells.append("")
                continue
            scale = 100.0 if task == "digits" else 1.0
            mean = statistics.fmean(values) * scale
            spread = (max(values) - min(values)) * scale / 2
            digits = 1 if task == "digits" else 3
            cells.append(f"{mean:.{digits}f} ± {spread:.{digits}f} (n={len(values)})")
        lines.append("| " + " | ".join(cells) + " |")
    notes = []
    if char_lm_settings:
        notes.append(f"char_lm: test BPC (lower is better), settings {char_lm_settings}")
    if digits_settings:
        notes.append(f"digits: test accuracy in % (higher is better), settings {digits_settings}")
    notes.append("± is half the range over seeds")
    return "\n".join(lines) + "\n\n" + "\n".join(f"- {n}" for n in notes) + "\n"


def _atomic_write(path, text):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    atomic.write_text(path, text)


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join("export", "rnn_results.md"))
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--tasks", default="char_lm,digits")
    parser.add_argument("--cells", default=",".join(CELLS))
    parser.add_argument("--data_dir", default=None)
    parser.add_argument("--char_lm_steps", type=int, default=CHAR_LM_SETTINGS["steps_per_epoch"],
                        help="char-LM training steps (batch 32) per run")
    args = parser.parse_args(argv)
    run_sweep(args.out, seeds=[int(s) for s in args.seeds.split(",")],
              tasks=args.tasks.split(","), cells=args.cells.split(","), data_dir=args.data_dir,
              char_lm_settings=dict(CHAR_LM_SETTINGS, steps_per_epoch=args.char_lm_steps))


if __name__ == "__main__":
    main()
