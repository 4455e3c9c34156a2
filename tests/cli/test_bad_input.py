"""Bad input through the three command lines (#9): each case ends with exit status 1, one
`<program>: error:` line naming the flag or file, no traceback, and nothing created.

The commands run in-process, one subprocess per command line for all its cases (their flags
share names, so absl refuses them in one process; a process per case would cost a TensorFlow
import each). Each case runs in an empty working folder with its outputs under `out/`; the
check is that neither gains a file. Every error here must come before any training or
generation, so the whole battery takes seconds.

Flag values absl itself rejects (an unknown enum value, a non-integer) end with absl's
`FATAL Flags parsing error:` line naming the flag: that is the flag-syntax path, checked for the
same properties.
"""

import json
import os
import subprocess
import sys
import zipfile

import pytest

# Runs in the subprocess: for each argv, the command's `main` through `app.run` as its console
# script does; stderr is captured per case.
_RUNNER = r"""
import contextlib, io, json, os, signal, sys, traceback
from absl import app, flags
class _Slow(BaseException):
    pass
def _alarm(*_):
    raise _Slow()
signal.signal(signal.SIGALRM, _alarm)
import importlib
module = importlib.import_module(sys.argv[1])
cases = json.loads(sys.stdin.read())
results = {}
for name, argv, cwd in cases:
    flags.FLAGS.unparse_flags()
    err = io.StringIO()
    os.chdir(cwd)
    code = 0
    with contextlib.redirect_stderr(err):
        # A case still running after 30 s has started work before checking its input.
        signal.alarm(30)
        try:
            app.run(module.main, argv=[sys.argv[2], *argv])
        except SystemExit as exit_:
            code = exit_.code
        except _Slow:
            code = "still running after 30 s"
        except BaseException:
            code = "raised"
            traceback.print_exc()
        signal.alarm(0)
    results[name] = {"code": code, "stderr": err.getvalue()}
print("RESULTS" + json.dumps(results))
"""

_MODULES = {"tfmodels-train": "tfmodels.cli.train", "tfmodels-export": "tfmodels.cli.export",
            "tfmodels-data": "tfmodels.cli.data"}


def _inputs(root):
    """Bad input files under `root`; returns their paths by name."""
    os.makedirs(root, exist_ok=True)
    paths = {name: os.path.join(root, name) for name in (
        "notes.txt", "folder", "empty_dir", "broken.keras", "zip.keras", "model.h5",
        "data.txt", "data.npy", "empty_file", "wrong_layout")}
    with open(paths["notes.txt"], "w") as f:
        f.write("not a model\n")
    os.makedirs(paths["folder"], exist_ok=True)
    with open(os.path.join(paths["folder"], "keep.txt"), "w") as f:
        f.write("an existing dataset folder's file\n")
    os.makedirs(paths["empty_dir"], exist_ok=True)
    with open(paths["broken.keras"], "wb") as f:
        f.write(b"PK\x03\x04 this is not a zip archive")
    with zipfile.ZipFile(paths["zip.keras"], "w") as z:
        z.writestr("readme.txt", "a zip without a Keras model")
    with open(paths["model.h5"], "wb") as f:
        f.write(b"\x89HDF\r\n")
    with open(paths["data.txt"], "w") as f:
        f.write("1 2 3\n")
    with open(paths["empty_file"], "w"):
        pass
    os.makedirs(os.path.join(paths["wrong_layout"], "images"), exist_ok=True)
    with open(os.path.join(paths["wrong_layout"], "images", "a.png"), "wb") as f:
        f.write(b"not a png")
    return paths


# (id, command, argv with {name} for input paths and {out} for the case's output folder,
#  text the error line must contain)
CASES = [
    # tfmodels-train: values, files, folders.
    ("train-epochs-zero", "tfmodels-train", ["--task=char_lm", "--epochs=0", "--export_dir={out}"],
     "--epochs"),
    ("train-epochs-negative", "tfmodels-train",
     ["--task=digits", "--epochs=-2", "--export_dir={out}"], "--epochs"),
    ("train-batch-zero", "tfmodels-train",
     ["--task=segmentation", "--batch_size=0", "--export_dir={out}"], "--batch_size"),
    ("train-seed-negative", "tfmodels-train",
     ["--task=char_lm", "--seed=-1", "--export_dir={out}"], "--seed"),
    ("train-units-zero", "tfmodels-train",
     ["--task=char_lm", "--units=0", "--export_dir={out}"], "--units"),
    ("train-data-dir-missing", "tfmodels-train",
     ["--task=segmentation", "--data_dir={missing}", "--export_dir={out}"], "{missing}"),
    ("train-data-dir-is-file", "tfmodels-train",
     ["--task=segmentation", "--data_dir={notes.txt}", "--export_dir={out}"], "not a folder"),
    ("train-data-dir-empty", "tfmodels-train",
     ["--task=segmentation", "--data_dir={empty_dir}", "--export_dir={out}"], "{empty_dir}"),
    ("train-data-dir-wrong-layout", "tfmodels-train",
     ["--task=segmentation", "--data_dir={wrong_layout}", "--export_dir={out}"],
     "{wrong_layout}"),
    ("train-asr-data-dir-wrong-layout", "tfmodels-train",
     ["--task=asr", "--data_dir={wrong_layout}", "--export_dir={out}"], "{wrong_layout}"),
    ("train-asr-data-dir-is-file", "tfmodels-train",
     ["--task=asr", "--data_dir={notes.txt}", "--export_dir={out}"], "is not a folder"),
    ("train-char-lm-data-dir-empty", "tfmodels-train",
     ["--task=char_lm", "--data_dir={empty_dir}", "--export_dir={out}"], "{empty_dir}"),
    ("train-diet-data-dir-empty", "tfmodels-train",
     ["--task=diet", "--data_dir={empty_dir}", "--export_dir={out}"], "{empty_dir}"),
    ("train-export-dir-under-a-file", "tfmodels-train",
     ["--task=char_lm", "--epochs=1", "--export_dir={notes.txt}/out"], "{notes.txt}"),
    ("train-export-dir-is-file", "tfmodels-train",
     ["--task=digits", "--export_dir={notes.txt}"], "{notes.txt}"),
    ("train-coordinate-image-missing", "tfmodels-train",
     ["--task=coordinate", "--image={missing}.png", "--export_dir={out}"], "{missing}.png"),
    ("train-coordinate-image-not-an-image", "tfmodels-train",
     ["--task=coordinate", "--image={notes.txt}", "--export_dir={out}"], "{notes.txt}"),
    ("train-coordinate-depth-zero", "tfmodels-train",
     ["--task=coordinate", "--coord_depth=0", "--export_dir={out}"], "--coord_depth"),
    ("train-ppgn-steps-negative", "tfmodels-train",
     ["--task=ppgn", "--ppgn_steps=-1", "--export_dir={out}"], "--ppgn_steps"),
    ("train-diet-bad-models", "tfmodels-train",
     ["--task=diet", "--diet_models=nope", "--export_dir={out}"], "--diet_models"),
    ("train-diet-folds-zero", "tfmodels-train",
     ["--task=diet", "--diet_folds=0", "--export_dir={out}"], "--diet_folds"),
    ("train-asr-lstm-units-zero", "tfmodels-train",
     ["--task=asr", "--lstm_units=0", "--export_dir={out}"], "--lstm_units"),
    ("train-unknown-task", "tfmodels-train", ["--task=nope", "--export_dir={out}"], "--task"),
    ("train-no-task", "tfmodels-train", ["--export_dir={out}"], "--task"),
    ("train-epochs-not-an-int", "tfmodels-train",
     ["--task=char_lm", "--epochs=two", "--export_dir={out}"], "--epochs"),
    ("train-extra-argument", "tfmodels-train",
     ["--task=char_lm", "--export_dir={out}", "extra"], "USAGE"),
    # tfmodels-export: the model file, the format's flags, the output.
    ("export-model-missing", "tfmodels-export",
     ["--model={missing}.keras", "--format=tflite", "--output={out}/m.tflite"], "{missing}"),
    ("export-model-not-keras", "tfmodels-export",
     ["--model={notes.txt}", "--format=tflite", "--output={out}/m.tflite"], ".keras"),
    ("export-model-is-folder", "tfmodels-export",
     ["--model={folder}", "--format=tflite", "--output={out}/m.tflite"], "{folder}"),
    ("export-model-broken-archive", "tfmodels-export",
     ["--model={broken.keras}", "--format=tflite", "--output={out}/m.tflite"],
     "{broken.keras}"),
    ("export-model-zip-without-model", "tfmodels-export",
     ["--model={zip.keras}", "--format=saved_model", "--output={out}"], "{zip.keras}"),
    ("export-model-h5", "tfmodels-export",
     ["--model={model.h5}", "--format=tflite", "--output={out}/m.tflite"], ".keras"),
    ("export-no-model", "tfmodels-export", ["--format=tflite", "--output={out}/m.tflite"],
     "--model"),
    ("export-unknown-format", "tfmodels-export",
     ["--model={good.keras}", "--format=onnx", "--output={out}/m"], "--format"),
    ("export-unknown-mode", "tfmodels-export",
     ["--model={good.keras}", "--format=tflite", "--mode=int4", "--output={out}/m.tflite"],
     "--mode"),
    ("export-mode-for-saved-model", "tfmodels-export",
     ["--model={good.keras}", "--format=saved_model", "--mode=int8", "--output={out}"],
     "--mode"),
    ("export-output-wrong-extension", "tfmodels-export",
     ["--model={good.keras}", "--format=tflite", "--output={out}/m.keras"], ".tflite"),
    ("export-output-under-a-file", "tfmodels-export",
     ["--model={good.keras}", "--format=tflite", "--output={notes.txt}/m.tflite"],
     "{notes.txt}"),
    ("export-representative-missing", "tfmodels-export",
     ["--model={good.keras}", "--format=tflite", "--mode=int8", "--output={out}/m.tflite",
      "--representative_data={missing}.npy"], "{missing}.npy"),
    ("export-representative-text", "tfmodels-export",
     ["--model={good.keras}", "--format=tflite", "--mode=int8", "--output={out}/m.tflite",
      "--representative_data={data.txt}"], "{data.txt}"),
    ("export-representative-empty-npy", "tfmodels-export",
     ["--model={good.keras}", "--format=tflite", "--mode=int8", "--output={out}/m.tflite",
      "--representative_data={empty_file}"], "{empty_file}"),
    ("export-version-zero", "tfmodels-export",
     ["--model={good.keras}", "--format=saved_model", "--version=0", "--output={out}"],
     "--version"),
    ("export-sample-without-vocab", "tfmodels-export",
     ["--model={missing}.tflite", "--format=sample"], "{missing}.tflite"),
    # tfmodels-data: datasets, sizes, folders.
    ("data-unknown-dataset", "tfmodels-data", ["--dataset=nope", "--out_dir={out}"],
     "--dataset"),
    ("data-no-dataset", "tfmodels-data", ["--out_dir={out}"], "--dataset"),
    ("data-num-train-zero", "tfmodels-data",
     ["--dataset=scenes", "--num_train=0", "--out_dir={out}"], "--num_train"),
    ("data-num-test-negative", "tfmodels-data",
     ["--dataset=speech", "--num_test=-3", "--out_dir={out}"], "--num_test"),
    ("data-height-zero", "tfmodels-data",
     ["--dataset=scenes", "--height=0", "--out_dir={out}"], "--height"),
    ("data-seed-negative", "tfmodels-data",
     ["--dataset=scenes", "--seed=-1", "--out_dir={out}"], "--seed"),
    ("data-out-dir-is-file", "tfmodels-data",
     ["--dataset=scenes", "--out_dir={notes.txt}"], "{notes.txt}"),
    ("data-out-dir-exists", "tfmodels-data",
     ["--dataset=scenes", "--out_dir={folder}"], "--overwrite"),
    ("data-out-dir-under-a-file", "tfmodels-data",
     ["--dataset=scenes", "--out_dir={notes.txt}/scenes"], "{notes.txt}"),
    ("data-unknown-noise-type", "tfmodels-data",
     ["--dataset=noisy_copy", "--source={folder}", "--seen_noise_types=nope",
      "--out_dir={out}"], "{folder}"),
    ("data-source-missing", "tfmodels-data",
     ["--dataset=noisy_copy", "--source={missing}", "--out_dir={out}"], "{missing}"),
    ("data-extra-argument", "tfmodels-data", ["--dataset=scenes", "--out_dir={out}", "extra"],
     "USAGE"),
    ("data-noisy-copy-without-source", "tfmodels-data",
     ["--dataset=noisy_copy", "--out_dir={out}"], "--source"),
]


def _fill(text, paths, out):
    text = text.replace("{out}", out)
    for name, path in paths.items():
        text = text.replace("{" + name + "}", path)
    return text


@pytest.fixture(scope="module")
def battery(tmp_path_factory):
    import keras

    root = tmp_path_factory.mktemp("bad_input")
    paths = _inputs(str(root / "inputs"))
    paths["missing"] = str(root / "inputs" / "missing")
    good = str(root / "inputs" / "good.keras")
    keras.Sequential([keras.Input((3,), name="x"), keras.layers.Dense(2, name="y")]).save(good)
    paths["good.keras"] = good
    before = {name: sorted(os.listdir(path)) for name, path in paths.items()
              if os.path.isdir(path)}
    results, cases = {}, {}
    for program, module in _MODULES.items():
        batch = []
        for name, prog, argv, match in CASES:
            if prog != program:
                continue
            case_root = root / name
            (case_root / "cwd").mkdir(parents=True)
            out = str(case_root / "out")
            batch.append([name, [_fill(a, paths, out) for a in argv], str(case_root / "cwd")])
            cases[name] = (case_root, _fill(match, paths, out))
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}
        done = subprocess.run([sys.executable, "-c", _RUNNER, module, program],
                              input=json.dumps(batch), capture_output=True, text=True, env=env,
                              timeout=600)
        line = [x for x in done.stdout.splitlines() if x.startswith("RESULTS")]
        assert line, done.stderr[-3000:]
        results.update(json.loads(line[-1][len("RESULTS"):]))
    after = {name: sorted(os.listdir(path)) for name, path in paths.items()
             if os.path.isdir(path)}
    return results, cases, before, after


@pytest.mark.parametrize("name", [case[0] for case in CASES])
def test_one_error_line_and_nothing_created(battery, name):
    results, cases, _, _ = battery
    case_root, match = cases[name]
    program = next(prog for n, prog, _, _ in CASES if n == name)
    result = results[name]
    stderr = result["stderr"]
    assert result["code"] == 1, f"exit status {result['code']}: {stderr[-1500:]}"
    assert "Traceback" not in stderr, stderr[-1500:]
    if match == "USAGE":
        # A stray positional argument: absl's usage error (the banner, then the message).
        assert "Unexpected arguments: extra" in stderr, stderr[-1500:]
    else:
        errors = [line for line in stderr.splitlines()
                  if line.startswith(f"{program}: error: ") or line.startswith("FATAL Flags")]
        assert len(errors) == 1, stderr[-1500:]
        assert match in errors[0], errors[0]
    assert not os.path.exists(case_root / "out"), sorted(os.listdir(case_root / "out"))
    assert os.listdir(case_root / "cwd") == [], sorted(os.listdir(case_root / "cwd"))


def test_input_files_are_left_as_they_were(battery):
    _, _, before, after = battery
    assert before == after
