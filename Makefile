# The two commands of the quick start: `make run` and `make test`. Needs only python3 and make.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
CONFIG ?= config

.PHONY: run once test test-future lint typecheck check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed-run

## make run: set up and run the service on the bundled demo (SQLite, file transport, no network)
run: $(VENV)/.installed-run
	$(BIN)/monitor run --config $(CONFIG)

## make once: one cycle on the demo, then exit
once: $(VENV)/.installed-run
	$(BIN)/monitor run --once --config $(CONFIG)

## make test: set up with the dev extras and run lint, type checks and the whole test suite (on every core: pytest-xdist)
test: $(VENV)/.installed-dev
	$(BIN)/ruff check monitor tests benchmarks
	$(BIN)/mypy monitor
	cd benchmarks && $(abspath $(BIN))/mypy --config-file ../pyproject.toml --explicit-package-bases *.py  # scripts, each its own main module
	$(BIN)/pytest -q -ra -n auto $(PYTEST_ARGS)

## make test-future: the time-sensitive suites with the clock a year and five years ahead (Debian's faketime)
test-future: $(VENV)/.installed-dev
	PYTEST=$(BIN)/pytest .ci/test-future

check: $(VENV)/.installed-run
	$(BIN)/monitor check --config $(CONFIG)

clean:
	rm -rf $(VENV) var build dist *.egg-info
