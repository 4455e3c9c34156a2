"""Checks that the Bazel BUILD names every module and test file on disk, and nothing else.

Reads BUILD by executing it with stand-ins for the Bazel rules (it is plain Starlark, which is
Python here), so it needs no Bazel. Under `bazel test` it still inspects the checkout itself,
found through the runfiles symlink of this file, not the runfiles tree (which holds only the
files BUILD already names).
"""

import importlib.util
import os
import re
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
RUNNER = "//tools/bazel:pytest_runner.py"


def _load_tool(name):
    path = os.path.join(ROOT, "tools", "bazel", f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"_bazel_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


update_build = _load_tool("update_build")
pytest_runner = _load_tool("pytest_runner")


def parse_build(text):
    """Returns {target name: (rule kind, attributes)} for the rules in a BUILD file's text."""
    targets = {}

    def rule(kind):
        def record(name, **attrs):
            if name in targets:
                raise AssertionError(f"BUILD defines {name!r} twice")
            targets[name] = (kind, attrs)

        return record

    def refuse_glob(*args, **kwargs):
        raise AssertionError("BUILD lists files explicitly; glob() hides what a target contains")

    namespace = {
        "package": lambda **kwargs: None,
        "py_library": rule("py_library"),
        "py_test": rule("py_test"),
        "py_binary": rule("py_binary"),
        "glob": refuse_glob,
    }
    exec(compile(text, "BUILD", "exec"), namespace)
    return targets


def _files(top, predicate):
    return {p for p in update_build.list_files(ROOT, top) if predicate(p)}


@pytest.fixture(scope="module")
def targets():
    with open(os.path.join(ROOT, "BUILD"), encoding="utf-8") as f:
        return parse_build(f.read())


def _named_files(targets, kinds, attrs=("srcs", "data", "main")):
    named = set()
    for kind, rule_attrs in targets.values():
        if kind in kinds:
            for attr in attrs:
                value = rule_attrs.get(attr, [])
                named.update([value] if isinstance(value, str) else value)
    return named


def test_every_library_module_is_in_the_library(targets):
    modules = _files("tfmodels", lambda p: p.endswith(".py"))
    kind, attrs = targets["tfmodels"]
    assert kind == "py_library"
    assert modules, "found no tfmodels/**/*.py: is ROOT the checkout?"
    assert sorted(modules - set(attrs["srcs"])) == []


def test_every_test_file_has_its_own_py_test(targets):
    test_files = _files("tests", update_build.is_test_file)
    assert "tests/test_build.py" in test_files
    by_file = {}
    for name, (kind, attrs) in targets.items():
        if kind == "py_test":
            own = [s for s in attrs["srcs"] if s != RUNNER]
            assert len(own) == 1, f"{name}: one test file per py_test, got {own}"
            assert attrs["main"] == RUNNER and attrs["args"] == own, name
            assert ":test_support" in attrs["deps"], name
            by_file[own[0]] = name
    assert sorted(test_files - set(by_file)) == []
    assert by_file["tests/test_build.py"] == "test_build"


def test_test_helpers_are_in_test_support(targets):
    helpers = _files("tests", lambda p: p.endswith(".py") and not update_build.is_test_file(p))
    assert "tests/conftest.py" in helpers
    kind, attrs = targets["test_support"]
    assert kind == "py_library" and attrs["testonly"] is True
    assert sorted(helpers - set(attrs["srcs"])) == []


def test_every_named_file_exists(targets):
    named = _named_files(targets, {"py_library", "py_test", "py_binary"})
    local = {f for f in named if not f.startswith(("//", ":", "@"))}
    assert "tfmodels/__init__.py" in local
    assert sorted(f for f in local if not os.path.isfile(os.path.join(ROOT, f))) == []
    for label in named - local:
        package, _, name = label[2:].partition(":")
        assert os.path.isfile(os.path.join(ROOT, package, name)), label


def test_console_scripts_have_runnable_binaries(targets):
    scripts = update_build.console_scripts(ROOT)
    assert "tfmodels-train" in dict(scripts)
    for name, module_file in scripts:
        if not os.path.exists(os.path.join(ROOT, module_file)):
            assert name not in targets, f"{name}: BUILD names a missing {module_file}"
            continue
        kind, attrs = targets[name]
        assert (kind, attrs["srcs"], attrs["main"]) == ("py_binary", [module_file], module_file)
        # `bazel run` executes the file as __main__, not the setup.py entry function.
        with open(os.path.join(ROOT, module_file), encoding="utf-8") as f:
            assert re.search(r"^if __name__ == .__main__.:", f.read(), re.M), module_file


def test_build_is_what_the_generator_writes():
    with open(os.path.join(ROOT, "BUILD"), encoding="utf-8") as f:
        current = f.read()
    assert current == update_build.generate_build(ROOT), (
        "BUILD is out of date: run .venv/bin/python tools/bazel/update_build.py"
    )


def _write(root, path, text=""):
    full = os.path.join(root, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w", encoding="utf-8") as f:
        f.write(text)


def test_generator_on_a_small_tree(tmp_path):
    root = str(tmp_path)
    files = [
        "outside.py",
        "tfmodels/__init__.py",
        "tfmodels/a/b.py",
        "tfmodels/a/c.json",
        "tfmodels/a/__pycache__/b.cpython-311.pyc",
        "tfmodels/cli/train.py",
        "tests/conftest.py",
        "tests/test_x.py",
        "tests/a/test_b.py",
        "tests/a/util.py",
    ]
    for path in files:
        _write(root, path)
    # tfmodels-data's module does not exist (yet): no target for it.
    scripts = '"tfmodels-train=tfmodels.cli.train:run", "tfmodels-data=tfmodels.cli.data:run"'
    _write(root, "setup.py", f"setup(entry_points={{'console_scripts': [{scripts}]}})")
    text = update_build.generate_build(root)
    assert text == update_build.generate_build(root)
    targets = parse_build(text)
    assert sorted(targets) == ["a_test_b", "test_support", "test_x", "tfmodels", "tfmodels-train"]
    assert targets["tfmodels"][1]["srcs"] == [
        "tfmodels/__init__.py",
        "tfmodels/a/b.py",
        "tfmodels/cli/train.py",
    ]
    assert targets["tfmodels"][1]["data"] == ["tfmodels/a/c.json"]
    assert targets["test_support"][1]["srcs"] == ["tests/a/util.py", "tests/conftest.py"]
    assert targets["a_test_b"][1]["args"] == ["tests/a/test_b.py"]
    assert targets["tfmodels-train"][1]["main"] == "tfmodels/cli/train.py"


def test_generator_refuses_colliding_test_names(tmp_path):
    _write(str(tmp_path), "tests/a_b/test_c.py")
    _write(str(tmp_path), "tests/a/b/test_c.py")
    with pytest.raises(ValueError, match="tests/a_b/test_c.py: target name 'a_b_test_c'"):
        update_build.generate_build(str(tmp_path))


def test_runner_maps_bazel_environment_to_pytest_flags():
    environ = {"TESTBRIDGE_TEST_ONLY": "quant and not slow", "XML_OUTPUT_FILE": "/o/test.xml"}
    args = pytest_runner.pytest_args(["tests/test_x.py"], environ)
    assert args[0] == "tests/test_x.py"
    assert args[args.index("-k") + 1] == "quant and not slow"
    assert "--junitxml=/o/test.xml" in args
    assert f"--rootdir={os.getcwd()}" in args
    assert "-k" not in pytest_runner.pytest_args(["tests/test_x.py"], {})


def test_runner_refuses_a_missing_test_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match="usage"):
        pytest_runner.main(["pytest_runner.py", "-v"])
    with pytest.raises(SystemExit, match="tests/test_gone.py is not in the runfiles"):
        pytest_runner.main(["pytest_runner.py", "tests/test_gone.py"])


@pytest.mark.skipif("TEST_SRCDIR" not in os.environ, reason="only meaningful under bazel test")
def test_under_bazel_python_is_the_venv_and_the_package_comes_from_the_runfiles():
    import tfmodels

    # The venv's editable install would also find the package: it must not be the one used.
    runfiles = os.path.abspath(os.environ["TEST_SRCDIR"])
    assert os.path.abspath(tfmodels.__file__).startswith(runfiles + os.sep), tfmodels.__file__
    assert os.path.realpath(sys.prefix) == os.path.realpath(os.path.join(ROOT, ".venv"))
