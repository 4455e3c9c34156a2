"""The results sweep: runs every configuration per seed and tabulates means."""

import json
import types

from tfmodels.tasks import rnn_experiment
from tfmodels.tasks.rnn_experiment import DIGITS_SETTINGS, results_table, run_sweep


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


def test_sweep_trains_every_configuration_and_writes_table_and_raw_runs(tmp_path, monkeypatch):
    # The trainers are tested in test_digits.py / test_char_lm.py; here they are stand-ins
    # whose result encodes their arguments, so the bookkeeping can be checked by hand.
    calls = []

    def fake_digits(**kwargs):
        calls.append(("digits", kwargs))
        return types.SimpleNamespace(test_accuracy=0.5 + 0.1 * kwargs["seed"]
                                     + (0.2 if kwargs["stochastic"] else 0.0))

    def fake_char_lm(**kwargs):
        calls.append(("char_lm", kwargs))
        return types.SimpleNamespace(test_bpc=2.0 + kwargs["seed"])

    monkeypatch.setattr(rnn_experiment, "train_digits", fake_digits)
    monkeypatch.setattr(rnn_experiment, "train_char_lm", fake_char_lm)
    out = tmp_path / "results.md"
    records = run_sweep(str(out), seeds=(0, 1), tasks=("char_lm", "digits"), cells=("rnn",),
                        variants=(("float", False), ("pow2_ternary", True)),
                        data_dir="corpus", digits_settings=dict(units=3, epochs=1),
                        log=lambda line: None)
    assert len(calls) == len(records) == 8
    task, kwargs = calls[-1]
    assert task == "digits"
    assert kwargs == dict(cell="rnn", quantizer="pow2_ternary", stochastic=True, seed=1,
                          units=3, epochs=1, batch_size=DIGITS_SETTINGS["batch_size"])
    assert all(k["data_dir"] == "corpus" for t, k in calls if t == "char_lm")
    assert {(r["task"], r["quantizer"], r["seed"]) for r in records} == {
        (t, q, s) for t in ("char_lm", "digits") for q in ("float", "pow2_ternary")
        for s in (0, 1)}
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    assert [json.loads(line)["value"] for line in lines] == [r["value"] for r in records]
    table = out.read_text()
    assert "| quantizer | RNN BPC | RNN acc % |" in table
    # digits: seeds 0, 1 give 0.5, 0.6 (float) and 0.7, 0.8 (stochastic); BPC 2.0, 3.0.
    assert "| float | 2.500 ± 0.500 (n=2) | 55.0 ± 5.0 (n=2) |" in table
    assert "| pow2_ternary (stochastic) | 2.500 ± 0.500 (n=2) | 75.0 ± 5.0 (n=2) |" in table
