"""The results sweep: runs every configuration per seed and tabulates means."""

import json

from tfmodels.tasks.rnn_experiment import results_table, run_sweep


def test_results_table_means_and_spread():
    records = [
        dict(task="digits", cell="gru", quantizer="float", stochastic=False, seed=0, value=0.9),
        dict(task="digits", cell="gru", quantizer="float", stochastic=False, seed=1, value=0.8),
        dict(task="char_lm", cell="lstm", quantizer="ternary", stochastic=True, seed=0,
             value=2.5),
    ]
    table = results_table(records)
    assert "| quantizer | LSTM BPC | GRU acc % |" in table
    assert "| float |  | 85.0 ± 5.0 (n=2) |" in table
    assert "| ternary (stochastic) | 2.500 ± 0.000 (n=1) |  |" in table


def test_sweep_writes_table_and_raw_runs(tmp_path):
    out = tmp_path / "results.md"
    records = run_sweep(str(out), seeds=(0, 1), tasks=("digits",), cells=("rnn",),
                        variants=(("float", False), ("pow2_ternary", True)),
                        digits_settings=dict(units=3, epochs=1), log=lambda line: None)
    assert len(records) == 4
    assert {(r["quantizer"], r["seed"]) for r in records} == {
        ("float", 0), ("float", 1), ("pow2_ternary", 0), ("pow2_ternary", 1)}
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    assert [json.loads(line)["value"] for line in lines] == [r["value"] for r in records]
    assert "pow2_ternary (stochastic)" in out.read_text()
