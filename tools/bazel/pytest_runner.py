"""Runs pytest test files as a Bazel `py_test`: the `main` of every test target in BUILD.

Usage (what BUILD's `args` pass; Bazel starts tests in the runfiles root of the workspace):
  pytest_runner.py tests/quantization/test_quantizers.py [PYTEST_ARG ...]

Options come from `bazel test --test_arg=-v ...`; they go to pytest unchanged.

`bazel test --test_filter=EXPR` becomes pytest's `-k EXPR`, and the JUnit report goes where
Bazel asks (`XML_OUTPUT_FILE`) so that test.xml lists the individual test functions.
"""

import os
import sys

import pytest


def pytest_args(args, environ):
    """Returns pytest's command line for the runner's `args` under Bazel's test `environ`."""
    # The runfiles root is the rootdir: tests/conftest.py is then collected for every file,
    # and pytest writes no cache into the read-only runfiles tree.
    args = [*args, f"--rootdir={os.getcwd()}", "-p", "no:cacheprovider", "-q"]
    if environ.get("TESTBRIDGE_TEST_ONLY"):
        args += ["-k", environ["TESTBRIDGE_TEST_ONLY"]]
    if environ.get("XML_OUTPUT_FILE"):
        args.append(f"--junitxml={environ['XML_OUTPUT_FILE']}")
    return args


def main(argv):
    if len(argv) < 2 or not argv[1].endswith(".py"):
        raise SystemExit(f"usage: {argv[0]} TEST_FILE.py [PYTEST_ARG ...]")
    if not os.path.isfile(argv[1]):
        raise SystemExit(f"pytest_runner: {argv[1]} is not in the runfiles of this test")
    # Neither this process nor the subprocesses tests spawn write .pyc files into the runfiles.
    sys.dont_write_bytecode = True
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    return pytest.main(pytest_args(argv[1:], os.environ))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
