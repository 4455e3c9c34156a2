#!/bin/sh
# Bazel's Python interpreter: execs the `.venv/bin/python` of the workspace this script lives in.
# Bazel runs this file through a chain of runfiles/execroot symlinks; resolving them finds the
# checkout, wherever it was cloned, so no absolute path is written into the build.
script=$(readlink -f "$0")
root=${script%/tools/bazel/venv_python.sh}
if [ ! -x "$root/.venv/bin/python" ]; then
  echo "tools/bazel/venv_python.sh: no $root/.venv/bin/python; create the virtualenv first (see README)" >&2
  exit 2
fi
exec "$root/.venv/bin/python" "$@"
