"""Runs pytest test files as a Bazel `py_test`: the `main` of every test target in BUILD.

Usage (what BUILD's `args` pass; Bazel starts tests in the runfiles root of the workspace):
  pytest_runner.py tests/quantization/test_quantizers.py

`bazel test --test_filter=EXPR` becomes pytest's `-k EXPR`, and the JUnit report goes where
Bazel asks (`XML_OUTPUT_FILE`) so that test.xml lists the individual test functions.
"""

import os
import sys

import pytest


def pytest_args(test_files, environ):
    """Returns the pytest command line for `test_files` under Bazel's test environment `environ`."""
    # The runfiles root is the rootdir: tests/conftest.py is then collected for every file,
    # and pytest writes no cache into the read-only runfiles tree.
    args = [*test_files, f"--rootdir={os.getcwd()}", "-p", "no:cacheprovider", "-q"]
    if environ.get("TESTBRIDGE_TEST_ONLY"):
        args += ["-k", environ["TESTBRIDGE_TEST_ONLY"]]
    if environ.get("XML_OUTPUT_FILE"):
        args.append(f"--junitxml={environ['XML_OUTPUT_FILE']}")
    return args


def main(argv):
    if len(argv) < 2:
        raise SystemExit(f"usage: {argv[0]} TEST_FILE.py [...]")
    missing = [path for path in argv[1:] if not os.path.isfile(path)]
    if missing:
        raise SystemExit(f"pytest_runner: test file(s) not in the runfiles: {', '.join(missing)}")
    # Neither this process nor the subprocesses tests spawn write .pyc files into the runfiles.
    sys.dont_write_bytecode = True
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    return pytest.main(pytest_args(argv[1:], os.environ))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
