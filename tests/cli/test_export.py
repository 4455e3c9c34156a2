"""Tests for the tfmodels-export command line: as a subprocess like a user would, and in-process."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from absl import flags
from absl.testing import flagsaver

from tfmodels.export import export_tflite
from tfmodels.quantization import QuantDense, Uniform


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "tfmodels.cli.export", *args],
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
        capture_output=True,
        text=True,
        timeout=240,
    )


def _assert_one_error_line(status, stderr, match):
    assert status == 1, stderr[-2000:]
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and errors[0].startswith("tfmodels-export: error: "), stderr
    assert match in errors[0]


@pytest.fixture
def model_file(tmp_path):
    # A custom (tfmodels) layer, so loading relies on the CLI importing tfmodels.quantization.
    model = keras.Sequential(
        [keras.Input((6,), name="x"), QuantDense(3, kernel_quantizer=Uniform(), name="y")]
    )
    path = str(tmp_path / "clf.keras")
    model.save(path)
    return model, path


def test_tflite_int8_with_representative_data(tmp_path, model_file):
    model, path = model_file
    calibration = np.random.default_rng(0).normal(size=(8, 6)).astype("float32")
    np.save(tmp_path / "cal.npy", calibration)
    out = tmp_path / "clf.tflite"
    result = _cli(f"--model={path}", "--format=tflite", f"--output={out}", "--mode=int8",
                  f"--representative_data={tmp_path / 'cal.npy'}")
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"{out} (int8," in result.stdout
    assert "weights: int8" in result.stdout
    assert out.stat().st_size > 0


def test_saved_model_versions_and_warmup(tmp_path, model_file):
    model, path = model_file
    np.savez(tmp_path / "warm.npz", x=np.ones((2, 6), "float32"))
    first = _cli(f"--model={path}", "--format=saved_model", f"--output={tmp_path / 'serving'}",
                 f"--warmup_data={tmp_path / 'warm.npz'}", "--version=5")
    assert first.returncode == 0, first.stderr[-2000:]
    version_dir = tmp_path / "serving" / "clf" / "5"
    assert first.stdout.strip() == str(version_dir)
    assert (version_dir / "assets.extra" / "tf_serving_warmup_requests").is_file()
    served = tf.saved_model.load(str(version_dir)).signatures["serving_default"]
    x = np.random.default_rng(1).normal(size=(3, 6)).astype("float32")
    np.testing.assert_allclose(served(x=tf.constant(x))["y"], model(x), rtol=1e-5, atol=1e-5)

    again = _cli(f"--model={path}", "--format=saved_model", f"--output={tmp_path / 'serving'}",
                 "--version=5")
    _assert_one_error_line(again.returncode, again.stderr, f"refusing to overwrite: {version_dir}")


def test_bad_inputs_give_one_error_line(tmp_path, model_file, capsys):
    from tfmodels.cli import errors
    from tfmodels.cli.files import load_keras_model
    from tfmodels.export import export_saved_model

    _, path = model_file
    unbuilt = str(tmp_path / "unbuilt.keras")
    keras.Sequential([keras.layers.Dense(2)]).save(unbuilt)
    (tmp_path / "notes.txt").write_text("not a model")
    # In-process, the library calls behind `--model=... --format=saved_model` through the CLI's
    # error handler (the command line's own flags clash with tfmodels-train's here).
    cases = [
        (lambda: load_keras_model(str(tmp_path / "missing.keras")), "no such file"),
        (lambda: load_keras_model(str(tmp_path / "notes.txt")), "must be a .keras file"),
        (lambda: export_saved_model(load_keras_model(unbuilt), tmp_path / "s", "unbuilt"),
         "not built"),
    ]
    flags.FLAGS.mark_as_parsed()
    try:
        for call, match in cases:
            with flagsaver.flagsaver(traceback=False), pytest.raises(SystemExit) as info:
                errors.run_or_exit("tfmodels-export", call)
            _assert_one_error_line(info.value.code, capsys.readouterr().err, match)
    finally:
        flags.FLAGS.unparse_flags()
    assert not os.path.exists(tmp_path / "s" / "unbuilt" / "1")
    # The command line itself, in a fresh process as a user runs it (TensorFlow's logging
    # shares the stderr): a flag that does not apply to the format.
    result = _cli(f"--model={path}", "--format=saved_model", f"--output={tmp_path / 's'}",
                  "--mode=int8")
    _assert_one_error_line(result.returncode, result.stderr, "--mode does not apply")
    assert not os.path.exists(tmp_path / "s" / "clf")


def test_sample_text_from_a_char_lm_step_tflite(tmp_path):
    from tfmodels.data.text import CharVocabulary
    from tfmodels.export import rnn as rnn_export
    from tfmodels.models.rnn import char_lm

    vocab = CharVocabulary.build("ab\n")
    vocab.save(str(tmp_path / "vocab.json"))
    keras.utils.set_random_seed(0)
    model = char_lm(len(vocab), cell="gru", units=8, embedding_dim=4, seed=0)
    # Make "b" by far the likeliest next character whatever the state.
    dense = model.layers[-1]
    bias = np.full(dense.bias.shape, -20.0, "float32")
    bias[vocab.encode("b")[0]] = 20.0
    dense.bias.assign(bias)
    step = str(tmp_path / "step.tflite")
    rnn_export.export_step_tflite(model, step, "float32")
    result = _cli("--format=sample", f"--model={step}", f"--vocab={tmp_path / 'vocab.json'}",
                  "--seed_text=ab", "--length=12", "--temperature=0.5")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ab" + "b" * 12

    missing = _cli("--format=sample", f"--model={step}")
    _assert_one_error_line(missing.returncode, missing.stderr, "--vocab")
    wrong = _cli("--format=sample", f"--model={tmp_path / 'vocab.json'}", "--vocab=x")
    _assert_one_error_line(wrong.returncode, wrong.stderr, ".tflite")


@pytest.fixture(scope="module")
def family_files(tmp_path_factory):
    """One tiny saved `.keras` per model family: {family: (model, path)}."""
    from tfmodels.models.asr import AdversarialAcousticModel
    from tfmodels.models.rnn import char_lm
    from tfmodels.models.segmentation import FCDenseNet

    keras.utils.set_random_seed(0)
    folder = tmp_path_factory.mktemp("families")
    models = {
        "segmentation": FCDenseNet(
            3, growth_rate=2, layers_per_block=1, initial_filters=4, input_shape=(32, 32, 3),
            num_pools=2,
        ),
        # A fixed length, unrolled: the sequence model converts to builtin ops.
        "char_lm": char_lm(5, cell="lstm", units=4, embedding_dim=3, seq_len=6, unroll=True),
        "asr": AdversarialAcousticModel(
            7, num_domains=2, conv_filters=(4,), conv_strides=(2,), lstm_units=(4,),
            adversary_units=3, features={"num_mel_bins": 8},
        ),
    }
    files = {}
    for family, model in models.items():
        path = str(folder / f"{family}.keras")
        model.save(path)
        files[family] = (model, path)
    return files


def _family_inputs(family):
    rng = np.random.default_rng(0)
    if family == "segmentation":
        return rng.random((2, 32, 32, 3)).astype("float32")
    if family == "char_lm":
        return rng.integers(0, 5, (2, 6)).astype("int32")
    return {"waveform": (0.1 * rng.normal(size=(1, 1600))).astype("float32"),
            "waveform_length": np.array([1600], "int32")}


@pytest.mark.parametrize("family", ["segmentation", "char_lm", "asr"])
def test_each_family_loads_and_exports_in_process(family, family_files, tmp_path):
    # In-process, what `tfmodels-export --model=<family>.keras --format=tflite` calls (importing
    # the CLI module here would add its required flags to the test process's global FLAGS).
    from tfmodels.export import verify_tflite
    from tfmodels.cli.files import load_keras_model

    model, path = family_files[family]
    loaded = load_keras_model(path)
    assert type(loaded) is type(model)
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    x = _family_inputs(family)
    want, got = model.predict(x, verbose=0), loaded.predict(x, verbose=0)
    for key in want if isinstance(want, dict) else [None]:
        np.testing.assert_array_equal(got[key] if key else got, want[key] if key else want)
    out = tmp_path / f"{family}.tflite"
    report = export_tflite(loaded, str(out), mode="float32")
    assert out.stat().st_size == report.size_bytes > 0
    assert not [op for op in report.op_types if op.startswith("Flex")]
    verify = verify_tflite(str(out), loaded, x)
    assert max(verify.max_abs_error.values()) < 1e-4, verify.max_abs_error


def test_cli_imports_register_every_family_and_every_flag_has_help(family_files):
    # A fresh process that imports only the CLI module must find every family's classes. The
    # same process lists the CLI's own flags (in this process they would clash with
    # tfmodels-train's --model): each has a help text.
    paths = [family_files[family][1] for family in ("segmentation", "char_lm", "asr")]
    script = (
        "import json, sys, tfmodels.cli.export\n"
        "from absl import flags\n"
        "from tfmodels.cli.files import load_keras_model\n"
        "print(' '.join(type(load_keras_model(p)).__name__ for p in sys.argv[1:]))\n"
        "own = flags.FLAGS.get_flags_for_module('tfmodels.cli.export')\n"
        "print(json.dumps({flag.name: flag.help for flag in own}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, *paths],
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"), capture_output=True, text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    classes, helps = result.stdout.strip().splitlines()[-2:]
    assert classes.split() == ["FCDenseNet", "Functional", "AdversarialAcousticModel"]
    helps = json.loads(helps)
    assert {"model", "format", "output", "mode", "representative_data"} <= set(helps)
    for name, text in helps.items():
        assert len(" ".join(text.split())) > 20, name
