"""The README's Python example runs and does what it says."""

import os
import re

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _python_blocks():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        return re.findall(r"```python\n(.*?)```", f.read(), flags=re.S)


def test_readme_qat_example_exports_a_verified_int8_model(tmp_path, monkeypatch, capsys):
    blocks = _python_blocks()
    assert blocks, "README.md has no python example"
    monkeypatch.chdir(tmp_path)
    os.makedirs("export")
    namespace = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)
    printed = capsys.readouterr().out
    assert "int8" in printed
    assert os.path.isfile("export/demo.tflite")
    assert os.path.isfile("export/serving/demo/1/saved_model.pb")
    report = namespace["verify_tflite"]("export/demo.tflite", namespace["qat"], namespace["x"][448:])
    assert report.min_argmax_agreement >= 0.9
    assert report.tensor_dtypes.get("int8", 0) > 0
    assert all(np.isfinite(error) for error in report.max_abs_error.values())
